"""Part I's NumPy library (mmcourse.numpy_nn, mmcourse.toy_data) against PyTorch and the math."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmcourse.numpy_nn import (
    cross_entropy,
    dense_backward,
    dense_forward,
    gd_step,
    init_two_layer,
    log_softmax,
    numerical_gradient,
    one_hot,
    relative_error,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_grad,
    tanh,
    tanh_grad,
    two_layer_backward,
    two_layer_forward,
    two_layer_loss,
    two_layer_predict,
)
from mmcourse.toy_data import make_blobs, make_moons, make_spirals

EXTREME = np.array([[-1e4, -1000.0, -50.0, -1.0, 0.0], [1.0, 50.0, 709.0, 1000.0, 1e4]])


def t(array):
    return torch.tensor(np.asarray(array), dtype=torch.float64)


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


# --- activations -------------------------------------------------------------------


def test_sigmoid_matches_torch_without_warnings_at_extremes(no_warnings):
    got = sigmoid(EXTREME)
    assert got.shape == EXTREME.shape
    np.testing.assert_allclose(got, torch.sigmoid(t(EXTREME)).numpy(), rtol=1e-6, atol=1e-12)
    assert got[0, 0] == 0.0 and got[1, 4] == 1.0


@pytest.mark.parametrize(
    "ours, theirs",
    [(relu, torch.relu), (tanh, torch.tanh)],
    ids=["relu", "tanh"],
)
def test_activations_match_torch(ours, theirs, no_warnings):
    Z = np.random.default_rng(0).normal(scale=3, size=(4, 7))
    np.testing.assert_allclose(ours(Z), theirs(t(Z)).numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours(EXTREME), theirs(t(EXTREME)).numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "function, derivative",
    [(sigmoid, sigmoid_grad), (tanh, tanh_grad), (relu, relu_grad)],
    ids=["sigmoid", "tanh", "relu"],
)
def test_activation_derivatives_match_autograd(function, derivative):
    Z = np.random.default_rng(1).normal(scale=2, size=(3, 5))
    Zt = t(Z).requires_grad_()
    {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[function.__name__](Zt).sum().backward()
    np.testing.assert_allclose(derivative(Z), Zt.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_activations_reject_non_numbers():
    with pytest.raises(TypeError, match="Z"):
        sigmoid("0.5")
    with pytest.raises(TypeError, match="Z"):
        relu([[1, 2], [3]])


# --- dense layer --------------------------------------------------------------------


def test_dense_forward_matches_nn_linear_on_transposed_data():
    rng = np.random.default_rng(2)
    W, b, X = rng.normal(size=(4, 3)), rng.normal(size=(4, 1)), rng.normal(size=(3, 6))
    linear = torch.nn.Linear(3, 4).double()
    with torch.no_grad():
        linear.weight.copy_(t(W))
        linear.bias.copy_(t(b.ravel()))
    # PyTorch: rows are samples, Z_rows = X_rows W^T + b
    np.testing.assert_allclose(
        dense_forward(W, b, X), linear(t(X.T)).detach().numpy().T, rtol=1e-6, atol=1e-12
    )


def test_dense_backward_matches_autograd():
    rng = np.random.default_rng(3)
    W, b, X, dZ = (
        rng.normal(size=(4, 3)),
        rng.normal(size=(4, 1)),
        rng.normal(size=(3, 6)),
        rng.normal(size=(4, 6)),
    )
    Wt, bt, Xt = (t(a).requires_grad_() for a in (W, b, X))
    ((Wt @ Xt + bt) * t(dZ)).sum().backward()
    for ours, theirs in zip(dense_backward(dZ, W, X), (Wt, bt, Xt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_dense_forward_says_to_transpose_samples_given_as_rows():
    W, b = np.ones((4, 3)), np.zeros((4, 1))
    with pytest.raises(ValueError, match=r"X must have shape \(3, n\).*\(5, 3\).*X\.T"):
        dense_forward(W, b, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"b must have shape \(4, 1\)"):
        dense_forward(W, np.zeros(4), np.ones((3, 5)))
    with pytest.raises(TypeError, match="W"):
        dense_forward(None, b, np.ones((3, 5)))


# --- softmax and cross-entropy ---------------------------------------------------------


def test_softmax_matches_torch_including_logits_of_1000(no_warnings):
    Z = np.array([[1000.0, -1000.0, 0.0, 3.0], [999.0, -1000.0, 0.0, -2.0], [-1000.0, -999.0, 0.0, 1.0]])
    P = softmax(Z)
    np.testing.assert_allclose(P, torch.softmax(t(Z), dim=0).numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(P.sum(axis=0), 1.0)
    np.testing.assert_allclose(log_softmax(Z), torch.log_softmax(t(Z), dim=0).numpy(), rtol=1e-6, atol=1e-9)


def test_softmax_of_a_single_vector_and_shift_invariance():
    z = np.array([2.0, 1.0, 0.1])
    np.testing.assert_allclose(softmax(z), softmax(z + 1234.5))
    assert softmax(z).shape == (3,)


def test_softmax_rejects_nan_and_three_dimensions():
    with pytest.raises(ValueError, match="Z must be finite"):
        softmax(np.array([[0.0], [np.nan]]))
    with pytest.raises(ValueError, match="Z must be a 2-D array"):
        softmax(np.zeros((2, 3, 4)))


def test_cross_entropy_matches_torch_nll_and_is_finite_at_zero_probabilities(no_warnings):
    labels = np.array([0, 2, 1, 2])
    Y = one_hot(labels, 3)
    P = np.array([[1.0, 0.0, 0.2, 0.1], [0.0, 0.5, 0.8, 0.2], [0.0, 0.5, 0.0, 0.7]])
    want = F.nll_loss(torch.log(t(P.T)), torch.tensor(labels)).item()
    assert np.isfinite(cross_entropy(Y, P))
    assert cross_entropy(Y, P) == pytest.approx(want, rel=1e-6)
    # a true class given probability 0 costs a large but finite amount
    assert 20 < cross_entropy(one_hot([1], 2), np.array([[1.0], [0.0]])) < 30


def test_softmax_cross_entropy_matches_torch_cross_entropy_at_extremes(no_warnings):
    labels = np.array([0, 1, 2, 1, 0])
    Z = np.array(
        [
            [1000.0, -1000.0, 0.0, 5.0, -1000.0],
            [-1000.0, 1000.0, 0.0, -5.0, 1000.0],
            [0.0, 0.0, 0.0, 1.0, 0.0],
        ]
    )
    Zt = t(Z.T).requires_grad_()
    want = F.cross_entropy(Zt, torch.tensor(labels))
    want.backward()
    assert softmax_cross_entropy(one_hot(labels, 3), Z) == pytest.approx(want.item(), rel=1e-6)
    np.testing.assert_allclose(
        softmax_cross_entropy_grad(one_hot(labels, 3), Z), Zt.grad.numpy().T, rtol=1e-6, atol=1e-12
    )
    assert (
        softmax_cross_entropy(one_hot(labels, 3), Z) > 2000 / 5
    )  # the last sample: wrong by a margin of 2000


def test_gradient_of_softmax_cross_entropy_is_p_minus_y_over_n():
    rng = np.random.default_rng(4)
    Y, Z = one_hot(rng.integers(0, 4, size=6), 4), rng.normal(size=(4, 6))
    numeric = numerical_gradient(lambda A: softmax_cross_entropy(Y, A), Z)
    assert relative_error(softmax_cross_entropy_grad(Y, Z), numeric) < 1e-7


def test_losses_name_the_bad_argument():
    Y = one_hot([0, 1, 1], 2)
    with pytest.raises(ValueError, match=r"P must have shape \(2, 3\).*P\.T"):
        cross_entropy(Y, np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="P must hold probabilities"):
        cross_entropy(Y, np.array([[2.0, 0.0, 0.0], [-1.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="P must sum to 1 along axis 0"):
        cross_entropy(Y, np.full((2, 3), 0.3))
    with pytest.raises(ValueError, match="Y must be one-hot"):
        cross_entropy(np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 0.0]]), np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match=r"Z must have shape \(2, 3\)"):
        softmax_cross_entropy(Y, np.zeros((2, 4)))
    with pytest.raises(TypeError, match="Y"):
        softmax_cross_entropy("labels", np.zeros((2, 3)))


def test_one_hot_and_its_errors():
    np.testing.assert_array_equal(one_hot([2, 0], 3), [[0, 1], [0, 0], [1, 0]])
    with pytest.raises(ValueError, match="labels must lie in 0 .. 2"):
        one_hot([0, 3], 3)
    with pytest.raises(TypeError, match="labels must be integers"):
        one_hot([0.5, 1], 3)
    with pytest.raises(ValueError, match="n_classes"):
        one_hot([0], 0)


# --- gradient checking ----------------------------------------------------------------


def test_numerical_gradient_is_accurate_and_leaves_x_unchanged():
    X = np.random.default_rng(5).normal(size=(3, 4))
    before = X.copy()
    got = numerical_gradient(lambda A: float(np.sum(A**3) + np.sum(A) ** 2), X)
    assert np.array_equal(X, before)
    assert relative_error(got, 3 * X**2 + 2 * X.sum()) < 1e-8


def test_numerical_gradient_and_relative_error_validate():
    with pytest.raises(TypeError, match="f must be a function"):
        numerical_gradient(3.0, np.zeros(2))
    with pytest.raises(ValueError, match="eps must be"):
        numerical_gradient(np.sum, np.zeros(2), eps=0)
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.zeros(2), np.zeros(3))
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.ones(3), -np.ones(3)) == pytest.approx(1.0)


# --- the two-layer network ----------------------------------------------------------------


def _problem(d=3, h=5, k=4, n=7, seed=0):
    rng = np.random.default_rng(seed)
    params = init_two_layer(d, h, k, seed=seed)
    params["b1"], params["b2"] = rng.normal(size=(h, 1)), rng.normal(size=(k, 1))
    return params, rng.normal(size=(d, n)), one_hot(rng.integers(0, k, size=n), k)


def test_init_is_seeded_and_shaped():
    a, b, c = (
        init_two_layer(2, 8, 3, seed=1),
        init_two_layer(2, 8, 3, seed=1),
        init_two_layer(2, 8, 3, seed=2),
    )
    assert {name: v.shape for name, v in a.items()} == {
        "W1": (8, 2),
        "b1": (8, 1),
        "W2": (3, 8),
        "b2": (3, 1),
    }
    assert all(np.array_equal(a[m], b[m]) for m in a) and not np.array_equal(a["W1"], c["W1"])


def test_two_layer_backward_agrees_with_numerical_gradient():
    params, X, Y = _problem()
    _, cache = two_layer_forward(params, X)
    grads = two_layer_backward(params, cache, Y)
    for name in params:

        def loss_at(value, name=name):
            return two_layer_loss({**params, name: value}, X, Y)

        assert relative_error(grads[name], numerical_gradient(loss_at, params[name])) < 1e-7, name


@pytest.mark.parametrize("scale", [1.0, 300.0], ids=["ordinary", "saturated-sigmoid-and-logits-of-hundreds"])
def test_two_layer_matches_pytorch_autograd(scale):
    params, X, Y = _problem(d=2, h=6, k=3, n=9, seed=3)
    params = {name: value * scale for name, value in params.items()}
    P, cache = two_layer_forward(params, X)
    grads = two_layer_backward(params, cache, Y)
    model = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Sigmoid(), torch.nn.Linear(6, 3)).double()
    with torch.no_grad():
        for layer, w, b in ((model[0], "W1", "b1"), (model[2], "W2", "b2")):
            layer.weight.copy_(t(params[w]))
            layer.bias.copy_(t(params[b].ravel()))
    logits = model(t(X.T))  # rows are samples
    loss = F.cross_entropy(logits, torch.tensor(Y.argmax(axis=0)))
    loss.backward()
    assert np.isfinite(two_layer_loss(params, X, Y))
    assert two_layer_loss(params, X, Y) == pytest.approx(loss.item(), rel=1e-6)
    np.testing.assert_allclose(P, torch.softmax(logits, dim=1).detach().numpy().T, rtol=1e-6, atol=1e-12)
    for layer, w, b in ((model[0], "W1", "b1"), (model[2], "W2", "b2")):
        np.testing.assert_allclose(grads[w], layer.weight.grad.numpy(), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(grads[b], layer.bias.grad.numpy()[:, None], rtol=1e-6, atol=1e-12)


def test_gradient_descent_lowers_the_loss_and_fits_the_spirals():
    X, labels = make_spirals(60, 3, seed=0)
    Y = one_hot(labels, 3)
    params = init_two_layer(2, 40, 3, seed=0)
    first = two_layer_loss(params, X, Y)
    for _ in range(1500):
        _, cache = two_layer_forward(params, X)
        new = gd_step(params, two_layer_backward(params, cache, Y), lr=2.0)
        assert new is not params
        params = new
    assert two_layer_loss(params, X, Y) < 0.5 * first
    assert (two_layer_predict(params, X) == labels).mean() > 0.6


def test_two_layer_errors_name_the_argument():
    params, X, Y = _problem()
    with pytest.raises(ValueError, match=r"X must have shape \(3, n\).*X\.T"):
        two_layer_forward(params, X.T)
    with pytest.raises(TypeError, match="params must be a dict with keys"):
        two_layer_forward({"W1": params["W1"]}, X)
    with pytest.raises(ValueError, match=r"W2 must have shape \(n, 5\)"):
        two_layer_forward({**params, "W2": params["W2"].T}, X)
    _, cache = two_layer_forward(params, X)
    with pytest.raises(ValueError, match=r"Y must have shape \(4, 7\)"):
        two_layer_backward(params, cache, Y.T)
    grads = two_layer_backward(params, cache, Y)
    with pytest.raises(ValueError, match=r"grads\['W1'\] must have shape \(5, 3\)"):
        gd_step(params, {**grads, "W1": grads["W1"].T}, lr=0.1)


# --- toy data ---------------------------------------------------------------------------


@pytest.mark.parametrize("make, k", [(make_blobs, 2), (make_moons, 2), (make_spirals, 3)])
def test_toy_data_is_seeded_column_major_and_balanced(make, k):
    X, labels = make(seed=1)
    X2, labels2 = make(seed=1)
    assert X.shape[0] == 2 and X.shape[1] == labels.shape[0]
    assert np.array_equal(X, X2) and np.array_equal(labels, labels2)
    assert not np.array_equal(X, make(seed=2)[0])
    assert np.bincount(labels).tolist() == [X.shape[1] // k] * k


def test_toy_data_validates():
    with pytest.raises(ValueError, match="n_per_class"):
        make_spirals(0)
    with pytest.raises(ValueError, match="noise"):
        make_moons(noise=-1)

"""Checkers of lesson 07: the reference answers pass; each plausible mistake gets its own hint."""

import pytest
import torch

from mmcourse.checks import ExerciseFailed, check

# --- early_fusion --------------------------------------------------------------------


def early_fusion(image_features, text_features, mlp):
    return mlp(torch.cat([image_features, text_features], dim=1))


def early_batch_axis(image_features, text_features, mlp):
    return mlp(torch.cat([image_features, text_features], dim=0))


def early_stack(image_features, text_features, mlp):
    return mlp(torch.stack([image_features, text_features], dim=1))


def early_sum(image_features, text_features, mlp):
    return mlp(image_features + text_features)


def early_text_first(image_features, text_features, mlp):
    return mlp(torch.cat([text_features, image_features], dim=1))


def early_no_mlp(image_features, text_features, mlp):
    return torch.cat([image_features, text_features], dim=1)


def early_no_return(image_features, text_features, mlp):
    mlp(torch.cat([image_features, text_features], dim=1))


def early_relu_after(image_features, text_features, mlp):
    return torch.relu(mlp(torch.cat([image_features, text_features], dim=1)))


def test_early_fusion_reference_passes(capsys):
    assert check("early_fusion", early_fusion) is None
    assert "✓ early_fusion" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (early_batch_axis, "concatenated along the BATCH axis (dim=0)"),
        (early_stack, "a stack with a new axis"),
        (early_sum, "CONCATENATES them"),
        (early_text_first, "the text features first"),
        (early_no_mlp, "pass it through `mlp`"),
        (early_no_return, "forget `return`"),
        (early_relu_after, "is not mlp(torch.cat("),
        (42, "expected a function"),
    ],
)
def test_early_fusion_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("early_fusion", answer)
    assert fragment in str(failure.value), str(failure.value)


# --- late_fusion ---------------------------------------------------------------------


def late_fusion(image_features, text_features, image_head, text_head):
    return (image_head(image_features) + text_head(text_features)) / 2


def late_average_features(image_features, text_features, image_head, text_head):
    return image_head((image_features + text_features) / 2)


def late_average_features_both_heads(image_features, text_features, image_head, text_head):
    mixed = (image_features + text_features) / 2
    return (image_head(mixed) + text_head(mixed)) / 2


def late_swapped(image_features, text_features, image_head, text_head):
    return (image_head(text_features) + text_head(image_features)) / 2


def late_sum(image_features, text_features, image_head, text_head):
    return image_head(image_features) + text_head(text_features)


def late_probs(image_features, text_features, image_head, text_head):
    return (image_head(image_features).softmax(dim=1) + text_head(text_features).softmax(dim=1)) / 2


def late_image_only(image_features, text_features, image_head, text_head):
    return image_head(image_features)


def late_concat_logits(image_features, text_features, image_head, text_head):
    return torch.cat([image_head(image_features), text_head(text_features)], dim=1)


def late_batch_axis(image_features, text_features, image_head, text_head):
    both = torch.cat([image_features, text_features], dim=0)
    return image_head(both)


def test_late_fusion_reference_passes():
    assert check("late_fusion", late_fusion) is None


def test_late_fusion_with_stack_and_mean_passes():
    def stacked(image_features, text_features, image_head, text_head):
        return torch.stack([image_head(image_features), text_head(text_features)]).mean(dim=0)

    assert check("late_fusion", stacked) is None


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (late_average_features, "average (or sum) of the two FEATURE vectors"),
        (late_average_features_both_heads, "averages the PREDICTIONS"),
        (late_swapped, "the heads are swapped"),
        (late_sum, "SUM of the logits"),
        (late_probs, "averaged the probabilities"),
        (late_image_only, "only one head was called"),
        (late_concat_logits, "average the two (B, C) logits elementwise"),
        (late_batch_axis, "stacked along the batch axis"),
    ],
)
def test_late_fusion_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("late_fusion", answer)
    assert fragment in str(failure.value), str(failure.value)


# --- gated_fusion --------------------------------------------------------------------


def gated_fusion(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=1)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_softmax_batch(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=0)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_sigmoid(image_h, text_h, gate_layer):
    gates = torch.sigmoid(gate_layer(torch.cat([image_h, text_h], dim=1)))
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_one_for_the_batch(image_h, text_h, gate_layer):
    logits = gate_layer(torch.cat([image_h, text_h], dim=1)).mean(dim=0)
    gates = torch.softmax(logits, dim=0)
    return torch.cat([gates[0] * image_h, gates[1] * text_h], dim=1), gates


def gated_from_batch_mean(image_h, text_h, gate_layer):
    both = torch.cat([image_h, text_h], dim=1).mean(dim=0, keepdim=True)
    gates = torch.softmax(gate_layer(both), dim=1)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_expanded_batch_gate(image_h, text_h, gate_layer):
    logits = gate_layer(torch.cat([image_h, text_h], dim=1))
    gates = torch.softmax(logits.mean(dim=0, keepdim=True), dim=1).expand(len(image_h), 2)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_only_image_to_gate(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(image_h), dim=1)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_sum(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=1)
    return gates[:, :1] * image_h + gates[:, 1:] * text_h, gates


def gated_swapped_weights(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=1)
    return torch.cat([gates[:, 1:] * image_h, gates[:, :1] * text_h], dim=1), gates


def gated_no_gates_returned(image_h, text_h, gate_layer):
    return gated_fusion(image_h, text_h, gate_layer)[0]


def test_gated_fusion_reference_passes():
    assert check("gated_fusion", gated_fusion) is None


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (gated_softmax_batch, "softmax over dim=0, the batch"),
        (gated_sigmoid, "do not sum to 1"),
        (gated_one_for_the_batch, "one pair of weights for the whole batch"),
        (gated_from_batch_mean, "Gates must be PER SAMPLE"),
        (gated_expanded_batch_gate, "not per-sample"),
        (gated_only_image_to_gate, "received only one modality"),
        (gated_sum, "you ADDED the weighted vectors"),
        (gated_swapped_weights, "weighted by the TEXT gate"),
        (gated_no_gates_returned, "return two things, (fused, gates)"),
    ],
)
def test_gated_fusion_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("gated_fusion", answer)
    assert fragment in str(failure.value), str(failure.value)


def test_unfilled_stub_says_not_started():
    def stub(image_h, text_h, gate_layer):
        raise NotImplementedError()

    with pytest.raises(ExerciseFailed, match="not written yet"):
        check("gated_fusion", stub)


# --- tensor_fusion ---------------------------------------------------------------------------


def _append(v, value=1.0, first=False):
    ones = torch.full((v.shape[0], 1), value)
    return torch.cat([ones, v] if first else [v, ones], dim=1)


def tensor_fusion(image_features, text_features):
    x, y = _append(image_features), _append(text_features)
    return torch.einsum("bi,bj->bij", x, y).flatten(1)


def tensor_fusion_broadcast(image_features, text_features):
    """An independent correct answer: broadcasting instead of einsum."""
    x, y = _append(image_features), _append(text_features)
    return (x[:, :, None] * y[:, None, :]).reshape(len(x), -1)


def tensor_no_ones(image_features, text_features):
    return torch.einsum("bi,bj->bij", image_features, text_features).flatten(1)


def tensor_ones_first(image_features, text_features):
    x, y = _append(image_features, first=True), _append(text_features, first=True)
    return torch.einsum("bi,bj->bij", x, y).flatten(1)


def tensor_text_first(image_features, text_features):
    x, y = _append(image_features), _append(text_features)
    return torch.einsum("bi,bj->bij", y, x).flatten(1)


def tensor_zeros_appended(image_features, text_features):
    x, y = _append(image_features, 0.0), _append(text_features, 0.0)
    return torch.einsum("bi,bj->bij", x, y).flatten(1)


def tensor_not_flattened(image_features, text_features):
    return torch.einsum("bi,bj->bij", _append(image_features), _append(text_features))


def tensor_over_the_batch(image_features, text_features):
    return _append(image_features).T @ _append(text_features)


def tensor_kron(image_features, text_features):
    return torch.kron(_append(image_features), _append(text_features))


def tensor_concat(image_features, text_features):
    return _append(torch.cat([image_features, text_features], dim=1))


def tensor_hadamard(image_features, text_features):
    return image_features * text_features


def tensor_abs(image_features, text_features):
    return tensor_fusion(image_features, text_features).abs()


@pytest.mark.parametrize("answer", [tensor_fusion, tensor_fusion_broadcast], ids=["einsum", "broadcast"])
def test_tensor_fusion_references_pass(answer, capsys):
    assert check("tensor_fusion", answer) is None
    assert "✓ tensor_fusion" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (tensor_no_ones, "Append a 1 to each vector first"),
        (tensor_ones_first, "the 1 at the START of each vector"),
        (tensor_text_first, "the TEXT vector first"),
        (tensor_zeros_appended, "0 appended instead of 1"),
        (tensor_not_flattened, "Flatten each pair's"),
        (tensor_over_the_batch, "one table for the whole batch"),
        (tensor_kron, "torch.kron multiplies every row of one batch with every row of the other"),
        (tensor_concat, "that is a concatenation"),
        (tensor_hadamard, "an elementwise (Hadamard) product"),
        (tensor_abs, "some signs are wrong"),
        (lambda x, y: None, "did you forget `return`?"),
    ],
)
def test_tensor_fusion_mistakes_get_their_hint(wrong, fragment):
    with pytest.raises(ExerciseFailed, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        check("tensor_fusion", wrong)


# --- late_fusion_weights -------------------------------------------------------------------------


def _table(
    A, a, B, b, *, image_scale=0.5, text_scale=0.5, constant=None, first=False, swap=False, interaction=0.0
):
    """The reference answer (a (C, Di + 1, Dt + 1) table, flattened), with one switch per classic mistake."""
    C, Di = A.shape
    Dt = B.shape[1]
    M = torch.full((C, Di + 1, Dt + 1), float(interaction))
    constant = (a + b) / 2 if constant is None else constant
    if first:
        M[:, 1:, 0], M[:, 0, 1:], M[:, 0, 0] = image_scale * A, text_scale * B, constant
    else:
        M[:, :Di, Dt], M[:, Di, :Dt], M[:, Di, Dt] = image_scale * A, text_scale * B, constant
    if swap:
        M = M.transpose(1, 2)
    return M.reshape(C, -1)


def late_fusion_weights(A, a, B, b):
    return _table(A, a, B, b)


def late_fusion_weights_by_solving(A, a, B, b):
    """An independent correct answer: least squares on random fused vectors and late-fusion logits."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, A.shape[1], generator=g), torch.randn(200, B.shape[1], generator=g)
    z = tensor_fusion(x, y)
    logits = (x @ A.T + a + y @ B.T + b) / 2
    return torch.linalg.lstsq(z.double(), logits.double()).solution.T.float()


@pytest.mark.parametrize(
    "answer", [late_fusion_weights, late_fusion_weights_by_solving], ids=["table", "lstsq"]
)
def test_late_fusion_weights_references_pass(answer, capsys):
    assert check("late_fusion_weights", answer) is None
    assert "every interaction weight set to 0" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (
            lambda A, a, B, b: _table(A, a, B, b, image_scale=1, text_scale=1, constant=a + b),
            "the SUM of the two",
        ),
        (lambda A, a, B, b: _table(A, a, B, b, image_scale=1, text_scale=1), "the weights are not halved"),
        (lambda A, a, B, b: _table(A, a, B, b, constant=torch.zeros(len(a))), "the biases are missing"),
        (lambda A, a, B, b: _table(A, a, B, b, constant=a + b), "the biases are not halved"),
        (lambda A, a, B, b: _table(A, a, B, b, constant=a / 2), "only one head's bias"),
        (lambda A, a, B, b: _table(A, a, B, b, first=True), "as if the 1 came FIRST"),
        (
            lambda A, a, B, b: _table(A, a, B, b, swap=True),
            "the image weights sit where the text features are",
        ),
        (lambda A, a, B, b: _table(A, a, B, b, interaction=0.1), "some weights sit on the products x_i y_j"),
        (lambda A, a, B, b: _table(A, a, B, b).T, "transposed"),
        (lambda A, a, B, b: torch.cat([A, B], dim=1) / 2, "it must be (3, 9)"),
        (lambda A, a, B, b: None, "W is None"),
    ],
)
def test_late_fusion_weights_mistakes_get_their_hint(wrong, fragment):
    with pytest.raises(ExerciseFailed, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        check("late_fusion_weights", wrong)


# --- early_fusion_on_shapes (a prediction) ---------------------------------------------------


@pytest.mark.parametrize("prediction", [0.5, 0.45, 0.55, 1 / 2, torch.tensor(0.5)])
def test_early_fusion_on_shapes_accepts_about_chance(prediction, capsys):
    check("early_fusion_on_shapes", lambda: prediction)
    assert "about chance" in capsys.readouterr().out


@pytest.mark.parametrize(
    "prediction, fragment",
    [
        (2 / 3, "the BEST a model blind to position"),  # the ceiling taken for a forecast
        (0.7, "the BEST a model blind to position"),
        (0.85, "cross-attention's league"),  # "fusion is fusion"
        (0.99, "cross-attention's league"),
        (0.2, "well below chance"),
        (55, "a percentage? write 0.7 for 70 %"),
        (-0.5, "between 0 and 1"),
        ("chance", "return the accuracy you expect as a number"),
        (True, "return the accuracy you expect as a number"),
        ([0.5, 0.6], "return the accuracy you expect as a number"),  # a list of guesses, not one number
        (None, "did you forget `return`"),
    ],
)
def test_early_fusion_on_shapes_wrong_predictions_get_their_hint(prediction, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("early_fusion_on_shapes", lambda: prediction)
    assert fragment in str(failure.value), str(failure.value)


def test_early_fusion_on_shapes_stub_says_not_started_and_a_value_is_not_a_function():
    def stub():
        raise NotImplementedError()

    with pytest.raises(ExerciseFailed, match="not written yet"):
        check("early_fusion_on_shapes", stub)
    with pytest.raises(ExerciseFailed, match="not the result of calling it"):
        check("early_fusion_on_shapes", 0.5)

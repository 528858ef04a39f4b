"""fit / evaluate / split_batch / accuracy: learning happens, runs repeat, errors are clear."""

import numpy as np
import pytest
import torch
from torch import nn

from mmcourse.data import TensorBatches
from mmcourse.metrics import accuracy
from mmcourse.train import evaluate, fit, split_batch


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread (and do not fight other tests for the CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _blobs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None] * 2.0 - 1.0)
    return x, y


def test_accuracy_on_scores_and_labels():
    assert accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0])) == 0.5
    assert accuracy(np.array([1, 1, 0]), np.array([1, 1, 1])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="predictions must be"):
        accuracy(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(TypeError, match="targets must be an array of numbers"):
        accuracy(np.zeros(2), np.array(["a", "b"]))


def test_split_batch_conventions():
    x, y = torch.zeros(3, 2), torch.zeros(3)
    assert split_batch((x, y))[0] == (x,)
    inputs, targets = split_batch((x, x, y))
    assert len(inputs) == 2 and targets is y
    assert len(split_batch(((x, x), y))[0]) == 2
    with pytest.raises(ValueError, match="targets last"):
        split_batch(x)


def test_fit_learns_and_is_repeatable():
    x, y = _blobs()
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # fit's own seed must override whatever came before
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
        train = TensorBatches(x[:150], y[:150], batch_size=32, shuffle=True, seed=0)
        val = TensorBatches(x[150:], y[150:], batch_size=64, shuffle=False)
        history = fit(model, train, val, epochs=15, lr=0.02, device="cpu", seed=0, progress=False)
        runs.append(history)
    h = runs[0]
    assert len(h["train_loss"]) == 15 and len(h["val_accuracy"]) == 15
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert h["val_accuracy"][-1] > 0.9
    assert runs[0] == runs[1]


def test_fit_with_tuple_inputs_and_no_validation():
    class Add(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)

        def forward(self, a, b):
            return self.linear(a + b)

    x, y = _blobs(n=64)
    history = fit(
        Add(), TensorBatches(x, x, y, batch_size=16), None, epochs=2, lr=0.01, device="cpu", progress=False
    )
    assert len(history["train_loss"]) == 2 and history["val_accuracy"] == []


def test_evaluate_restores_training_mode_and_reports():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    x, y = _blobs(n=32)
    result = evaluate(model, TensorBatches(x, y, batch_size=8, shuffle=False))
    assert model.training and set(result) == {"loss", "accuracy"} and 0 <= result["accuracy"] <= 1


def test_fit_auto_device_is_pick_device():
    from mmcourse.env import pick_device

    model = nn.Linear(2, 2)
    x, y = _blobs(n=16)
    fit(model, [(x, y)], None, epochs=1, lr=0.01, progress=False)
    assert next(model.parameters()).device.type == pick_device().type

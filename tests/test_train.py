"""fit / evaluate / split_batch / accuracy: learning happens, runs repeat, errors are clear."""

import numpy as np
import pytest
import torch
from torch import nn

from mmcourse.data import TensorBatches
from mmcourse.metrics import accuracy
from mmcourse.train import evaluate, fit, split_batch

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


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


# --- lesson 08: the grown-up loop -------------------------------------------------

from mmcourse.checkpoint import read_checkpoint  # noqa: E402
from mmcourse.train import History, autocast_dtype, train_step, warmup_cosine  # noqa: E402


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))


def _loaders(n=200, batch_size=32):
    x, y = _blobs(n)
    split = int(0.75 * n)
    return (
        TensorBatches(x[:split], y[:split], batch_size=batch_size, shuffle=True, seed=0),
        TensorBatches(x[split:], y[split:], batch_size=64, shuffle=False),
    )


def test_train_transform_sees_every_training_batch_and_no_validation_batch():
    train, val = _loaders()
    seen = []

    def transform(batch):
        seen.append(len(batch[-1]))
        x, y = batch
        return torch.zeros_like(x), y  # the model learns nothing from zeros ...

    history = fit(
        _mlp(), train, val, epochs=3, lr=0.02, device="cpu", progress=False, train_transform=transform
    )
    assert len(seen) == 3 * len(train) and sum(seen) == 3 * train.n
    assert max(history["train_accuracy"]) < 0.7  # ... on the transformed training batches,
    assert all(0.0 <= a <= 1.0 for a in history["val_accuracy"])  # while validation saw the real inputs


def test_history_holds_every_metric_per_epoch_round_trips_and_plots():
    import matplotlib

    matplotlib.use("Agg")
    train, val = _loaders()
    history = fit(_mlp(), train, val, epochs=4, lr=0.02, device="cpu", progress=False)
    assert isinstance(history, History) and history.epochs == 4
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
        assert len(history[key]) == 4
    assert len(history.seconds) == 4 and all(s > 0 for s in history.seconds)
    assert history.best_epoch == int(np.argmax(history["val_accuracy"])) or history["val_accuracy"][
        history.best_epoch
    ] == max(history["val_accuracy"])
    again = History.from_dict(history.to_dict())
    assert again == history and again.seconds == history.seconds and again.best_epoch == history.best_epoch
    axes = history.plot()
    assert [ax.get_xlabel() for ax in axes] == ["epoch", "epoch"]
    assert "loss" in axes[0].get_ylabel() and "accuracy" in axes[1].get_ylabel()
    assert len(axes[1].get_lines()) >= 2  # training and validation curves


def test_cosine_schedule_warms_up_then_decays():
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    schedule = warmup_cosine(optimizer, total_steps=100, warmup=0.1, final=0.01)
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs[0] < lrs[5] < lrs[9] == pytest.approx(1.0)
    assert lrs[-1] < 0.02 and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    train, val = _loaders()
    history = fit(_mlp(), train, val, epochs=3, lr=0.05, device="cpu", progress=False, schedule="cosine")
    assert history["lr"][-1] < history["lr"][0]


def test_train_step_clips_the_gradient_norm():
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    x, y = _blobs(32)
    train_step(model, optimizer, (x * 100,), y, clip_grad=0.01)
    norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert norm <= 0.01 + 1e-6


def test_autocast_dtype_is_off_on_the_cpu_by_default_and_bf16_on_request():
    cpu = torch.device("cpu")
    assert autocast_dtype("auto", cpu) is None and autocast_dtype(False, cpu) is None
    assert autocast_dtype(True, cpu) is torch.bfloat16 and autocast_dtype("fp16", cpu) is torch.float16
    with pytest.raises(ValueError, match="amp must be"):
        autocast_dtype("yes", cpu)
    train, val = _loaders()
    history = fit(_mlp(), train, val, epochs=6, lr=0.02, device="cpu", progress=False, amp=True)
    assert history["val_accuracy"][-1] > 0.85  # bf16 autocast on the CPU still learns


def test_patience_stops_early_and_restore_best_loads_the_best_epoch():
    train, val = _loaders()
    history = fit(_mlp(), train, val, epochs=30, lr=0.0, device="cpu", progress=False, patience=2)
    assert history.stopped_early and history.epochs == 3  # epoch 0 is the best; 2 more without progress
    model = _mlp()
    history = fit(model, train, val, epochs=5, lr=0.05, device="cpu", progress=False, restore_best=True)
    best = history["val_accuracy"][history.best_epoch]
    assert evaluate(model, val)["accuracy"] == pytest.approx(best)
    history = fit(_mlp(), train, val, epochs=30, lr=0.05, device="cpu", progress=False, target=0.9)
    assert history.stopped_early and history["val_accuracy"][-1] >= 0.9 and history.epochs < 30


def test_best_checkpoint_holds_weights_config_vocab_and_metrics(tmp_path):
    train, val = _loaders()
    model = _mlp()
    model.config = {"name": "mlp"}
    path = tmp_path / "best.pt"
    history = fit(
        model, train, val, epochs=4, lr=0.05, device="cpu", progress=False, checkpoint=path,
        checkpoint_extra={"vocab": ["red", "blue"], "task": "blobs"},
    )  # fmt: skip
    saved = read_checkpoint(path)
    assert (
        saved["config"] == {"name": "mlp"} and saved["vocab"] == ["red", "blue"] and saved["task"] == "blobs"
    )
    assert saved["metrics"]["val_accuracy"] == max(history["val_accuracy"])
    assert saved["metrics"]["epoch"] == history.best_epoch
    best = _mlp()
    best.load_state_dict(saved["state_dict"])
    assert evaluate(best, val)["accuracy"] == pytest.approx(saved["metrics"]["val_accuracy"])
    assert not list(tmp_path.glob(".*.tmp"))


class _Interrupt(Exception):
    pass


def test_an_interrupted_run_resumes_exactly(tmp_path):
    options = dict(epochs=5, lr=0.05, device="cpu", progress=False, schedule="cosine", clip_grad=1.0, seed=3)
    train, val = _loaders()
    full_model = _mlp()
    full = fit(full_model, train, val, **options)

    steps = {"n": 0}

    def crash_in_epoch_three(batch):
        steps["n"] += 1
        if steps["n"] > 2 * len(train) + 1:  # two epochs done, and one step into the third
            raise _Interrupt
        return batch

    path = tmp_path / "run.pt"
    train, val = _loaders()
    with pytest.raises(_Interrupt):
        fit(_mlp(), train, val, checkpoint=path, train_transform=crash_in_epoch_three, **options)
    assert read_checkpoint(path)["training"]["epoch"] == 2

    train, val = _loaders()  # a fresh process: new model, new batches
    resumed_model = _mlp(seed=99)
    resumed = fit(resumed_model, train, val, checkpoint=path, resume=path, **options)
    assert resumed == full  # the same losses, accuracies and learning rates, epoch by epoch
    for a, b in zip(full_model.parameters(), resumed_model.parameters()):
        assert torch.equal(a, b)


def test_resume_from_a_weights_only_file_is_refused(tmp_path):
    from mmcourse.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path / "m.pt", state_dict=_mlp().state_dict(), config={})
    train, val = _loaders()
    with pytest.raises(ValueError, match="no training state"):
        fit(_mlp(), train, val, epochs=1, lr=0.1, device="cpu", progress=False, resume=path)


def test_a_callback_sees_every_epoch_and_can_stop_training():
    from mmcourse.train import Callback

    class StopAfterTwo(Callback):
        def __init__(self):
            self.calls = []

        def on_fit_start(self, state):
            self.calls.append(("start", state.epoch))

        def on_epoch_end(self, state):
            self.calls.append(("epoch", state.epoch, len(state.history["train_loss"])))
            state.stop = state.epoch >= 2

        def on_fit_end(self, state):
            self.calls.append(("end", state.epoch))

    x, y = _blobs()
    spy = StopAfterTwo()
    history = fit(_mlp(), TensorBatches(x, y, batch_size=50), None, epochs=10, lr=0.02, device="cpu",
                  progress=False, callbacks=[spy])  # fmt: skip
    assert spy.calls == [("start", 0), ("epoch", 1, 1), ("epoch", 2, 2), ("end", 2)]
    assert history.epochs == 2


def test_evaluate_is_the_loss_and_accuracy_of_predict():
    from mmcourse.train import predict

    x, y = _blobs(n=70)
    model = _mlp()
    batches = TensorBatches(x, y, batch_size=16, shuffle=False)
    logits, targets = predict(model, batches)
    assert logits.shape == (70, 2) and torch.equal(targets, y)
    result = evaluate(model, batches)
    assert result["loss"] == pytest.approx(float(nn.functional.cross_entropy(logits, y)), rel=1e-6)
    assert result["accuracy"] == accuracy(logits, y)
    with pytest.raises(ValueError, match="predict got no batches"):
        evaluate(model, [])


def test_history_then_joins_two_runs_and_keeps_the_better_best_epoch():
    first = History({"train_loss": [1.0, 0.8], "val_accuracy": [0.6, 0.7], "val_loss": [0.9, 0.8]}, [1, 1], 1)
    better = History({"train_loss": [0.7], "val_accuracy": [0.75], "val_loss": [0.7]}, [1], 0)
    worse = History({"train_loss": [0.7], "val_accuracy": [0.65], "val_loss": [0.7]}, [1], 0)
    assert first.then(better).best_epoch == 2 and first.then(worse).best_epoch == 1
    assert first.then(better)["train_loss"] == [1.0, 0.8, 0.7] and first.then(better).seconds == [1, 1, 1]


class _LayoutProbe(nn.Module):
    """A one-conv classifier that records whether each batch reached it in channels-last layout."""

    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4, 2)
        self.layouts = []

    def forward(self, images):
        if self.training:
            self.layouts.append(images.is_contiguous(memory_format=torch.channels_last))
        return self.head(self.conv(images).amax(dim=(2, 3)))


def test_channels_last_reaches_the_model_even_after_a_transform_that_makes_a_new_batch():
    images, labels = torch.rand(16, 3, 6, 6), torch.arange(16) % 2
    batches = TensorBatches(images, labels, batch_size=8, shuffle=False)
    remade = lambda batch: (batch[0].contiguous(), batch[1])  # noqa: E731  -- back to NCHW, as a torch.cat may
    model = _LayoutProbe()
    fit(
        model,
        batches,
        epochs=1,
        lr=1e-3,
        device="cpu",
        progress=False,
        channels_last=True,
        train_transform=remade,
    )
    assert model.layouts == [True, True]
    assert model.conv.weight.is_contiguous(memory_format=torch.channels_last)
    model = _LayoutProbe()
    fit(model, batches, epochs=1, lr=1e-3, device="cpu", progress=False, train_transform=remade)
    assert model.layouts == [False, False]  # "auto" on a CPU: the default layout


def test_config_channels_last_is_checked_and_reaches_fit():
    from mmcourse.config import TrainConfig

    with pytest.raises(
        ValueError, match=r"channels_last must be one of \['auto', True, False\], but got 'yes'"
    ):
        TrainConfig(channels_last="yes")
    assert TrainConfig(channels_last=True).fit_options()["channels_last"] is True
    assert TrainConfig().fit_options()["channels_last"] == "auto"

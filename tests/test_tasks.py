"""mmcourse.tasks and mmcourse.config: presets, one config for every phase, runs that can be reproduced."""

import json
from dataclasses import asdict, replace

import pytest
import torch

from mmcourse.checkpoint import load_checkpoint
from mmcourse.config import TrainConfig
from mmcourse.data import TensorBatches, to_tensors
from mmcourse.tasks import MODEL_PRESETS, PRESETS, TASKS, config_for, load_task, resolve_config, train_model
from mmcourse.train import evaluate

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_presets_are_configs_made_by_replace():
    assert (
        set(TASKS)
        == set(PRESETS)
        == {"shapes", "digits-arithmetic", "digits-captions", "shapes-contrastive", "captions"}
    )
    assert config_for("shapes-contrastive").model == "clip" and config_for("captions").model == "captioner"
    assert [task.objective for task in TASKS.values()] == ["classification"] * 3 + [
        "contrastive",
        "captioning",
    ]
    matcher = config_for("shapes")
    assert matcher is MODEL_PRESETS["shapes", "matcher"] and matcher.model == "matcher"
    assert (matcher.n_train, matcher.epochs, matcher.batch_size, matcher.negatives) == (12000, 8, 128, 0.5)
    assert matcher.share_images and matcher.channels_last is True and matcher.target == 0.986
    assert replace(matcher, model="attention", n_train=5000, epochs=20, batch_size=64, schedule=None, warmup=0.1,
                   clip_grad=None, negatives=0.0, share_images=False, channels_last="auto", target=None,
                   restore_best=False) == config_for("shapes", "attention")  # fmt: skip
    early = config_for("digits-arithmetic")
    assert early.model == "early" and early.cooldown == 5 and early.model_settings["hidden_dim"] == 128
    assert config_for("digits-captions", "gated").model == "gated"
    assert config_for("shapes", "attention").n_train == 5000  # lesson 07's settings stay as they were


def test_configs_are_frozen_and_do_not_share_settings():
    config = config_for("digits-arithmetic")
    with pytest.raises(AttributeError):
        config.epochs = 3
    other = replace(config, epochs=3)
    other.model_settings["hidden_dim"] = 7  # a dict inside a frozen dataclass can still be edited ...
    assert config_for("digits-arithmetic").model_settings["hidden_dim"] == 128  # ... but never a preset's


@pytest.mark.parametrize(
    "options, error, fragment",
    [
        ({"epochs": 0}, ValueError, "epochs must be a whole number >= 1, but got 0"),
        ({"epochs": 2.5}, TypeError, "epochs must be a whole number >= 1, but got float 2.5"),
        ({"lr": 0.0}, ValueError, "lr must be a number > 0"),
        ({"lr": float("nan")}, ValueError, "lr must be a number > 0"),
        ({"batch_size": True}, TypeError, "batch_size must be a whole number >= 1, but got bool"),
        ({"negatives": 1.5}, ValueError, r"negatives must be a rate in \[0, 1\]"),
        ({"clip_grad": -1.0}, ValueError, "clip_grad must be a number > 0"),
        ({"warmup": 2.0}, ValueError, r"warmup must be a number in \[0, 1\]"),
        ({"schedule": "linear"}, ValueError, r"schedule must be one of \[None, 'cosine'\]"),
        ({"amp": 1}, ValueError, "amp must be one of"),
        ({"optimizer": "sgd"}, ValueError, "optimizer must be one of"),
        ({"patience": 0}, ValueError, "patience must be a whole number >= 1"),
        ({"model_settings": [1]}, TypeError, "model_settings must be a dict"),
        ({"share_images": 1}, TypeError, "share_images must be True or False, but got 1"),
    ],
)
def test_a_bad_config_field_is_named(options, error, fragment):
    with pytest.raises(error, match=fragment):
        TrainConfig(**options)


def test_train_model_options_are_checked():
    with pytest.raises(ValueError, match="shapes task only"):
        train_model("digits-captions", negatives=0.5, epochs=1, n_train=10)
    with pytest.raises(ValueError, match=r"rate in \[0, 1\]"):
        train_model("shapes", negatives=2, epochs=1, n_train=10)
    with pytest.raises(ValueError, match="unknown option.*'epcohs'.*model_settings"):
        train_model("shapes", epcohs=1)
    with pytest.raises(ValueError, match="valid tasks: shapes, digits-arithmetic, digits-captions"):
        train_model("mnist")
    with pytest.raises(ValueError, match="Did you mean 'early'"):
        train_model("shapes", "erly")
    with pytest.raises(ValueError, match="image_size must be 8 for 'digits-captions'"):
        load_task("digits-captions", n_train=10, image_size=16)


def test_given_data_fixes_the_configs_size_and_seed():
    data = load_task("shapes", n_train=40, seed=5, image_size=20)
    config = resolve_config("shapes", "early", data=data, seed=1)
    assert (config.n_train, config.image_size, config.seed, config.data_seed) == (40, 20, 1, 5)
    assert resolve_config("shapes", "early", data=data, seed=5).data_seed is None


def test_cooldown_epochs_use_the_same_clipping_amp_and_transform(monkeypatch):
    """The cooldown phase used to drop clip_grad, amp, compile and the transform: now one config feeds both."""
    import mmcourse.train.loop as loop

    steps = []
    real_step = loop.train_step

    def recording_step(model, optimizer, inputs, targets, **options):
        steps.append({"lr": optimizer.param_groups[0]["lr"], **options})
        return real_step(model, optimizer, inputs, targets, **options)

    monkeypatch.setattr(loop, "train_step", recording_step)
    seen = []

    def transform(batch):
        seen.append(len(batch[-1]))
        return batch

    data = load_task("digits-captions", n_train=64, seed=0)
    _, metrics = train_model("digits-captions", "early", data=data, epochs=2, cooldown=2, batch_size=32,
                             clip_grad=0.5, amp=True, device="cpu", progress=False, train_transform=transform)  # fmt: skip
    assert len(steps) == len(seen) == 4 * 2  # 2 + 2 epochs of 2 batches: every step saw the transform
    assert all(step["clip_grad"] == 0.5 and step["amp_dtype"] == torch.bfloat16 for step in steps)
    assert [step["lr"] for step in steps] == [2e-3] * 4 + [pytest.approx(2e-4)] * 4
    assert len(metrics["history"]["train_loss"]) == 4 and metrics["clip_grad"] == 0.5


def test_a_run_is_reproduced_from_its_metrics_json(tmp_path):
    _, first = train_model("shapes", "early", n_train=96, epochs=2, batch_size=32, seed=4, device="cpu",
                           out=tmp_path, progress=False)  # fmt: skip
    recorded = json.loads((tmp_path / "metrics.json").read_text())
    config = TrainConfig.from_dict(recorded)
    assert asdict(config) == {key: recorded[key] for key in asdict(config)} and config.image_size == 16
    _, again = train_model(config, device="cpu", progress=False)
    assert again["history"]["train_loss"] == first["history"]["train_loss"]
    assert again["test_accuracy"] == first["test_accuracy"]
    _, other_seed = train_model(replace(config, seed=5), device="cpu", progress=False)
    assert other_seed["history"]["train_loss"] != first["history"]["train_loss"]  # the check can fail


def test_matcher_run_checkpoints_and_resumes(tmp_path):
    data = load_task("shapes", n_train=256, seed=1)
    model, metrics = train_model(
        "shapes", epochs=2, data=data, device="cpu", out=tmp_path, progress=False, seed=1, batch_size=64
    )
    assert metrics["model"] == "matcher" and len(metrics["history"]["train_loss"]) == 2
    loaded, vocab, checkpoint = load_checkpoint(tmp_path / "model.pt")
    assert checkpoint["config"]["name"] == "matcher" and checkpoint["training"]["epoch"] == 2
    assert checkpoint["image_size"] == 16 and checkpoint["task"] == "shapes"
    test = TensorBatches(*to_tensors(data["test"], vocab), batch_size=500, shuffle=False)
    assert evaluate(loaded, test)["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    _, more = train_model(
        "shapes", epochs=3, data=data, device="cpu", out=tmp_path, progress=False, seed=1, batch_size=64,
        resume=tmp_path / "model.pt",
    )  # fmt: skip
    assert len(more["history"]["train_loss"]) == 3
    assert more["history"]["train_loss"][:2] == metrics["history"]["train_loss"]


class _Interrupt(Exception):
    pass


def test_matcher_with_attribute_negatives_resumes_exactly(tmp_path):
    """The negatives' random draws are checkpointed: a resumed run repeats the uninterrupted one."""
    data = load_task("shapes", n_train=256, seed=2)
    options = dict(epochs=3, data=data, device="cpu", progress=False, seed=2, batch_size=64)
    _, full = train_model("shapes", **options)
    assert full["negatives"] == 0.5
    steps = {"n": 0, "crash": True}

    def crash_in_epoch_three(batch):  # the same transform chain in both runs; only the first crashes
        steps["n"] += 1
        if steps["crash"] and steps["n"] > 2 * 4 + 1:  # 4 batches per epoch: one step into epoch three
            raise _Interrupt
        return batch

    with pytest.raises(_Interrupt):
        train_model("shapes", out=tmp_path, train_transform=crash_in_epoch_three, **options)
    steps["crash"] = False
    _, resumed = train_model("shapes", out=tmp_path, resume=tmp_path / "model.pt",
                             train_transform=crash_in_epoch_three, **options)  # fmt: skip
    assert resumed["history"]["train_loss"] == full["history"]["train_loss"]
    assert resumed["test_accuracy"] == full["test_accuracy"]


def test_the_older_fit_options_spelling_still_works():
    seen = []
    data = load_task("digits-captions", n_train=32, seed=0)
    _, metrics = train_model("digits-captions", "early", data=data, epochs=1, cooldown=0, device="cpu", progress=False,
                             fit_options={"clip_grad": 2.0, "train_transform": lambda b: seen.append(1) or b})  # fmt: skip
    assert metrics["clip_grad"] == 2.0 and len(seen) == 1


def test_every_preset_builds_its_model_on_its_task():
    from mmcourse.models import build_model, model_names

    facts = {"shapes": {"n_classes": 2, "in_channels": 3}, "digits-arithmetic": {"n_classes": 10, "in_channels": 1},
             "digits-captions": {"n_classes": 10, "in_channels": 1},
             "shapes-contrastive": {"n_classes": 2, "in_channels": 3}}  # fmt: skip
    assert set(facts) == set(TASKS) - {"captions"}  # the captioner is no pair classifier: tested on its own
    for name in model_names():
        with pytest.raises(ValueError, match="captioner"):
            resolve_config("captions", name)
    with pytest.raises(ValueError, match="captioner"):
        resolve_config("shapes", "captioner")
    for task, shape in facts.items():
        size = TASKS[task].image_size
        for name in model_names():
            # a dual encoder gives one score per pair: a contrastive task, or shapes' match / mismatch; only it
            # embeds images and captions apart, as the contrastive task needs
            if (name == "clip") != (task == "shapes-contrastive") and task != "shapes":
                with pytest.raises(ValueError, match="dual encoder"):
                    resolve_config(task, name)
                continue
            config = resolve_config(task, name)
            model = build_model(name, vocab_size=30, **shape, **config.model_settings).eval()
            tokens = torch.randint(2, 30, (2, 5))
            with torch.no_grad():
                logits = model(torch.rand(2, shape["in_channels"], size, size), tokens, torch.tensor([5, 3]))
            assert logits.shape == (2, shape["n_classes"]), (task, name)

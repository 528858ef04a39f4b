"""The shipped checkpoints (mmcourse.assets): they load safely, fit today's code, and still do what they claim."""

import numpy as np
import pytest
import torch

from mmcourse.assets import ASSETS, asset_path, load_asset, main, rebuild_asset
from mmcourse.checkpoint import read_checkpoint
from mmcourse.data import make_shapes
from mmcourse.data.roles import ROLES, make_role_captions
from mmcourse.models import FusionClassifier
from mmcourse.models.captioner import RoleCaptioner, greedy_decode
from mmcourse.tasks import CAPTIONS, MATCHER
from mmcourse.vlm import caption_report


@pytest.mark.parametrize("name", list(ASSETS))
def test_each_asset_is_a_plain_checkpoint_of_its_command(name):
    checkpoint = read_checkpoint(asset_path(name))  # weights_only=True inside
    assert checkpoint["command"] == ASSETS[name].command
    assert "training" not in checkpoint  # no optimiser state: the file stays small
    assert asset_path(name).stat().st_size < 1_500_000
    assert (
        checkpoint["metrics"]["task"] == ASSETS[name].task
        and checkpoint["metrics"]["model"] == ASSETS[name].model
    )


def test_the_matcher_is_lesson_08s_preset_and_still_matches_fresh_scenes():
    model, vocab, checkpoint = load_asset("shapes-matcher")
    assert isinstance(model, FusionClassifier) and not model.training
    metrics = checkpoint["metrics"]
    assert metrics["n_train"] == MATCHER.n_train and metrics["epochs"] == MATCHER.epochs
    assert metrics["test_accuracy"] >= 0.98
    fresh = make_shapes(600, seed=12345, image_size=16)  # scenes it never saw
    tokens, lengths = (torch.as_tensor(a) for a in vocab.encode(fresh.captions))
    with torch.no_grad():
        said = model(torch.as_tensor(fresh.images), tokens, lengths).argmax(dim=1).numpy()
    accuracy = float((said == fresh.labels).mean())
    assert accuracy >= 0.96, accuracy  # chance is 0.5
    assert abs(accuracy - metrics["test_accuracy"]) < 0.03


def test_the_captioner_is_the_captions_preset_and_still_speaks_truly_in_every_role():
    model, vocab, checkpoint = load_asset("captioner")
    assert isinstance(model, RoleCaptioner) and not model.training
    metrics = checkpoint["metrics"]
    assert metrics["n_train"] == CAPTIONS.n_train and metrics["epochs"] == CAPTIONS.epochs
    fresh = make_role_captions(200, seed=54321)
    texts = greedy_decode(model, vocab, torch.as_tensor(fresh.images), torch.as_tensor(fresh.labels))
    report = caption_report(texts, fresh)
    for role in ROLES:
        assert report[role]["style"] >= 0.99 and report[role]["truth"] >= 0.9, (role, report[role])
    assert report["painter"]["knowledge"] >= 0.95


def test_an_unknown_asset_is_a_clear_error(capsys):
    with pytest.raises(ValueError, match="shapes-matcher, captioner.*'clip'"):
        load_asset("clip")
    with pytest.raises(ValueError, match="one of the shipped assets"):
        rebuild_asset("nonsense")
    assert main(["rebuild", "nonsense"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown asset 'nonsense'" in err[0]


def test_list_names_each_asset_and_its_command(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name, asset in ASSETS.items():
        assert name in out and asset.command in out


def test_rebuild_writes_a_loadable_checkpoint_with_the_runs_metrics(tmp_path, monkeypatch):
    """The rebuild path itself, on a tiny run (the real one trains the preset for a minute)."""
    import mmcourse.tasks as tasks

    real = tasks.train_model

    def tiny(task, model, **options):
        return real(task, model, n_train=64, epochs=1, **options)

    monkeypatch.setattr(tasks, "train_model", tiny)
    path = rebuild_asset("captioner", device="cpu", out=tmp_path / "captioner.pt")
    checkpoint = read_checkpoint(path)
    assert checkpoint["command"] == "mmcourse train --task captions --model captioner"
    assert checkpoint["metrics"]["n_train"] == 64 and "training" not in checkpoint
    assert checkpoint["task"] == "captions" and checkpoint["image_size"] == 16  # as the run's own checkpoint
    plain = {k: v for k, v in checkpoint["metrics"].items() if k != "history"}
    assert all(not isinstance(v, (dict, list)) for v in plain.values())
    curves = checkpoint["metrics"]["history"]  # the learning curves: one number per epoch
    assert len(curves["train_loss"]) == 1 and all(
        isinstance(v, (list, int, float, bool)) for v in curves.values()
    )
    assert np.isfinite(checkpoint["metrics"]["test_narrator_style"])


def test_from_run_refuses_a_run_of_another_task_in_one_line(tmp_path, capsys):
    (tmp_path / "metrics.json").write_text('{"task": "shapes", "model": "matcher"}')
    assert main(["from-run", "captioner", str(tmp_path), "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "task='shapes', model='matcher'" in err[0]
    assert not (tmp_path / "x.pt").exists()


def test_the_transformer_is_lesson_10s_preset_passes_the_ceiling_and_reads_word_order():
    from mmcourse.data import BAG_OF_WORDS_CEILING, order_twins
    from mmcourse.tasks import config_for

    model, vocab, checkpoint = load_asset("shapes-transformer")
    metrics, preset = checkpoint["metrics"], config_for("shapes", "transformer")
    assert (
        metrics["n_train"] == preset.n_train
        and metrics["lr"] == preset.lr
        and metrics["target"] == preset.target
    )
    assert (
        checkpoint["config"]["stem"] == "matcher"
        and checkpoint["config"]["depth"] == preset.model_settings["depth"]
    )
    history = metrics["history"]["val_accuracy"]  # the learning curve is kept, for lesson 10's plot
    assert len(history) <= preset.epochs and history[-1] >= preset.target
    assert sum(abs(h - BAG_OF_WORDS_CEILING) < 0.04 for h in history) >= 20  # the plateau the lesson shows
    fresh = make_shapes(600, seed=12345, image_size=16)
    tokens, lengths = (torch.as_tensor(a) for a in vocab.encode(fresh.captions))
    images = torch.as_tensor(fresh.images)
    with torch.no_grad():
        said = model(images, tokens, lengths).argmax(dim=1).numpy()
        accuracy = float((said == fresh.labels).mean())
        true = np.flatnonzero(fresh.labels == 1)
        swapped, _ = order_twins([fresh.captions[i] for i in true])
        twin_tokens, twin_lengths = (torch.as_tensor(a) for a in vocab.encode(swapped))
        twin_said = model(images[true], twin_tokens, twin_lengths).argmax(dim=1).numpy()
    assert accuracy >= 0.95 and abs(accuracy - metrics["test_accuracy"]) < 0.04, (
        accuracy
    )  # the ceiling is 2/3
    assert np.mean(twin_said == 0) > 0.9  # the swapped twin of a true caption is rejected

"""Lesson 12 end to end: the task "captions" (train_model, `mmcourse train --task captions`) and
`mmcourse caption MODEL --image PNG --role ROLE`, with one-line errors for bad input."""

import json

import matplotlib.image
import numpy as np
import pytest
import torch

from mmcourse.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from mmcourse.cli import main as cli_main
from mmcourse.data.roles import ROLES
from mmcourse.models import build_model
from mmcourse.models.captioner import BOS, EOS, RoleCaptioner, greedy_decode, sample_captions
from mmcourse.tasks import CAPTIONS, config_for, load_task, train_model
from mmcourse.text import Vocab
from mmcourse.vlm import caption_report, role_confusion

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

PER_ROLE = {f"test_{role}_{name}" for role in ROLES for name in ("style", "truth")}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One short run of the task, saved: its folder, the returned model and metrics, and a test scene as a PNG."""
    out = tmp_path_factory.mktemp("captions")
    threads = torch.get_num_threads()  # a module fixture runs before the function-scoped one_thread
    torch.set_num_threads(1)
    try:
        model, metrics = train_model("captions", epochs=1, n_train=300, progress=False, out=out, device="cpu")
    finally:
        torch.set_num_threads(threads)
    test = load_task("captions", n_train=300, seed=0)["test"]
    image = out / "scene.png"
    matplotlib.image.imsave(image, test.images[0].transpose(1, 2, 0))
    return out, model, metrics, test, image


# --- the task ---------------------------------------------------------------------------------------------------


def test_the_preset_is_the_captioner_with_adamw_and_a_cosine_schedule():
    config = config_for("captions")
    assert config is not CAPTIONS and config == CAPTIONS
    assert (config.model, config.optimizer, config.schedule, config.image_size) == (
        "captioner",
        "adamw",
        "cosine",
        16,
    )


def test_train_model_writes_per_role_figures_and_a_checkpoint(run):
    out, model, metrics, test, _ = run
    recorded = json.loads((out / "metrics.json").read_text())
    assert recorded["task"] == "captions" and recorded["model"] == "captioner"
    assert recorded["image_size"] == 16 and recorded["n_train"] == 300 and recorded["epochs"] == 1
    assert PER_ROLE | {"test_style", "test_truth", "test_painter_knowledge", "test_role_confusion"} <= set(
        recorded
    )
    for key in PER_ROLE | {"test_style", "test_truth", "test_painter_knowledge"}:
        assert 0 <= recorded[key] <= 1, key
    confusion = np.array(recorded["test_role_confusion"])
    assert confusion.shape == (len(ROLES), len(ROLES) + 1) and confusion.sum() == len(test) == 400
    assert confusion.sum(axis=1).tolist() == np.bincount(test.labels, minlength=len(ROLES)).tolist()
    assert (
        len(recorded["history"]["train_loss"]) == 1
        and recorded["train_loss"] == recorded["history"]["train_loss"][0]
    )
    assert all(example["role"] in ROLES for example in recorded["test_examples"])
    assert {k: v for k, v in recorded.items() if k != "history"} == {
        k: v for k, v in json.loads(json.dumps(metrics)).items() if k != "history"
    }


def test_the_checkpoint_reloads_to_the_same_captioner(run):
    out, model, metrics, test, _ = run
    loaded, vocab, checkpoint = load_checkpoint(out / "model.pt")
    assert isinstance(loaded, RoleCaptioner) and not loaded.training
    assert (
        vocab.itos[2:4] == [BOS, EOS]
        and checkpoint["image_size"] == 16
        and checkpoint["roles"] == list(ROLES)
    )
    assert checkpoint["task"] == "captions" and checkpoint["metrics"]["test_style"] == metrics["test_style"]
    images, roles = torch.as_tensor(test.images), torch.as_tensor(test.labels)
    texts = greedy_decode(loaded, vocab, images, roles)
    assert texts == greedy_decode(model, vocab, images, roles)
    report = caption_report(texts, test)  # the figures are those of the saved model on the task's test scenes
    assert metrics["test_style"] == pytest.approx(report["all"]["style"])
    assert metrics["test_truth"] == pytest.approx(report["all"]["truth"])
    for role in ROLES:
        assert metrics[f"test_{role}_style"] == pytest.approx(report[role]["style"])
        assert metrics[f"test_{role}_truth"] == pytest.approx(report[role]["truth"])
    assert metrics["test_painter_knowledge"] == pytest.approx(report["painter"]["knowledge"])
    assert metrics["test_role_confusion"] == role_confusion(texts, test.labels).tolist()


@pytest.mark.parametrize(
    "args, options, fragment",
    [
        (("captions", "matcher"), {}, "model 'matcher'"),
        (("shapes", "captioner"), {}, "model 'captioner'"),
        (("captions",), {"cooldown": 2}, "cooldown=2 is not available"),
        (("captions",), {"negatives": 0.5}, "negatives"),
        (("captions",), {"clip_grad": 1.0}, "clip_grad=1.0 is not available"),
        (("captions",), {"patience": 2}, "patience=2 is not available"),
        (("captions",), {"optimizer": "adam"}, "optimizer='adam' is not available"),
        (("captions",), {"amp": True}, "amp=True is not available"),
        (("captions",), {"amp": "fp16"}, "amp='fp16' is not available"),
        (("captions",), {"resume": "model.pt"}, "resume and train_transform are not available"),
        (
            ("captions",),
            {"train_transform": lambda batch: batch},
            "resume and train_transform are not available",
        ),
    ],
)
def test_options_the_captioner_cannot_honour_are_named(args, options, fragment):
    with pytest.raises(ValueError, match=fragment):  # a tiny run, should the option ever be accepted
        train_model(*args, n_train=8, epochs=1, batch_size=8, progress=False, device="cpu", **options)


def test_the_cli_trains_the_captioner(tmp_path, capsys):
    code = cli_main(["train", "--task", "captions", "--epochs", "1", "--n-train", "64", "--batch-size", "32",
                     "--device", "cpu", "--out", str(tmp_path), "--no-progress"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model"] == "captioner" and PER_ROLE <= set(summary) and "history" not in summary
    assert (
        json.loads((tmp_path / "metrics.json").read_text())["test_poet_style"] == summary["test_poet_style"]
    )
    assert isinstance(load_checkpoint(tmp_path / "model.pt")[0], RoleCaptioner)


def test_the_cli_rejects_another_model_for_captions_in_one_line(capsys):
    assert cli_main(["train", "--task", "captions", "--model", "matcher"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmcourse train: error:") and "'captioner'" in lines[0]


# --- mmcourse caption -------------------------------------------------------------------------------------------


def _caption(capsys, *argv):
    code = cli_main(["caption", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _pixels(image):
    return torch.as_tensor(matplotlib.image.imread(image)[..., :3].transpose(2, 0, 1).copy())[None]


@pytest.mark.parametrize("role", ROLES)
def test_caption_prints_the_greedy_caption_in_the_role(run, capsys, role):
    out, _, _, _, image = run
    code, printed, err = _caption(capsys, out / "model.pt", "--image", image, "--role", role)
    assert code == 0, err
    lines = printed.splitlines()
    model, vocab, _ = load_checkpoint(out / "model.pt")
    assert lines == greedy_decode(model, vocab, _pixels(image), torch.tensor([ROLES.index(role)]))
    assert lines[0].strip()


def test_caption_samples_n_captions_reproducibly(run, capsys):
    out, _, _, _, image = run
    argv = (out / "model.pt", "--image", image, "--role", "painter", "--sample", "3", "--seed", "4")
    code, printed, err = _caption(capsys, *argv)
    assert code == 0, err
    assert len(printed.splitlines()) == 3
    model, vocab, _ = load_checkpoint(out / "model.pt")
    generator = torch.Generator().manual_seed(4)
    expected = [
        sample_captions(model, vocab, _pixels(image), torch.tensor([3]), 1.0, generator)[0] for _ in range(3)
    ]
    assert printed.splitlines() == expected
    assert _caption(capsys, *argv)[1] == printed


def _other_checkpoint(path, name):
    vocab = Vocab.build(["a red circle is left of a blue square"])
    torch.manual_seed(0)
    model = build_model(name, vocab_size=len(vocab), n_classes=2, in_channels=3)
    save_checkpoint(path, model, vocab=vocab, task="shapes", image_size=16)
    return path


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("role", "the roles are: " + ", ".join(ROLES)),
        ("big_png", "trained on 16 x 16 images"),
        ("text_file", "is not a PNG image"),
        ("truncated_png", "could not read"),
        ("missing_image", "no image file"),
        ("missing_checkpoint", "no checkpoint at"),
        ("corrupt_checkpoint", "could not load the checkpoint"),
        ("clip", "holds a 'clip' model, not a captioner"),
        ("matcher", "holds a 'matcher' model, not a captioner"),
        ("sample", "--sample must be a positive number"),
        ("temperature", "--temperature must be positive"),
    ],
)
def test_bad_input_gives_one_clear_line_and_exit_code_2(run, tmp_path, capsys, bad, fragment):
    out, _, _, _, image = run
    checkpoint, picture, role, extra = out / "model.pt", image, "poet", []
    if bad == "role":
        role = "pirate"
    elif bad == "big_png":
        picture = tmp_path / "big.png"
        matplotlib.image.imsave(picture, np.zeros((32, 32, 3)))
    elif bad == "text_file":
        picture = tmp_path / "notes.png"
        picture.write_text("this is not an image\n")
    elif bad == "truncated_png":
        picture = tmp_path / "truncated.png"
        picture.write_bytes(image.read_bytes()[:40])
    elif bad == "missing_image":
        picture = tmp_path / "nowhere.png"
    elif bad == "missing_checkpoint":
        checkpoint = tmp_path / "no-model.pt"
    elif bad == "corrupt_checkpoint":
        checkpoint = tmp_path / "corrupt.pt"
        checkpoint.write_bytes(b"not a checkpoint")
    elif bad in ("clip", "matcher"):
        checkpoint = _other_checkpoint(tmp_path / f"{bad}.pt", bad)
        assert read_checkpoint(checkpoint)["config"]["name"] == bad
    elif bad == "sample":
        extra = ["--sample", "0"]
    elif bad == "temperature":
        extra = ["--sample", "2", "--temperature", "0"]
    code, printed, err = _caption(capsys, checkpoint, "--image", picture, "--role", role, *extra)
    assert code == 2
    assert printed == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("mmcourse caption: error: ") and "Traceback" not in err
    assert fragment in err


def test_a_missing_option_is_one_line_too(run, capsys):
    out, *_ = run
    with pytest.raises(SystemExit) as stop:
        cli_main(["caption", str(out / "model.pt"), "--role", "poet"])
    assert stop.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_each_roles_style_is_the_diagonal_of_the_confusion_matrix(run):
    _, _, metrics, _, _ = run
    confusion = np.array(metrics["test_role_confusion"])
    for k, role in enumerate(ROLES):
        assert metrics[f"test_{role}_style"] == pytest.approx(confusion[k, k] / confusion[k].sum())
    assert metrics["test_style"] == pytest.approx(np.trace(confusion) / confusion.sum())

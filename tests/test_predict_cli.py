"""`mmcourse predict`: a PNG written here gives the model's own probability; bad inputs give one clear line."""

import json
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
import torch

from mmcourse.data import make_digit_captions, make_shapes
from mmcourse.models import build_model
from mmcourse.predict_cli import main
from mmcourse.text import Vocab

torch.set_num_threads(1)


def _save(tmp_path, data, task, name="early"):
    vocab = Vocab.build(data.captions)
    torch.manual_seed(0)
    model = build_model(
        name, vocab_size=len(vocab), n_classes=len(data.label_names), in_channels=data.images.shape[1]
    )
    checkpoint = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": model.config,
        "vocab": list(vocab.itos),
        "task": task,
        "seed": 0,
    }
    path = tmp_path / "model.pt"
    torch.save(checkpoint, path)
    return path, model.eval(), vocab


@pytest.fixture(scope="module")
def shapes_setup(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("predict")
    data = make_shapes(40, seed=3, image_size=16)
    path, model, vocab = _save(tmp_path, data, "shapes")
    image = tmp_path / "scene.png"
    matplotlib.image.imsave(image, data.images[0].transpose(1, 2, 0))
    return tmp_path, path, model, vocab, data, image


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_prints_the_models_match_probability(shapes_setup, capsys):
    tmp_path, path, model, vocab, data, image = shapes_setup
    code, out, err = _run(capsys, path, "--image", image, "--caption", data.captions[0])
    assert code == 0, err
    assert out.splitlines()[0].startswith("match probability: ")
    result = json.loads(out.splitlines()[-1])
    pixels = matplotlib.image.imread(image)[..., :3].transpose(2, 0, 1)  # what the PNG holds: 8-bit levels
    assert np.abs(pixels - data.images[0]).max() <= 1 / 255 + 1e-6  # the PNG is the scene, to 8 bits
    tokens, lengths = vocab.encode([data.captions[0]])
    with torch.no_grad():
        expected = model(
            torch.as_tensor(pixels[None].copy()), torch.as_tensor(tokens), torch.as_tensor(lengths)
        )
    assert result["probabilities"]["match"] == pytest.approx(float(expected.softmax(dim=1)[0, 1]), abs=1e-5)
    assert float(out.splitlines()[0].split()[-1]) == pytest.approx(result["probabilities"]["match"], abs=1e-4)


def test_the_mmcourse_command_has_predict(shapes_setup):
    tmp_path, path, model, vocab, data, image = shapes_setup
    done = subprocess.run(
        [sys.executable, "-m", "mmcourse.cli", "predict", str(path), "--image", str(image), "--caption", data.captions[1]],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "match probability" in done.stdout


@pytest.mark.parametrize(
    "make_bad, caption, fragment",
    [
        ("big_png", None, "trained on 16 x 16 images"),
        ("text_file", None, "is not a PNG image"),
        ("truncated_png", None, "could not read"),
        ("missing_image", None, "no image file"),
        (None, "", "the caption is empty"),
        (None, "   ", "the caption is empty"),
        (None, "a pink circle is left of a blue square", "unknown word(s) 'pink'"),
        ("missing_checkpoint", None, "no checkpoint at"),
        ("corrupt_checkpoint", None, "could not load the checkpoint"),
    ],
)
def test_bad_inputs_give_one_clear_line_and_exit_code_2(shapes_setup, capsys, make_bad, caption, fragment):
    tmp_path, path, model, vocab, data, image = shapes_setup
    checkpoint, picture = path, image
    if make_bad == "big_png":
        picture = tmp_path / "big.png"
        matplotlib.image.imsave(picture, np.zeros((32, 32, 3)))
    elif make_bad == "text_file":
        picture = tmp_path / "notes.png"
        picture.write_text("this is not an image\n")
    elif make_bad == "truncated_png":
        picture = tmp_path / "truncated.png"
        picture.write_bytes(image.read_bytes()[:40])
    elif make_bad == "missing_image":
        picture = tmp_path / "nowhere.png"
    elif make_bad == "missing_checkpoint":
        checkpoint = tmp_path / "no-model.pt"
    elif make_bad == "corrupt_checkpoint":
        checkpoint = tmp_path / "corrupt.pt"
        checkpoint.write_bytes(b"not a checkpoint")
    caption = data.captions[0] if caption is None else caption
    code, out, err = _run(capsys, checkpoint, "--image", picture, "--caption", caption)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("mmcourse predict: error: ")
    assert fragment in err


def test_a_digit_model_reads_a_grey_png(tmp_path, capsys):
    data = make_digit_captions(30, seed=1)
    path, model, vocab = _save(tmp_path, data, "digits-captions")
    image = tmp_path / "digit.png"
    matplotlib.image.imsave(image, np.repeat(data.images[0].transpose(1, 2, 0), 3, axis=2))
    code, out, err = _run(capsys, path, "--image", image, "--caption", data.captions[0])
    assert code == 0, err
    assert out.startswith("predicted class: ")
    result = json.loads(out.splitlines()[-1])
    pixels = matplotlib.image.imread(image)[..., :1].transpose(2, 0, 1)
    tokens, lengths = vocab.encode([data.captions[0]])
    with torch.no_grad():
        expected = model(
            torch.as_tensor(pixels[None].copy()), torch.as_tensor(tokens), torch.as_tensor(lengths)
        )
    assert result["prediction"] == str(int(expected.argmax()))
    assert result["probability"] == pytest.approx(float(expected.softmax(dim=1).max()), abs=1e-5)


def test_a_missing_option_is_one_line_too(shapes_setup, capsys):
    tmp_path, path, *_ = shapes_setup
    with pytest.raises(SystemExit) as stop:
        main([str(path), "--caption", "a red circle"])
    assert stop.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_checkpoint_written_by_train_model_works(tmp_path, capsys):
    from mmcourse.tasks import train_model

    train_model("shapes", "early", epochs=1, n_train=64, device="cpu", out=tmp_path, progress=False)
    data = make_shapes(3, seed=11, image_size=16)
    image = tmp_path / "scene.png"
    matplotlib.image.imsave(image, data.images[0].transpose(1, 2, 0))
    code, out, err = _run(capsys, tmp_path / "model.pt", "--image", image, "--caption", data.captions[0])
    assert code == 0, err
    assert 0 <= json.loads(out.splitlines()[-1])["probabilities"]["match"] <= 1


def test_a_shipped_asset_is_known_as_a_shapes_model(tmp_path, capsys):
    """An asset keeps what its run's checkpoint held (task, seed, image size), so predict treats it as one."""
    from mmcourse.assets import asset_path
    from mmcourse.checkpoint import read_checkpoint

    checkpoint = read_checkpoint(asset_path("shapes-matcher"))
    assert (checkpoint["task"], checkpoint["image_size"], checkpoint["seed"]) == ("shapes", 16, 0)
    data = make_shapes(2, seed=4, image_size=16)
    matplotlib.image.imsave(tmp_path / "scene.png", data.images[0].transpose(1, 2, 0))
    code, out, err = _run(
        capsys, asset_path("shapes-matcher"), "--image", tmp_path / "scene.png", "--caption", data.captions[0]
    )
    assert code == 0, err
    assert out.startswith("match probability: ")

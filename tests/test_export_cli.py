"""`mmcourse export` writes .pt2 / .onnx / .pte (fp32 and int8), and `mmcourse predict` runs each with its
own runtime, printing the checkpoint's match probability (fp32 within 1e-3, int8 within 0.05).
Every bad request is one line on stderr and exit code 2."""

import json
import sys

import matplotlib.image
import pytest
import torch

from mmcourse.checkpoint import save_checkpoint
from mmcourse.data import make_shapes
from mmcourse.export_cli import main as export_main
from mmcourse.models import build_model
from mmcourse.predict_cli import main as predict_main
from mmcourse.tasks import load_task

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A shapes checkpoint, a scene, captions. The model is an untrained bag-of-words "early-bow": parity
    needs no training, and its small graph lowers to ExecuTorch in a few seconds (the LSTM models' path
    to a .pte is run by lesson 09 itself, and their torch.export / ONNX graphs by tests/test_export.py)."""
    folder = tmp_path_factory.mktemp("export")
    vocab = load_task("shapes", n_train=64, seed=0)["vocab"]  # what --int8 calibrates with
    torch.manual_seed(0)
    model = build_model("early-bow", vocab_size=len(vocab), n_classes=2, in_channels=3)
    with torch.no_grad():  # sharper answers, so that a caption moves the probability far more than the bounds
        model.classifier.weight *= 20
    save_checkpoint(folder / "model.pt", model, vocab=vocab, task="shapes", seed=0)
    scenes = make_shapes(4, seed=5, image_size=16)
    matplotlib.image.imsave(folder / "scene.png", scenes.images[0].transpose(1, 2, 0))
    return folder, list(scenes.captions)


def _run(main, capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _match(capsys, model, folder, caption):
    code, out, err = _run(predict_main, capsys, model, "--image", folder / "scene.png", "--caption", caption)
    assert code == 0, err
    return json.loads(out.splitlines()[-1])["probabilities"]["match"]


@pytest.fixture(scope="module")
def exported(setup):
    """Every format, written once through the command (the .pte lowerings take seconds each)."""
    folder, _ = setup
    capture = pytest.MonkeyPatch()
    files = {}
    for name, argv in {
        "model.pt2": ["--to", "exported"],
        "model.onnx": ["--to", "onnx"],
        "model.pte": ["--to", "executorch"],
        "model-int8.pte": ["--to", "executorch", "--int8", "--calibration", "64"],
    }.items():
        if name.endswith(".pte"):
            pytest.importorskip("executorch", reason="the optional extra mmcourse[mobile] is not installed")
        if name.endswith(".onnx"):
            pytest.importorskip("onnxscript", reason="the optional extra mmcourse[export] is not installed")
        assert export_main([str(folder / "model.pt"), *argv, "--out", str(folder / name)]) == 0
        files[name] = folder / name
    capture.undo()
    return files


@pytest.mark.parametrize(
    "name, bound", [("model.pt2", 1e-3), ("model.onnx", 1e-3), ("model.pte", 1e-3), ("model-int8.pte", 0.05)]
)
def test_predict_on_an_exported_file_prints_the_checkpoints_probability(setup, exported, capsys, name, bound):
    folder, captions = setup
    for caption in captions[:2]:
        expected = _match(capsys, folder / "model.pt", folder, caption)
        assert abs(_match(capsys, exported[name], folder, caption) - expected) <= bound, (name, caption)
    first, second = (_match(capsys, folder / "model.pt", folder, c) for c in captions[:2])
    # the fp32 bound can fail: another caption moves the answer more than that
    assert abs(first - second) > 2e-3


def test_the_int8_program_is_smaller_and_not_identical(setup, exported, capsys):
    folder, captions = setup
    assert exported["model-int8.pte"].stat().st_size < exported["model.pte"].stat().st_size / 2
    fp32, int8 = (_match(capsys, exported[n], folder, captions[0]) for n in ("model.pte", "model-int8.pte"))
    assert fp32 != int8  # rounded to int8, the numbers do change a little
    info = json.loads((folder / "model-int8.pte.json").read_text())
    assert info["int8"] is True and info["runtime"] == "executorch" and info["caption_width"] == 12


def test_export_prints_one_line_with_the_size(setup, exported, capsys):
    folder, _ = setup
    code, out, err = _run(
        export_main, capsys, folder / "model.pt", "--to", "exported", "--out", folder / "again.pt2"
    )
    assert code == 0, err
    assert out.startswith(f"wrote {folder / 'again.pt2'} (") and "KiB, ExportedProgram" in out
    assert len(out.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (
            ["--to", "tflite", "--out", "m.tflite"],
            "invalid choice: 'tflite' (choose from exported, onnx, executorch)",
        ),
        (["--to", "onnx", "--out", "m.pte"], "--out must end in .onnx for --to onnx"),
        (["--to", "onnx", "--int8", "--out", "m.onnx"], "--int8 needs --to executorch"),
        (["--to", "exported"], "the following arguments are required: --out"),
        (
            ["--to", "executorch", "--int8", "--calibration", "0", "--out", "m.pte"],
            "--calibration must be a positive",
        ),
    ],
)
def test_bad_options_give_one_line_and_exit_code_2(setup, capsys, argv, fragment):
    folder, _ = setup
    argv = [a if not a.startswith("m.") else str(folder / a) for a in argv]
    try:
        code, out, err = _run(export_main, capsys, folder / "model.pt", *argv)
    except SystemExit as stop:  # argparse's own errors
        code, (out, err) = stop.code, capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("mmcourse export: error: ") and fragment in err.replace(
        "'exported', 'onnx', 'executorch'", "exported, onnx, executorch"
    )


def test_a_missing_or_corrupt_checkpoint_is_one_line(setup, capsys, tmp_path):
    folder, _ = setup
    code, _, err = _run(
        export_main, capsys, tmp_path / "none.pt", "--to", "exported", "--out", tmp_path / "m.pt2"
    )
    assert code == 2 and "no checkpoint at" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "corrupt.pt").write_bytes(b"not a checkpoint")
    code, _, err = _run(
        export_main, capsys, tmp_path / "corrupt.pt", "--to", "exported", "--out", tmp_path / "m.pt2"
    )
    assert (
        code == 2
        and err.startswith("mmcourse export: error: cannot export")
        and len(err.strip().splitlines()) == 1
    )


@pytest.mark.parametrize(
    "module, to, extra", [("onnxscript", "onnx", "export"), ("executorch", "executorch", "mobile")]
)
def test_a_missing_optional_package_names_the_extra_to_install(
    setup, capsys, monkeypatch, tmp_path, module, to, extra
):
    folder, _ = setup
    monkeypatch.setitem(sys.modules, module, None)
    suffix = {"onnx": ".onnx", "executorch": ".pte"}[to]
    code, out, err = _run(
        export_main, capsys, folder / "model.pt", "--to", to, "--out", tmp_path / f"m{suffix}"
    )
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert f"'{module}'" in err and f'pip install "mmcourse[{extra}]"' in err


def test_predict_names_a_missing_metadata_file_and_a_missing_runtime(
    setup, exported, capsys, monkeypatch, tmp_path
):
    folder, captions = setup
    lonely = tmp_path / "lonely.pt2"
    lonely.write_bytes(exported["model.pt2"].read_bytes())
    code, out, err = _run(
        predict_main, capsys, lonely, "--image", folder / "scene.png", "--caption", captions[0]
    )
    assert code == 2 and "lonely.pt2.json is missing" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    code, out, err = _run(
        predict_main,
        capsys,
        exported["model.onnx"],
        "--image",
        folder / "scene.png",
        "--caption",
        captions[0],
    )
    assert code == 2 and 'pip install "mmcourse[export]"' in err and len(err.strip().splitlines()) == 1

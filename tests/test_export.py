"""mmcourse.export: torch.export (.pt2) and ONNX (dynamo exporter) give PyTorch's logits (within 1e-4).

The export-friendly forward is checked against every model of lesson 07's zoo (cheap, in
eager mode); the exporters themselves on a few representative models, because each
export takes seconds.
"""

import sys

import pytest
import torch

from mmcourse import export
from mmcourse.export import (
    ExportableClassifier,
    example_inputs,
    export_onnx,
    export_program,
    latency_table,
    load_onnx,
    load_program,
    lstm_states,
    run_onnx,
)
from mmcourse.models import build_model

torch.set_num_threads(1)
NAMES = ["early", "late", "gated", "film", "attention", "early-bow", "matcher"]


def _batch(B, T, seed=0, vocab_size=20):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(B, 3, 16, 16, generator=g)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    lengths[0] = T  # the longest caption fills the width, as Vocab.encode pads
    tokens = torch.randint(2, vocab_size, (B, T), generator=g)
    tokens[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    return images, tokens, lengths


def _model(name):
    torch.manual_seed(0)
    return build_model(name, vocab_size=20, n_classes=2, in_channels=3).eval()


@pytest.mark.parametrize("name", NAMES)
def test_the_exportable_forward_equals_the_packed_one(name):
    model = _model(name)
    batch = _batch(32, 9)
    with torch.no_grad():
        assert torch.allclose(ExportableClassifier(model)(*batch), model(*batch), atol=1e-6)
        padded = example_inputs(model, *batch)  # extra padding on the right changes nothing
        assert padded[1].shape == (32, 12)
        assert torch.allclose(ExportableClassifier(model)(*padded), model(*batch), atol=1e-6)


def test_lstm_states_is_the_lstm_step_by_step():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 7, batch_first=True)
    x = torch.randn(3, 6, 5)
    with torch.no_grad():
        expected, _ = lstm(x)
        assert torch.allclose(lstm_states(lstm, x), expected, atol=1e-6)
        lstm.bias_hh_l0 += 0.1  # the check can fail: other weights give other states
        assert not torch.allclose(lstm_states(lstm, x), expected, atol=1e-3)


def test_lstm_states_refuses_a_two_layer_lstm():
    with pytest.raises(ValueError, match="one-layer"):
        lstm_states(torch.nn.LSTM(5, 7, num_layers=2, batch_first=True), torch.zeros(1, 2, 5))


def test_a_caption_longer_than_the_width_is_refused():
    with pytest.raises(ValueError, match=r"T <= 12"):
        example_inputs(_model("early"), *_batch(2, 13))


@pytest.mark.parametrize("name, lengths", [("matcher", [9]), ("early-bow", [9, 4, 12])])
def test_the_exported_program_matches_pytorch_at_any_batch_size(name, lengths, tmp_path):
    """LSTM models read captions padded to the width; a bag of words reads any length up to it."""
    model = _model(name)
    program = export_program(model, tmp_path / "model.pt2", example_inputs(model, *_batch(2, 9)))
    assert isinstance(program, torch.export.ExportedProgram)
    loaded = load_program(tmp_path / "model.pt2").module()
    for B in (1, 64, 5):
        for T in lengths:
            batch = _batch(B, T, seed=B + T)
            inputs = example_inputs(model, *batch) if name == "matcher" else batch
            with torch.no_grad():
                assert export.max_difference(loaded(*inputs), model(*batch)) < 1e-4, (name, B, T)


def test_an_lstm_program_has_a_fixed_caption_width(tmp_path):
    model = _model("early")
    program = export_program(model, tmp_path / "model.pt2", example_inputs(model, *_batch(2, 9)))
    with pytest.raises(Exception, match="12"):
        program.module()(*_batch(2, 9))  # not padded to the width: the graph refuses it


@pytest.mark.parametrize("name, T", [("matcher", 9), ("early-bow", 4)])
def test_onnx_runtime_matches_pytorch_within_1e_4(name, T, tmp_path):
    """Batch size free; a bag-of-words model also reads a caption shorter than the width (T = 4)."""
    pytest.importorskip("onnxscript", reason="the optional extra mmcourse[export] is not installed")
    model = _model(name)
    path = export_onnx(model, tmp_path / "model.onnx", example_inputs(model, *_batch(2, 9)))
    session = load_onnx(path, threads=1)
    tokens_shape = session.get_inputs()[1].shape  # the dynamic dimensions are named in the file
    assert tokens_shape == (["batch", 12] if name == "matcher" else ["batch", "words"])
    for B in (1, 64, 5):
        batch = _batch(B, T, seed=B)
        with torch.no_grad():
            expected = model(*batch)
        got = run_onnx(session, *(example_inputs(model, *batch) if name == "matcher" else batch))
        assert got.shape == tuple(expected.shape)
        assert export.max_difference(got, expected) < 1e-4, (name, B)
        assert (got.argmax(axis=1) == expected.argmax(dim=1).numpy()).all()
    with torch.no_grad():  # the check can fail: a model of other weights does not match
        for parameter in model.parameters():
            parameter += 0.01
        assert (
            export.max_difference(
                run_onnx(session, *example_inputs(model, *_batch(8, 9))), model(*_batch(8, 9))
            )
            > 1e-3
        )


def test_onnx_from_an_exported_program_is_the_same_model(tmp_path):
    """export_onnx(..., program=) translates export_program's graph instead of capturing the model again."""
    pytest.importorskip("onnxscript", reason="the optional extra mmcourse[export] is not installed")
    model = _model("matcher")
    example = example_inputs(model, *_batch(2, 9))
    program = export_program(model, tmp_path / "model.pt2", example)
    session = load_onnx(export_onnx(model, tmp_path / "model.onnx", example, program=program), threads=1)
    batch = _batch(16, 9, seed=3)
    with torch.no_grad():
        assert export.max_difference(run_onnx(session, *example_inputs(model, *batch)), model(*batch)) < 1e-4
    assert session.get_inputs()[0].shape[0] == "batch"  # the batch size is still free
    with pytest.raises(TypeError, match="ExportedProgram"):
        export_onnx(model, tmp_path / "other.onnx", example, program=model)


@pytest.mark.parametrize("module, extra", [("onnxruntime", "export"), ("onnxscript", "export")])
def test_a_missing_optional_package_is_named_with_the_extra(module, extra, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(ImportError) as error:
        if module == "onnxscript":
            export_onnx(_model("early"), tmp_path / "m.onnx", example_inputs(_model("early"), *_batch(2, 9)))
        else:
            load_onnx(tmp_path / "m.onnx")
    assert repr(module) in str(error.value)
    assert f'pip install "mmcourse[{extra}]"' in str(error.value)


def test_torchscript_is_still_there_as_a_legacy_format(tmp_path):
    model = _model("early")
    path = export.export_torchscript(model, tmp_path / "model.ts", *_batch(2, 9))
    batch = _batch(5, 9, seed=5)
    with torch.no_grad():
        assert export.max_difference(export.load_torchscript(path)(*batch), model(*batch)) < 1e-4


def test_a_non_fusion_model_is_refused():
    with pytest.raises(TypeError, match="FusionClassifier"):
        ExportableClassifier(torch.nn.Linear(2, 2))


def test_loading_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="export_program"):
        load_program(tmp_path / "nothing.pt2")
    pytest.importorskip("onnxruntime")
    with pytest.raises(FileNotFoundError, match="export_onnx"):
        load_onnx(tmp_path / "nothing.onnx")


def test_latency_table_and_file_size(tmp_path):
    model = _model("early")
    path = tmp_path / "model.bin"
    path.write_bytes(b"x" * 3000)
    assert export.file_size_kib(path) == pytest.approx(3000 / 1024)
    batches = {1: _batch(1, 9), 64: _batch(64, 9)}
    calls = []

    def run(images, tokens, lengths):
        calls.append(len(images))
        with torch.no_grad():
            return model(images, tokens, lengths)

    rows = latency_table({"pytorch": run}, batches, repeat=2)
    assert [(r["runtime"], r["batch"]) for r in rows] == [("pytorch", 1), ("pytorch", 64)]
    assert all(
        r["ms_per_batch"] > 0 and r["ms_per_pair"] == pytest.approx(r["ms_per_batch"] / r["batch"])
        for r in rows
    )
    assert calls == [1, 1, 1, 64, 64, 64]  # one warm-up, then `repeat` timed calls per batch


def test_max_difference_refuses_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        export.max_difference(torch.zeros(2, 3), torch.zeros(3, 2))

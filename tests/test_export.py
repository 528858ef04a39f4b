"""mmcourse.export: TorchScript and ONNX give PyTorch's logits (within 1e-4), at any batch size and caption length."""

import sys

import pytest
import torch

from mmcourse import export
from mmcourse.export import (
    ExportableClassifier,
    export_onnx,
    export_torchscript,
    latency_table,
    load_onnx,
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


@pytest.mark.parametrize("name", NAMES)
def test_torchscript_matches_pytorch_at_other_batch_sizes_and_lengths(name, tmp_path):
    model = _model(name)
    path = export_torchscript(model, tmp_path / "model.ts", *_batch(2, 9))
    loaded = export.load_torchscript(path)
    for B, T in ((1, 9), (64, 9), (5, 12)):
        batch = _batch(B, T, seed=B)
        with torch.no_grad():
            assert export.max_difference(loaded(*batch), model(*batch)) < 1e-4, (name, B, T)


@pytest.mark.parametrize("name", NAMES)
def test_onnx_runtime_matches_pytorch_within_1e_4(name, tmp_path):
    pytest.importorskip("onnxruntime", reason="the optional extra mmcourse[export] is not installed")
    model = _model(name)
    path = export_onnx(model, tmp_path / "model.onnx", *_batch(2, 9))
    session = load_onnx(path)
    for B, T in ((1, 9), (64, 9), (5, 12)):
        batch = _batch(B, T, seed=B)
        with torch.no_grad():
            expected = model(*batch)
        got = run_onnx(session, *batch)
        assert got.shape == tuple(expected.shape)
        assert export.max_difference(got, expected) < 1e-4, (name, B, T)
        assert (got.argmax(axis=1) == expected.argmax(dim=1).numpy()).all()


def test_a_changed_weight_breaks_parity(tmp_path):
    """The parity check can fail: an exported model of other weights does not match."""
    pytest.importorskip("onnxruntime")
    model = _model("early")
    path = export_onnx(model, tmp_path / "model.onnx", *_batch(2, 9))
    with torch.no_grad():
        model.classifier.bias += 0.01
        expected = model(*_batch(8, 9))
    assert export.max_difference(run_onnx(load_onnx(path), *_batch(8, 9)), expected) > 1e-3


@pytest.mark.parametrize("module", ["onnxruntime", "onnx"])
def test_a_missing_optional_package_is_named_with_the_fix(module, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(ImportError) as error:
        if module == "onnx":
            export_onnx(_model("early"), tmp_path / "m.onnx", *_batch(2, 9))
        else:
            load_onnx(tmp_path / "m.onnx")
    assert repr(module) in str(error.value)
    assert 'pip install "mmcourse[export]"' in str(error.value)


def test_a_non_fusion_model_is_refused():
    with pytest.raises(TypeError, match="FusionClassifier"):
        ExportableClassifier(torch.nn.Linear(2, 2))


def test_load_onnx_names_a_missing_file(tmp_path):
    pytest.importorskip("onnxruntime")
    with pytest.raises(FileNotFoundError, match="export_onnx"):
        load_onnx(tmp_path / "nothing.onnx")


def test_latency_table_and_file_size(tmp_path):
    model = _model("early")
    path = export_torchscript(model, tmp_path / "model.ts", *_batch(2, 9))
    assert export.file_size_kib(path) == pytest.approx(path.stat().st_size / 1024)
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


def test_the_latency_benchmark_runs_and_prints_the_table(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_export_latency.py"
    spec = importlib.util.spec_from_file_location("bench_export_latency", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--model", "early", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for runtime in ("PyTorch (eager)", "TorchScript"):
        assert out.count(runtime) == 2  # batch 1 and batch 64
    assert "largest |logit difference|" in out

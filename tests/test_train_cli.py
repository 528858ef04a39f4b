"""`mmcourse train` end to end: the JSON line, the checkpoint, the one-line errors; and the benchmarks."""

import json
import subprocess
import sys

import pytest
import torch

from mmcourse.checkpoint import load_checkpoint
from mmcourse.cli import main as cli_main
from mmcourse.config import TrainConfig
from mmcourse.data import TensorBatches, to_tensors
from mmcourse.tasks import TASKS, load_task
from mmcourse.train import evaluate
from mmcourse.train_cli import make_parser


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "mmcourse.cli", "train", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = _run(
        "--task", "digits-arithmetic", "--model", "gated", "--epochs", "2", "--n-train", "300",
        "--seed", "3", "--device", "cpu", "--cooldown", "1", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out, result


def test_final_line_is_json_with_the_test_metrics(small_run):
    out, result = small_run
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["task"] == "digits-arithmetic" and summary["model"] == "gated"
    assert 0 <= summary["test_accuracy"] <= 1 and summary["seconds"] > 0
    assert summary["epochs"] == 2 and summary["n_train"] == 300 and summary["device"] == "cpu"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] == summary["test_accuracy"]
    assert summary["cooldown"] == 1 and len(metrics["history"]["train_loss"]) == 2 + 1
    assert "epoch" in result.stderr  # the progress bar, on stderr


def test_metrics_json_records_the_whole_resolved_config(small_run):
    out, _ = small_run
    metrics = json.loads((out / "metrics.json").read_text())
    config = TrainConfig.from_dict(metrics)
    assert config == TrainConfig(
        task="digits-arithmetic", model="gated", n_train=300, image_size=8, seed=3, epochs=2, lr=2e-3,
        batch_size=32, cooldown=1, model_settings={"image_channels": [32, 64], "hidden_dim": 128},
    )  # fmt: skip
    assert metrics["image_size"] == 8 and metrics["clip_grad"] is None and metrics["amp"] == "auto"


def test_checkpoint_loads_with_weights_only_and_gives_the_same_accuracy(small_run):
    out, result = small_run
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    raw = torch.load(out / "model.pt", weights_only=True)
    assert set(raw) >= {"state_dict", "config", "vocab"} and raw["config"]["name"] == "gated"
    model, vocab, _ = load_checkpoint(out / "model.pt")
    assert vocab.itos == raw["vocab"] and raw["vocab"][:2] == ["<pad>", "<unk>"]
    test = load_task("digits-arithmetic", n_train=300, seed=3)["test"]
    accuracy = evaluate(model, TensorBatches(*to_tensors(test, vocab), batch_size=500, shuffle=False))[
        "accuracy"
    ]
    assert accuracy == pytest.approx(summary["test_accuracy"], abs=1e-9)
    assert not list(out.glob(".*.tmp")), "the temporary checkpoint file must be renamed away"


def test_help_documents_every_option():
    text = make_parser().format_help()
    for option in (
        "--task",
        "--model",
        "--epochs",
        "--n-train",
        "--seed",
        "--device",
        "--out",
        "--lr",
        "--batch-size",
        "--patience",
        "--clip-grad",
        "--amp",
        "--compile",
        "--resume",
    ):
        assert option in text
    for task in TASKS:
        assert task in text.replace("-\n", "-").replace("\n", " ").replace("  ", "")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--task", "mnist"], "valid tasks: shapes, digits-arithmetic, digits-captions"),
        (["--model", "erly"], "Did you mean 'early'"),
        (["--model", "resnet"], "Valid names: image-only, text-only"),
        (["--model", "clip"], "'clip' is a dual encoder"),
        (["--epochs", "0"], "--epochs: must be a whole number >= 1"),
        (["--epochs", "many"], "--epochs: must be a whole number >= 1, but got 'many'"),
        (["--n-train", "-5"], "--n-train: must be a whole number >= 1"),
        (["--lr", "-0.1"], "--lr: must be a number > 0"),
        (["--lr", "nan"], "--lr: must be a number > 0"),
        (["--seed", "1.5"], "--seed: must be a whole number"),
        (["--cooldown", "-1"], "--cooldown: must be a whole number >= 0"),
        (["--clip-grad", "0"], "--clip-grad: must be a number > 0"),
        (["--negatives", "1.5"], "--negatives: must be a number in [0, 1]"),
        (["--task", "digits-captions", "--negatives", "0.5"], "for the shapes task only"),
        (["--amp", "maybe"], "--amp: invalid choice: 'maybe'"),
        (["--channels-last", "yes"], "--channels-last: invalid choice: 'yes'"),
        (["--task", "shapes-contrastive", "--channels-last", "on"], "channels_last=True is not available"),
        (["--device", "tpu"], "valid devices: auto, cpu, cuda, mps"),
    ],
)
def test_bad_values_give_one_line_and_exit_code_2(args, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = cli_main(["train", *args])
        raise SystemExit(code)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmcourse train: error:"), captured.err
    assert fragment in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""


def test_shapes_without_a_model_trains_the_lesson_08_matcher():
    from mmcourse.tasks import config_for, resolve_config

    assert make_parser().parse_args(["--task", "shapes"]).model is None
    config = resolve_config("shapes", None)
    assert config == config_for("shapes", "matcher") and config.model == "matcher"
    assert config.schedule == "cosine" and config.clip_grad > 0 and config.negatives == 0.5


def _benchmark(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_runs_in_its_reduced_cpu_mode(tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "gpu.json"
    results = _benchmark("gpu_check").main(["--quick", "--device", "cpu", "--steps", "2", "--out", str(out)])
    assert results[0]["device"] == "cpu" and results[0]["quick"] is True
    rows = {row["config"]: row for row in results[1:]}
    assert set(rows) == {"fp32", "bf16"} and not any("error" in row for row in rows.values())
    for row in rows.values():
        assert row["train_samples_per_s"] > 0 and 0 <= row["time_to_98_test_accuracy"] <= 1
        assert row["time_to_98_peak_rss_mb"] > 0
    assert json.loads(out.read_text()) == results


def test_pipeline_and_time_to_target_benchmarks_print_their_figures(capsys):
    torch.set_num_threads(1)
    result = _benchmark("bench_pipeline").main(
        ["--n-train", "256", "--steps", "5", "--repeat", "1", "--threads", "1"]
    )
    assert result["pipeline_ratio_course_vs_naive"] > 0 and result["train_ratio_course_vs_naive"] > 0
    assert "target >= 3x" in capsys.readouterr().out
    share = result["train_naive_samples_per_s"] / result["pipeline_naive_samples_per_s"]
    assert result["largest_possible_train_ratio"] == pytest.approx(1 / (1 - share), abs=0.01)
    run = _benchmark("bench_time_to_98").run(target=0.99, threads=1, max_epochs=1, device="cpu", n_train=256)
    assert run["epochs"] == 1 and run["seconds"] > run["data_seconds"] > 0 and run["peak_rss_mb"] > 0
    assert set(run["accuracy_by_kind"]) == {
        "match",
        "swapped",
        "reversed",
        "attribute: colour",
        "attribute: shape",
    }
    runs = _benchmark("bench_time_to_98").main(
        ["--n-train", "256", "--max-epochs", "1", "--threads", "1", "--seed", "0", "1", "--negatives", "0"]
    )
    assert [r["negatives"] for r in runs] == [0, 0] and "of 2 seeds" in capsys.readouterr().out


def test_time_to_target_benchmark_compares_the_transformer_on_the_same_recipe():
    torch.set_num_threads(1)
    run = _benchmark("bench_time_to_98").run(target=0.99, threads=1, max_epochs=1, device="cpu", n_train=128,
                                             model="transformer")  # fmt: skip
    assert run["model"] == "transformer" and run["epochs"] == 1 and run["parameters"] > 0
    assert 0 <= run["test_accuracy"] <= 1


def test_time_to_target_benchmark_runs_the_transformer_on_its_own_recipe():
    torch.set_num_threads(1)
    bench = _benchmark("bench_time_to_98")
    run = bench.run(target=0.99, threads=1, max_epochs=1, device="cpu", n_train=128, model="transformer", recipe="own")
    assert run["recipe"] == "own" and run["epochs"] == 1
    same = bench.run(target=0.99, threads=1, max_epochs=1, device="cpu", n_train=128, model="transformer")
    assert run["parameters"] > same["parameters"]  # its own recipe: the matcher's CNN (frozen) and a third block
    with pytest.raises(ValueError, match="recipe must be"):
        bench.run(max_epochs=1, n_train=128, recipe="mine")


def test_bench_channels_last_times_both_layouts_and_shared_images_in_one_run():
    torch.set_num_threads(1)
    args = ["--n-train", "300", "--steps", "2", "--repeat", "1", "--device", "cpu", "--threads", "1"]
    result = _benchmark("bench_channels_last").main(args)
    assert result["device"] == "cpu" and result["nchw_samples_per_s"] > 0 and result["channels_last_samples_per_s"] > 0
    ratio = result["channels_last_samples_per_s"] / result["nchw_samples_per_s"]
    assert abs(result["ratio_channels_last_vs_nchw"] - ratio) < 0.01
    shared = result["shared_samples_per_s"] / result["channels_last_samples_per_s"]
    assert result["shared_samples_per_s"] > 0 and abs(result["ratio_shared_vs_channels_last"] - shared) < 0.01


def test_mmcourse_train_does_not_import_the_notebook_tools(tmp_path):
    """nbformat and its validator take over a second to import; `mmcourse train` needs neither."""
    import subprocess
    import sys

    code = (
        "import sys; from mmcourse.cli import main; "
        f"code = main(['train', '--task', 'shapes', '--epochs', '1', '--n-train', '64', '--out', {str(tmp_path)!r}]); "
        "print(code, 'nbformat' in sys.modules, 'mmcourse.exercises' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "0 False False", done.stdout + done.stderr

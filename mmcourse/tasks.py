"""The course's tasks, and how a model is trained on each: `load_task`, `config_for`, `train_model`.

    data = load_task("shapes")                       # train / val / test + vocabulary
    config = config_for("shapes")                    # lesson 08's matcher and its settings
    model, metrics = train_model(config)             # build, train, test (and save, with out=...)
    model, metrics = train_model("digits-arithmetic", "early", epochs=5)   # a preset, changed
    model, metrics = train_model("shapes-contrastive")   # lesson 11's dual encoder: retrieval figures
    model, metrics = train_model("captions")             # lesson 12's role captioner: per-role figures

`TASKS` holds the facts of each task; the presets are `TrainConfig`s (mmcourse.config),
one per task for lesson 07's models and one for lesson 08's matcher on shapes, made by
`dataclasses.replace`. `mmcourse train` is a thin command line over `train_model`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .config import TrainConfig

__all__ = [
    "Task", "TASKS", "expect_task", "SHAPES", "DIGITS_ARITHMETIC", "DIGITS_CAPTIONS", "MATCHER", "CONTRASTIVE", "CAPTIONS", "PRESETS",
    "MODEL_PRESETS", "config_for", "load_task", "training_transform", "resolve_config", "train_model",
]  # fmt: skip


@dataclass(frozen=True)
class Task:
    """One of the course's tasks.

    question: what a model must answer; image_size: H = W of its images, in pixels
    (resizable: whether load_task can draw them at another size); default_model: what
    `mmcourse train --task NAME` trains; n_val, n_test: the validation and test pairs;
    objective: "classification" (a label per pair, cross-entropy), "contrastive" (true
    pairs only, InfoNCE, judged by retrieval) or "captioning" (a caption generated in a
    requested role, judged by its style and its truth). The vocabulary is always built from the
    training captions only.
    """

    name: str
    question: str
    image_size: int
    resizable: bool
    default_model: str
    n_val: int = 500
    n_test: int = 1000
    objective: str = "classification"


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("shapes", "does the caption describe the scene of two coloured shapes? (2 classes)", 16, True,
             "matcher"),
        Task("digits-arithmetic", "(digit +/- k) mod 10, from a handwritten digit and 'plus three' (10 classes)",
             8, False, "early"),
        Task("digits-captions", "the digit, from its image and a caption that is wrong 30 % of the time "
             "(10 classes)", 8, False, "early"),
        Task("shapes-contrastive", "which caption goes with which scene? (retrieval; true pairs of the full "
             "palette, 6 colours x 4 shapes)", 16, True, "clip", objective="contrastive"),
        Task("captions", "describe the scene in the requested role (generation; narrator, poet, child, painter)",
             16, True, "captioner", n_val=200, n_test=400, objective="captioning"),
    )
}  # fmt: skip

SHAPES = TrainConfig(
    task="shapes", model="attention", n_train=5000, image_size=16, epochs=20, lr=3e-3, batch_size=64
)
"""Lesson 07's fusion models on shapes: Adam at a constant rate, nothing else."""
DIGITS_ARITHMETIC = replace(
    SHAPES, task="digits-arithmetic", model="early", n_train=4000, image_size=8, lr=2e-3, batch_size=32,
    cooldown=5, model_settings={"image_channels": [32, 64], "hidden_dim": 128},
)  # fmt: skip
"""Lesson 07's models on (digit +/- k) mod 10: a wider CNN, smaller batches, 5 cooldown epochs at lr / 10."""
DIGITS_CAPTIONS = replace(DIGITS_ARITHMETIC, task="digits-captions", n_train=2000, epochs=10, cooldown=3)
MATCHER = replace(
    SHAPES, model="matcher", n_train=12000, epochs=8, batch_size=128, schedule="cosine", warmup=0.15,
    clip_grad=1.0, negatives=0.5, share_images=True, channels_last=True, target=0.986, restore_best=True,
)  # fmt: skip
"""Lesson 08's matcher on shapes: reaches >= 98 % with a warm-up + cosine schedule, clipped gradients and
AttributeNegatives (new mismatches made from half the matching pairs of each batch, each scene encoded once), the
CNN in channels-last; up to 8 epochs, stopping once validation reaches 98.6 % (98 % plus one standard error of
its 500 pairs) -- 5 to 7 epochs, about 20 s on 2 CPU cores (benchmarks/bench_time_to_98.py)."""

CONTRASTIVE = TrainConfig(
    task="shapes-contrastive",
    model="clip",
    n_train=6000,
    image_size=16,
    epochs=8,
    lr=3e-3,
    batch_size=32,
)
"""Lesson 11's dual encoder, CLIP-style: in-batch negatives (false ones masked), a learned temperature.
negatives=0.5 adds NegCLIP's word-order twins as hard negatives for half the images of each batch."""

CAPTIONS = TrainConfig(
    task="captions",
    model="captioner",
    n_train=8000,
    image_size=16,
    epochs=12,
    lr=3e-3,
    batch_size=64,
    optimizer="adamw",
    weight_decay=0.01,
    schedule="cosine",
    warmup=0.1,
)
"""Lesson 12's role captioner: AdamW, a warm-up and a cosine decay, teacher forcing on 8000 scenes for 12 epochs
(1500 steps) -- every role's captions true of their scenes on held-out scenes (benchmarks/bench_vlm.py)."""

PRESETS: dict[str, TrainConfig] = {"shapes": SHAPES, "digits-arithmetic": DIGITS_ARITHMETIC,
                                   "digits-captions": DIGITS_CAPTIONS, "shapes-contrastive": CONTRASTIVE,
                                   "captions": CAPTIONS}  # fmt: skip
"""The settings of each task for lesson 07's models (config_for swaps in the model's name)."""
DIGITS_TRANSFORMER = {"image_size": 8, "patch": 2}  # 8 x 8 digits: 16 patches of 2 x 2 pixels

SHAPES_TRANSFORMER = replace(
    MATCHER,
    model="transformer",
    epochs=80,
    lr=1e-3,
    target=0.99,
    model_settings={"stem": "matcher", "depth": 3},
)
"""Lesson 10's transformer on shapes: lesson 08's trained CNN as its frozen eyes, 3 blocks, the matcher's recipe at
lr 1e-3 for up to 80 epochs, stopping once validation reaches 99 %. It sits at the bag-of-words ceiling (2/3) for
some 30 epochs before it learns to tie the caption's word order to the positions of the objects (the curve of the
shipped run: load_asset("shapes-transformer")[2]["metrics"]["history"])."""

MODEL_PRESETS: dict[tuple[str, str], TrainConfig] = {
    ("shapes", "matcher"): MATCHER,
    ("shapes", "transformer"): SHAPES_TRANSFORMER,
    ("digits-arithmetic", "transformer"): replace(DIGITS_ARITHMETIC, model="transformer",
                                                  model_settings=DIGITS_TRANSFORMER),
    ("digits-captions", "transformer"): replace(DIGITS_CAPTIONS, model="transformer", model_settings=DIGITS_TRANSFORMER),
}  # fmt: skip
"""Settings for one model on one task, where it needs its own: lesson 08's matcher on shapes; lesson 10's
transformer on shapes (on the matcher's frozen CNN) and on the 8 x 8 digits (its patches must divide the image)."""


def expect_task(name) -> str:
    """`name` if it is a task of TASKS; else ValueError listing the tasks."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}.")
    return name


def _expect_model_for(task: str, model: str) -> str:
    """`model` if it can be trained on `task`: the captioner for "captions", a zoo model for the others."""
    from .models.zoo import expect_model_name  # here, so that importing the task table needs no torch

    if TASKS[task].objective == "captioning" or model == "captioner":
        if model != "captioner" or TASKS[task].objective != "captioning":
            raise ValueError(f"the task 'captions' trains the model 'captioner' (lesson 12), and only it; got "
                             f"task {task!r} with model {model!r}.")  # fmt: skip
        return model
    return expect_model_name(model)


def config_for(task: str, model: str | None = None) -> TrainConfig:
    """The preset TrainConfig of `model` (default: the task's default model) on `task`."""
    task = expect_task(task)
    model = _expect_model_for(task, model or TASKS[task].default_model)
    return MODEL_PRESETS.get((task, model)) or replace(PRESETS[task], model=model)


def load_task(task: str, n_train: int | None = None, seed: int = 0, image_size: int | None = None) -> dict:
    """The data of one task, ready for a FusionClassifier.

    task: a name of TASKS; n_train: training pairs (default: the task's preset); seed: the
    data's seed; image_size: H = W in pixels (shapes only; default TASKS[task].image_size).

    Returns a dict: task, seed, image_size; train, val, test (MultimodalData); vocab (built
    from the training captions); model_config (n_classes, in_channels, vocab_size: what
    build_model needs). Shapes pairs are split from one generated set; the digit tasks draw
    training, validation and test images from three disjoint pools (mmcourse.data.digit_pool).
    """
    import numpy as np

    from .data import make_digit_arithmetic, make_digit_captions, make_shapes, scene_captions, split
    from .data.roles import ROLES, make_role_captions
    from .models.captioner import caption_vocab
    from .text import Vocab

    facts = TASKS[expect_task(task)]
    n_train = PRESETS[task].n_train if n_train is None else n_train
    size = facts.image_size if image_size is None else image_size
    if size != facts.image_size and not facts.resizable:
        raise ValueError(f"image_size must be {facts.image_size} for {task!r} (its images are {facts.image_size} x "
                         f"{facts.image_size} pixels and cannot be redrawn), but got {image_size!r}.")  # fmt: skip
    if task == "shapes":
        total = n_train + facts.n_val + facts.n_test
        data = make_shapes(total, seed=seed, image_size=size)
        parts = split(data, (n_train / total, facts.n_val / total, facts.n_test / total), seed=seed)
        train, val, test = parts.train, parts.val, parts.test
    elif task == "shapes-contrastive":  # iid scenes: consecutive blocks are random splits
        pairs = scene_captions(n_train + facts.n_val + facts.n_test, seed=seed, image_size=size)
        cuts = np.cumsum([0, n_train, facts.n_val, facts.n_test])
        train, val, test = (pairs.subset(np.arange(a, b)) for a, b in zip(cuts[:-1], cuts[1:]))
    elif task == "captions":  # iid scenes and roles: consecutive blocks are random splits
        scenes = make_role_captions(n_train + facts.n_val + facts.n_test, seed=seed, image_size=size)
        cuts = np.cumsum([0, n_train, facts.n_val, facts.n_test])
        train, val, test = (scenes.subset(np.arange(a, b)) for a, b in zip(cuts[:-1], cuts[1:]))
        vocab = caption_vocab(train.captions)
        config = {"vocab_size": len(vocab), "n_roles": len(ROLES), "in_channels": 3, "image_size": size}
        return {"task": task, "seed": seed, "image_size": size, "train": train, "val": val, "test": test,
                "vocab": vocab, "model_config": config}  # fmt: skip
    else:
        make = make_digit_arithmetic if task == "digits-arithmetic" else make_digit_captions
        train = make(n_train, split="train", seed=seed)
        val = make(facts.n_val, split="val", seed=seed + 1)
        test = make(facts.n_test, split="test", seed=seed + 2)
    vocab = Vocab.build(train.captions)
    config = {
        "n_classes": len(train.label_names),
        "in_channels": int(train.images.shape[1]),
        "vocab_size": len(vocab),
    }
    return {"task": task, "seed": seed, "image_size": size, "train": train, "val": val, "test": test, "vocab": vocab,
            "model_config": config}  # fmt: skip


def training_transform(config: TrainConfig, vocab, then=None):
    """The batch transform `config` asks for: AttributeNegatives when config.negatives > 0.

    then: another transform (e.g. robust.ModalityDropout) applied after it; returned alone
    when the config asks for none (None when neither exists). config.share_images makes
    AttributeNegatives hand each image once, with an image_index (batches of five tensors;
    ModalityDropout gives such a batch one image per pair before it drops any).
    """
    if not config.negatives:
        return then
    from .data import AttributeNegatives, ChainedTransforms

    negatives = AttributeNegatives(vocab, rate=config.negatives, seed=config.seed, share_images=config.share_images)
    return negatives if then is None else ChainedTransforms(negatives, then)


def resolve_config(task="shapes", model=None, config=None, data=None, **overrides) -> TrainConfig:
    """The one TrainConfig of a run: `config` (or the preset of task and model), overrides on top,
    then what the given `data` fixes (its size, image size and seed). ValueError names a bad option."""
    if isinstance(task, TrainConfig):
        task, config = task.task, task
    config = config or config_for(task, model)
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for train_model; valid: {', '.join(sorted(names))} "
                         "(settings of the model itself go in model_settings={...}).")  # fmt: skip

    config = replace(config, **{key: value for key, value in overrides.items() if value is not None})
    expect_task(config.task)
    _expect_model_for(config.task, config.model)
    if config.negatives and config.task not in ("shapes", "shapes-contrastive"):
        raise ValueError(
            f"negatives (changed colour or shape words) are for the shapes task only, not {config.task!r}: only "
            "there is a caption with one attribute word changed guaranteed to be false."
        )
    if TASKS[config.task].objective == "contrastive":
        _expect_contrastive_config(config)
    elif TASKS[config.task].objective == "captioning":
        _expect_captioning_config(config)
    elif _is_dual_encoder(config.model) and config.task != "shapes":
        raise ValueError(f"model {config.model!r} is a dual encoder: one score per pair (how well the caption fits "
                         f"the image), enough for shapes' match / mismatch but not the 10 classes of {config.task!r}; "
                         "train it on 'shapes-contrastive' or 'shapes'.")  # fmt: skip
    if config.image_size is None:
        config = replace(config, image_size=TASKS[config.task].image_size)
    if data is not None:
        data_seed = data.get("seed", config.seed)
        config = replace(config, n_train=len(data["train"]), image_size=int(data["train"].images.shape[-1]),
                         data_seed=None if data_seed == config.seed else data_seed)  # fmt: skip
    return config


CONTRASTIVE_UNSUPPORTED = {
    "cooldown": 0,
    "share_images": False,
    "compile": False,
    "channels_last": "auto",
    "patience": None,
    "target": None,
}


def _is_dual_encoder(model: str) -> bool:
    from .models.zoo import REGISTRY

    return REGISTRY[model].build.__name__ == "build_dual_encoder"


def _numbers(metrics: dict) -> dict:
    """The plain numbers of `metrics` (what a checkpoint keeps of them)."""
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _write_run(out, net, metrics: dict, **extra) -> None:
    """out/model.pt (the model, its numbers and `extra`, atomically) and out/metrics.json (everything)."""
    from .checkpoint import save_checkpoint

    save_checkpoint(Path(out) / "model.pt", net, metrics=_numbers(metrics), **extra)
    (Path(out) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def _expect_contrastive_config(config: TrainConfig) -> None:
    """ValueError unless `config` is one a contrastive run can honour: a dual encoder, no classification-only options."""
    if not _is_dual_encoder(config.model):
        raise ValueError(f"the task {config.task!r} trains a dual encoder (model 'clip'), which embeds images and "
                         f"captions apart; model {config.model!r} scores pairs and cannot.")  # fmt: skip
    for name, default in CONTRASTIVE_UNSUPPORTED.items():
        if getattr(config, name) != default:
            raise ValueError(f"{name}={getattr(config, name)!r} is not available for the contrastive task "
                             f"{config.task!r} (its loop is mmcourse.train.fit_contrastive); leave it at {default!r}.")  # fmt: skip


def _train_contrastive(config: TrainConfig, data: dict, device, out, progress: bool, start: float):
    """train_model for a contrastive task: fit_contrastive, then retrieval figures on the test pairs."""
    import torch

    from .checkpoint import build_by_name
    from .data import TensorBatches
    from .train import calibrate_match_head, contrastive_tensors, fit_contrastive, retrieval_metrics

    tensors = {
        part: contrastive_tensors(data[part], data["vocab"], device) for part in ("train", "val", "test")
    }
    batches = TensorBatches(*tensors["train"], batch_size=config.batch_size, shuffle=True, seed=config.seed)
    torch.manual_seed(config.seed)
    net = build_by_name(config.model, **{**data["model_config"], **config.model_settings})
    options = {k: v for k, v in config.fit_options().items() if k not in CONTRASTIVE_UNSUPPORTED}
    history = fit_contrastive(net, batches, tensors["val"], device=device, progress=progress,
                              hard_negatives=config.negatives, **options)  # fmt: skip
    retrieval = retrieval_metrics(net, tensors["test"])
    val_match = calibrate_match_head(
        net, tensors["val"]
    )  # so that `mmcourse predict` can answer "match?" too
    metrics = {
        **config.to_dict(),
        **{f"test_{name}": value for name, value in retrieval.items()},
        "val_image_to_text_r1": history["val_accuracy"][-1],
        "val_match_accuracy": val_match,
        "train_loss": history["train_loss"][-1],
        "seconds": round(time.perf_counter() - start, 2),
        "device": device.type,
        "history": history.to_dict(),
    }
    if out is not None:
        _write_run(out, net, metrics, vocab=data["vocab"], task=config.task, seed=config.seed,
                   image_size=config.image_size)  # fmt: skip
    return net, metrics


CAPTIONING_UNSUPPORTED = {**CONTRASTIVE_UNSUPPORTED, "clip_grad": None, "negatives": 0.0, "restore_best": False,
                          "optimizer": "adamw", "schedule": "cosine"}  # fmt: skip


def _expect_captioning_config(config: TrainConfig) -> None:
    """ValueError for an option the captioner's loop (mmcourse.vlm.fit_captioner) does not have."""
    for name, default in CAPTIONING_UNSUPPORTED.items():
        if getattr(config, name) != default:
            raise ValueError(f"{name}={getattr(config, name)!r} is not available for the task 'captions' (its loop is "
                             f"mmcourse.vlm.fit_captioner); leave it at {default!r}.")  # fmt: skip
    if config.amp not in ("auto", False):  # "auto" (the CLI's default) and False: full precision
        raise ValueError(f"amp={config.amp!r} is not available for the task 'captions' (its loop, mmcourse.vlm."
                         "fit_captioner, trains in full precision); leave it at 'auto'.")  # fmt: skip


def _train_captioner(config: TrainConfig, data: dict, device, out, progress: bool, start: float):
    """train_model for "captions": fit_captioner, then greedy captions of the test scenes, judged per role."""
    import numpy as np
    import torch

    from .checkpoint import build_by_name
    from .data.roles import ROLES
    from .models.captioner import greedy_decode
    from .vlm import caption_report, fit_captioner, role_confusion

    torch.manual_seed(config.seed)
    net = build_by_name(config.model, **{**data["model_config"], **config.model_settings}).to(device)
    history = fit_captioner(net, data["train"], data["vocab"], epochs=config.epochs, lr=config.lr,
                            batch_size=config.batch_size, seed=config.seed, weight_decay=config.weight_decay,
                            warmup=config.warmup, device=device, progress=progress)  # fmt: skip
    test = data["test"]
    texts = greedy_decode(net, data["vocab"], torch.as_tensor(test.images), torch.as_tensor(test.labels))
    report = caption_report(texts, test)
    figures = {f"test_{name}": value for name, value in report["all"].items() if name != "n"}
    for role in ROLES:
        figures.update(
            {f"test_{role}_{name}": value for name, value in report.get(role, {}).items() if name != "n"}
        )
    metrics = {
        **config.to_dict(),
        **figures,
        "test_role_confusion": np.asarray(role_confusion(texts, test.labels)).tolist(),
        "test_examples": [{"role": ROLES[int(r)], "caption": t} for r, t in zip(test.labels[:8], texts[:8])],
        "train_loss": history["train_loss"][-1],
        "seconds": round(time.perf_counter() - start, 2),
        "device": device.type,
        "history": history,
    }
    if out is not None:
        _write_run(out, net, metrics, vocab=data["vocab"], task=config.task, seed=config.seed,
                   image_size=config.image_size, roles=list(ROLES))  # fmt: skip
    return net, metrics


def train_model(task="shapes", model=None, *, config=None, device="auto", out=None, data=None, resume=None,
                progress=True, train_transform=None, fit_options=None, **overrides):  # fmt: skip
    """Build a model, train it on a task, test it; returns (the trained model, metrics).

    task: a task name, or a whole TrainConfig (e.g. TrainConfig.from_dict of a metrics.json);
    model: a name of mmcourse.models.MODELS (default: the task's default model); config:
    a TrainConfig to start from instead of config_for(task, model); overrides: TrainConfig
    fields to change (epochs=5, lr=1e-3, n_train=..., seed=..., negatives=..., cooldown=...).
    data: a load_task result to reuse (it fixes n_train and image_size); device: "auto"
    (CUDA, then MPS, then CPU), a name or a torch.device; out: a folder -- out/model.pt
    holds the best model so far after every epoch (atomically) and out/metrics.json is
    written at the end; resume: the model.pt of a stopped run, continued exactly;
    train_transform: a transform for training batches (e.g. robust.ModalityDropout),
    applied after the config's own (AttributeNegatives); fit_options: the older spelling
    of overrides (a dict, which may also hold train_transform).

    Both phases -- the main epochs and the cooldown at lr / 10 (config.cooldown_phase()) --
    train with the same options and the same transform. metrics: the whole resolved config
    (asdict), then test_accuracy, test_loss, val_accuracy, train_loss, seconds, device,
    history (per epoch). A contrastive task (shapes-contrastive) trains with fit_contrastive
    (config.negatives: the share of images given a word-order twin as a hard negative) and
    reports retrieval instead: test_image_to_text_r1/5/10, test_text_to_image_r1/5/10,
    test_swapped_accuracy, test_reversed_accuracy, test_temperature, val_image_to_text_r1, and
    val_match_accuracy (the match / mismatch head, fitted on the validation pairs by calibrate_match_head).
    """
    import torch

    from .checkpoint import build_by_name, read_checkpoint, save_checkpoint
    from .data import TensorBatches, to_tensors
    from .env import pick_device
    from .train import evaluate, fit

    options = dict(fit_options or {})
    train_transform = options.pop("train_transform", train_transform)
    config = resolve_config(task, model, config, data, **{**options, **overrides})
    start = time.perf_counter()
    data_seed = config.seed if config.data_seed is None else config.data_seed
    data = data or load_task(config.task, config.n_train, data_seed, config.image_size)
    device = device if isinstance(device, torch.device) else pick_device(device)
    if TASKS[config.task].objective == "contrastive":
        if resume is not None or train_transform is not None:
            raise ValueError(
                f"resume and train_transform are not available for the contrastive task {config.task!r}."
            )
        return _train_contrastive(config, data, device, out, progress, start)
    if TASKS[config.task].objective == "captioning":
        if resume is not None or train_transform is not None:
            raise ValueError("resume and train_transform are not available for the task 'captions'.")
        return _train_captioner(config, data, device, out, progress, start)
    transform = training_transform(config, data["vocab"], then=train_transform)
    tensors = {part: to_tensors(data[part], data["vocab"], device) for part in ("train", "val", "test")}
    train = TensorBatches(*tensors["train"], batch_size=config.batch_size, shuffle=True, seed=config.seed)
    val = TensorBatches(*tensors["val"], batch_size=500, shuffle=False)
    test = TensorBatches(*tensors["test"], batch_size=500, shuffle=False)
    torch.manual_seed(config.seed)
    net = build_by_name(config.model, **{**data["model_config"], **config.model_settings})
    checkpoint = None if out is None else Path(out) / "model.pt"
    extra = {
        "vocab": data["vocab"],
        "task": config.task,
        "seed": config.seed,
        "image_size": config.image_size,
    }
    history = fit(net, train, val, device=device, progress=progress, train_transform=transform,
                  checkpoint=checkpoint, checkpoint_extra=extra, resume=resume, **config.fit_options())  # fmt: skip
    if config.cooldown:  # a few last epochs at a tenth of the learning rate: the weights settle, not jitter
        cooldown = config.cooldown_phase()
        history = history.then(fit(net, train, val, device=device, progress=progress, train_transform=transform,
                                   **cooldown.fit_options()))  # fmt: skip
    result = evaluate(net, test)
    metrics = {
        **config.to_dict(),
        "test_accuracy": result["accuracy"],
        "test_loss": result["loss"],
        "val_accuracy": history["val_accuracy"][-1] if history["val_accuracy"] else None,
        "train_loss": history["train_loss"][-1] if history["train_loss"] else None,
        "seconds": round(time.perf_counter() - start, 2),
        "device": device.type,
        "history": history.to_dict(),
    }
    if out is not None:  # the final model (the best epoch's, with restore_best) and its test metrics
        training = read_checkpoint(checkpoint).get("training")  # keep what --resume needs
        save_checkpoint(checkpoint, net, metrics=_numbers(metrics), training=training, **extra)
        (Path(out) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return net, metrics

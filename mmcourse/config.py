"""`TrainConfig`: everything that decides a training run, in one frozen object.

    config = TrainConfig(task="shapes", model="matcher", epochs=10, lr=3e-3)
    quick = replace(config, epochs=2)          # a variant is a replace(), never a dict merge
    asdict(config)                             # plain data: written whole into metrics.json
    TrainConfig.from_dict(json.loads(Path("runs/.../metrics.json").read_text()))   # ... and read back

One resolved config reaches every phase of a run -- the main epochs and the cooldown --
so an option such as gradient clipping cannot apply to one phase and be forgotten in
the other. `mmcourse.tasks` holds the presets per task and model (`config_for`) and
trains from a config (`train_model`). Fields are checked when the object is made, with
the same messages the command line gives.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, replace

from .validation import expect_number

__all__ = ["TrainConfig"]

SCHEDULES = (None, "cosine")
AMP_MODES = ("auto", True, False, "bf16", "fp16")
LAYOUTS = ("auto", True, False)
OPTIMIZERS = ("adam", "adamw")


@dataclass(frozen=True)
class TrainConfig:
    """The data, the model and the optimisation of one run.

    The data: task (a name of mmcourse.tasks.TASKS), n_train (training pairs),
    image_size (H = W in pixels; None: the task's own), seed (data, weights, shuffling),
    data_seed (the data's seed when it differs from `seed`; None: the same).
    The model: model (a name of mmcourse.models.MODELS), model_settings (extra settings
    for build_model, e.g. {"hidden_dim": 128}).
    The optimisation: epochs, lr (Adam's learning rate), batch_size; optimizer ("adam" or
    "adamw") and weight_decay; schedule (None: constant, "cosine": linear warm-up over
    `warmup` of the steps, then cosine decay); cooldown (extra epochs at lr / 10 after the
    main ones, with every other option the same); clip_grad (the gradients' largest global
    norm; None: no clipping); negatives (shapes: the rate of AttributeNegatives;
    shapes-contrastive: the share of images given a word-order twin as a hard negative, NegCLIP);
    share_images (shapes: AttributeNegatives hands the model each image once, with the row each pair
    shows -- the pairs it makes repeat their images, so the CNN would encode them again -- 1.5 x the
    training throughput of lesson 08's matcher on 2 cores in benchmarks/bench_channels_last.py; the
    model must take image_index, as FusionClassifier does);
    amp ("auto": bf16 on a CUDA GPU; True/"bf16", "fp16", False); compile (torch.compile);
    channels_last (the CNN's memory layout: "auto" = on a CUDA GPU; True, False -- True is faster on
    CPUs too, about 1.2 x the training throughput of lesson 08's matcher on 2 cores in
    benchmarks/bench_channels_last.py, but it changes the float rounding, so a run is reproduced
    exactly only in the layout it was made in);
    patience (stop after this many epochs without a better validation accuracy), target
    (stop once validation accuracy reaches it), restore_best (end with the best epoch's weights).
    """

    task: str = "shapes"
    model: str = "matcher"
    n_train: int = 5000
    image_size: int | None = None
    seed: int = 0
    data_seed: int | None = None
    model_settings: dict = field(default_factory=dict)
    epochs: int = 20
    lr: float = 3e-3
    batch_size: int = 64
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str | None = None
    warmup: float = 0.1
    cooldown: int = 0
    clip_grad: float | None = None
    negatives: float = 0.0
    share_images: bool = False
    amp: str | bool = "auto"
    compile: bool = False
    channels_last: str | bool = "auto"
    patience: int | None = None
    target: float | None = None
    restore_best: bool = False

    def __post_init__(self):
        for name in ("task", "model"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a name (a string), but got {getattr(self, name)!r}.")
        expect_number("n_train", self.n_train, "int", 1)
        expect_number("seed", self.seed, "int")
        expect_number("epochs", self.epochs, "int", 1)
        expect_number("lr", self.lr, "float", 0, low_open=True)
        expect_number("batch_size", self.batch_size, "int", 1)
        expect_number("weight_decay", self.weight_decay, "float", 0)
        expect_number("warmup", self.warmup, "float", 0, 1)
        expect_number("cooldown", self.cooldown, "int", 0)
        expect_number("negatives", self.negatives, "float", 0, 1, rule="a rate in [0, 1]")
        for name, kind, low in (("image_size", "int", 1), ("data_seed", "int", None), ("patience", "int", 1)):
            if getattr(self, name) is not None:
                expect_number(name, getattr(self, name), kind, low)
        if self.clip_grad is not None:
            expect_number("clip_grad", self.clip_grad, "float", 0, low_open=True)
        if self.target is not None:
            expect_number("target", self.target, "float", 0, 1)
        for name, allowed in (
            ("schedule", SCHEDULES),
            ("amp", AMP_MODES),
            ("optimizer", OPTIMIZERS),
            ("channels_last", LAYOUTS),
        ):
            value = getattr(self, name)
            if not any(
                # None, True and False by identity (so 1 is not True), the names by equality
                value is option or (isinstance(value, str) and value == option)
                for option in allowed
            ):
                raise ValueError(f"{name} must be one of {list(allowed)}, but got {value!r}.")
        if not isinstance(self.share_images, bool):
            raise TypeError(f"share_images must be True or False, but got {self.share_images!r}.")
        if not isinstance(self.model_settings, dict):
            raise TypeError(f"model_settings must be a dict, but got {type(self.model_settings).__name__}.")
        object.__setattr__(self, "model_settings", copy.deepcopy(self.model_settings))  # no shared dicts

    def fit_options(self) -> dict:
        """The keyword arguments of mmcourse.train.fit that this config sets (everything but the data)."""
        names = ("epochs", "lr", "seed", "optimizer", "weight_decay", "schedule", "warmup", "clip_grad",
                 "amp", "compile", "channels_last", "patience", "target", "restore_best")  # fmt: skip
        return {name: getattr(self, name) for name in names}

    def cooldown_phase(self) -> TrainConfig:
        """The config of the cooldown epochs: a tenth of the learning rate, a constant one, a new seed.

        Every other option -- clipping, mixed precision, compile, the optimiser, the
        negatives -- is this config's own, by construction.
        """
        if not self.cooldown:
            raise ValueError("this config has no cooldown phase (cooldown=0).")
        return replace(
            self, epochs=self.cooldown, lr=self.lr / 10, seed=self.seed + 1, schedule=None,
            cooldown=0, patience=None, target=None,
        )  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """The config recorded in a dict such as metrics.json (other keys, e.g. the results, are skipped)."""
        if not isinstance(data, dict):
            raise TypeError(
                f"data must be a dict (e.g. a parsed metrics.json), but got {type(data).__name__}."
            )
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def to_dict(self) -> dict:
        """Plain data (dataclasses.asdict): numbers, strings, None, lists and dicts, ready for json."""
        return asdict(self)

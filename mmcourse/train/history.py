"""`History`: what happened in each epoch of training, as plain lists that plot themselves."""

from __future__ import annotations

__all__ = ["History"]

METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")


class History(dict):
    """What happened in each epoch: a dict of lists, one entry per epoch, that plots itself.

    Keys: train_loss, train_accuracy (running means over the epoch's batches), val_loss,
    val_accuracy (empty without validation data), lr (the learning rate at the epoch's
    end). Attributes: `seconds` (wall time of each epoch, kept out of the dict so that two
    identical runs compare equal), `best_epoch` (0-based, by validation accuracy, or None),
    `stopped_early` (True when patience or target ended the run).
    """

    def __init__(self, data=None, seconds=None, best_epoch=None, stopped_early=False):
        super().__init__({key: [] for key in METRICS})
        for key, values in (data or {}).items():
            self[key] = list(values)
        self.seconds = list(seconds or [])
        self.best_epoch, self.stopped_early = best_epoch, stopped_early

    @property
    def epochs(self) -> int:
        return len(self["train_loss"])

    def to_dict(self) -> dict:
        """Plain data (lists of floats), e.g. for json or a checkpoint."""
        return {
            **{key: list(values) for key, values in self.items()},
            "seconds": list(self.seconds),
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
        }

    def then(self, later: History) -> History:
        """This run followed by `later` (e.g. the cooldown epochs): one History of both.

        Its best epoch is the better of the two runs' best (higher validation accuracy, then
        lower validation loss), counted from the first epoch of this run.
        """
        both = History({key: self[key] + later[key] for key in self}, self.seconds + later.seconds,
                       self.best_epoch, self.stopped_early or later.stopped_early)  # fmt: skip
        if later.best_epoch is not None:
            candidate = self.epochs + later.best_epoch
            score = lambda i: (both["val_accuracy"][i], -both["val_loss"][i])  # noqa: E731
            if both.best_epoch is None or score(candidate) > score(both.best_epoch):
                both.best_epoch = candidate
        return both

    @classmethod
    def from_dict(cls, data: dict) -> History:
        data = dict(data)
        extra = {key: data.pop(key, default) for key, default in (("seconds", []), ("best_epoch", None))}
        stopped = bool(data.pop("stopped_early", False))
        return cls(data, extra["seconds"], extra["best_epoch"], stopped)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.items() if v and k != "lr"}
        return f"History({self.epochs} epochs, {sum(self.seconds):.1f} s, last {last})"

    def plot(self, axes=None, title: str = "Learning curves"):
        """Loss and accuracy per epoch, training and validation side by side; returns the 2 Axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        epochs = range(1, self.epochs + 1)
        for ax, metric, unit in (
            (axes[0], "loss", "cross-entropy (nats)"),
            (axes[1], "accuracy", "fraction"),
        ):
            ax.plot(epochs, self[f"train_{metric}"], marker=".", label="training")
            if self[f"val_{metric}"]:
                ax.plot(
                    range(1, len(self[f"val_{metric}"]) + 1),
                    self[f"val_{metric}"],
                    marker=".",
                    label="validation",
                )
            if self.best_epoch is not None:
                ax.axvline(self.best_epoch + 1, color="gray", linestyle=":", label="best epoch")
            ax.set(xlabel="epoch", ylabel=f"{metric} ({unit})", title=f"{title}: {metric}")
            ax.legend(fontsize=8)
        axes[0].figure.tight_layout()
        return axes

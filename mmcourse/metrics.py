"""Metrics: accuracy (lesson 04 on); precision, recall, F1 and the confusion matrix (lesson 08); recall@k (lesson 11).

Written out in NumPy so they can be read; tests/test_metrics.py checks them against scikit-learn.

Inputs may be PyTorch tensors or NumPy arrays; rows are samples.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "accuracy",
    "confusion_matrix",
    "precision_recall_f1",
    "classification_report",
    "plot_confusion_matrix",
    "recall_at_k",
]


def _as_numpy(name: str, value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be an array of numbers, but has dtype {array.dtype}.")
    return array


def _class_indices(predictions, targets, n_classes):
    """(B,) predicted and true class indices as int arrays, and the number of classes K."""
    predictions, targets = _as_numpy("predictions", predictions), _as_numpy("targets", targets)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1)
    if predictions.ndim != 1 or targets.shape != predictions.shape:
        raise ValueError(
            f"predictions must be (B, K) scores or (B,) classes matching targets (B,), but got "
            f"predictions {predictions.shape} and targets {targets.shape}."
        )
    for name, values in (("predictions", predictions), ("targets", targets)):
        bad = (values != np.round(values)) | (values < 0)
        if bad.any():
            raise ValueError(f"{name} must be class indices 0, 1, 2, ..., but holds {values[bad][0]!r}.")
    predictions, targets = predictions.astype(np.int64), targets.astype(np.int64)
    if n_classes is None:
        n_classes = int(max(predictions.max(initial=-1), targets.max(initial=-1))) + 1
    elif max(predictions.max(initial=-1), targets.max(initial=-1)) >= n_classes:
        raise ValueError(
            f"n_classes is {n_classes}, but the class indices go up to "
            f"{max(predictions.max(), targets.max())}."
        )
    return predictions, targets, n_classes


def accuracy(predictions, targets) -> float:
    """Fraction of samples whose predicted class equals the target.

    predictions: (B, K) scores (logits or probabilities; the arg-max is the prediction)
    or (B,) class indices; targets: (B,) class indices. Returns a float in [0, 1].
    """
    predictions, targets, _ = _class_indices(predictions, targets, None)
    if len(targets) == 0:
        raise ValueError("accuracy of an empty batch is undefined: targets has no samples.")
    return float((predictions == targets).mean())


def confusion_matrix(predictions, targets, n_classes: int | None = None) -> np.ndarray:
    """Count how often each true class was predicted as each class.

    predictions: (B, K) scores or (B,) class indices; targets: (B,) class indices.
    Returns C: (K, K) int64, where C[i, j] = number of samples of true class i predicted as j
    (rows: truth, columns: prediction -- scikit-learn's convention). The diagonal holds
    the correct predictions; C.sum() == B.
    """
    predictions, targets, k = _class_indices(predictions, targets, n_classes)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (targets, predictions), 1)  # for each sample: counts[true, predicted] += 1
    return counts


def _safe_divide(numerator, denominator):
    """numerator / denominator, with 0 where the denominator is 0 (an undefined score counts as 0)."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def precision_recall_f1(predictions, targets, n_classes: int | None = None, average: str | None = None):
    """Precision, recall and F1 from the confusion matrix C (rows: truth, columns: prediction).

    For class c: precision = C[c, c] / (column c sum)  -- of the samples predicted c, how many are c;
                 recall    = C[c, c] / (row c sum)     -- of the samples that are c, how many were found;
                 F1        = 2 · precision · recall / (precision + recall).
    An undefined ratio (0 / 0: a class never predicted, or absent) counts as 0.

    average=None returns a dict of (K,) arrays: precision, recall, f1, support (row sums).
    average="macro" returns floats: the plain mean over classes (every class counts the same).
    average="micro" returns floats from the pooled counts over all classes; with one label per
    sample, micro precision = micro recall = micro F1 = accuracy.
    """
    if average not in (None, "macro", "micro"):
        raise ValueError(f"average must be None, 'macro' or 'micro', but got {average!r}.")
    counts = confusion_matrix(predictions, targets, n_classes)
    true_positives = np.diag(counts)
    predicted, actual = counts.sum(axis=0), counts.sum(axis=1)
    if average == "micro":
        precision = _safe_divide(true_positives.sum(), predicted.sum())
        recall = _safe_divide(true_positives.sum(), actual.sum())
    else:
        precision, recall = _safe_divide(true_positives, predicted), _safe_divide(true_positives, actual)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    if average is None:
        return {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    if average == "macro":
        precision, recall, f1 = precision.mean(), recall.mean(), f1.mean()
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "support": int(actual.sum()),
    }


def classification_report(predictions, targets, class_names=None, n_classes: int | None = None) -> str:
    """A table of precision, recall, F1 and support per class, then accuracy and the macro average."""
    if n_classes is None and class_names is not None:
        n_classes = len(class_names)
    per_class = precision_recall_f1(predictions, targets, n_classes)
    k = len(per_class["support"])
    names = [str(name) for name in class_names] if class_names is not None else [str(c) for c in range(k)]
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} names, but there are {k} classes.")
    macro = precision_recall_f1(predictions, targets, k, average="macro")
    width = max(12, *(len(name) for name in names))
    lines = [f"{'':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
    for c, name in enumerate(names):
        lines.append(
            f"{name:<{width}} {per_class['precision'][c]:>9.3f} {per_class['recall'][c]:>9.3f} "
            f"{per_class['f1'][c]:>9.3f} {per_class['support'][c]:>9d}"
        )
    lines.append("")
    lines.append(
        f"{'accuracy':<{width}} {'':>9} {'':>9} {accuracy(predictions, targets):>9.3f} {macro['support']:>9d}"
    )
    lines.append(
        f"{'macro avg':<{width}} {macro['precision']:>9.3f} {macro['recall']:>9.3f} {macro['f1']:>9.3f} "
        f"{macro['support']:>9d}"
    )
    return "\n".join(lines)


def plot_confusion_matrix(
    counts, class_names=None, normalize: bool = False, ax=None, title="Confusion matrix"
):
    """Draw a (K, K) confusion matrix (rows: truth, columns: prediction) with its counts written in.

    normalize=True shows each row as fractions of that true class (so the diagonal is the recall).
    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    counts = _as_numpy("counts", counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"counts must be a square (K, K) confusion matrix, but has shape {counts.shape}.")
    k = counts.shape[0]
    names = list(class_names) if class_names is not None else [str(c) for c in range(k)]
    values = _safe_divide(counts, counts.sum(axis=1, keepdims=True)) if normalize else counts
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.6 * k, 0.8 + 0.6 * k))
    image = ax.imshow(values, cmap="Blues", vmin=0)
    for i in range(k):
        for j in range(k):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(values[i, j])}"
            colour = "white" if values[i, j] > 0.6 * values.max() else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=9)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set(
        xlabel="predicted class",
        ylabel="true class",
        title=title + (" (fraction of each true class)" if normalize else " (counts)"),
    )
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    return ax


def recall_at_k(similarity, k: int, positive=None) -> float:
    """Retrieval's recall@k: the fraction of queries with a positive among their k best-scored candidates.

    similarity: (Q, N) scores, one row per query (an image, say) and one column per
    candidate (every caption); NumPy or torch. positive: (Q, N) bool, True where candidate
    j is a right answer for query i (default: the diagonal, for a square matrix whose row i
    and column i are one pair); every query needs at least one. k: 1..N.

    A query is found when fewer than k wrong candidates score AT LEAST as high as its best
    positive: ties count against it, so a model that scores everything alike finds nothing.
    Text -> image retrieval is recall_at_k(similarity.T, k, positive.T).
    """
    scores = _as_numpy("similarity", similarity).astype(np.float64)
    if scores.ndim != 2 or 0 in scores.shape:
        raise ValueError(f"similarity must be a (queries, candidates) matrix, but has shape {scores.shape}.")
    n_queries, n_candidates = scores.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_candidates:
        raise ValueError(
            f"k must be an integer in [1, {n_candidates}] (the number of candidates), but got {k!r}."
        )
    if positive is None:
        if n_queries != n_candidates:
            raise ValueError(
                f"similarity is {scores.shape}, not square: pass positive=(Q, N) bool to say which candidates are right."
            )
        positive = np.eye(n_queries, dtype=bool)
    positive = positive.detach().cpu().numpy() if hasattr(positive, "detach") else np.asarray(positive)
    if positive.shape != scores.shape or positive.dtype != bool:
        raise ValueError(
            f"positive must be a bool array of shape {scores.shape}, but got {positive.dtype} {positive.shape}."
        )
    if not positive.any(axis=1).all():
        row = int(np.flatnonzero(~positive.any(axis=1))[0])
        raise ValueError(f"query {row} has no positive candidate: every row of positive needs a True.")
    best_positive = np.where(positive, scores, -np.inf).max(axis=1, keepdims=True)  # (Q, 1)
    rivals = (~positive & (scores >= best_positive)).sum(axis=1)  # wrong candidates ranked level or above
    return float((rivals < k).mean())

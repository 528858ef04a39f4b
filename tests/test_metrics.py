"""mmcourse.metrics equals scikit-learn's metrics to 1e-12 on random inputs, and explains bad input."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from mmcourse.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    plot_confusion_matrix,
    precision_recall_f1,
)

CASES = [(seed, k, n) for seed, (k, n) in enumerate([(2, 50), (3, 7), (5, 200), (10, 1000), (4, 3)])]


def _random(seed, k, n):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, k, n)
    # mostly right, sometimes wrong, and some classes possibly never predicted
    predictions = np.where(rng.random(n) < 0.6, targets, rng.integers(0, max(1, k - 1), n))
    return predictions, targets


@pytest.mark.parametrize("seed, k, n", CASES)
def test_confusion_matrix_equals_sklearn(seed, k, n):
    predictions, targets = _random(seed, k, n)
    ours = confusion_matrix(predictions, targets, n_classes=k)
    assert np.array_equal(ours, sk.confusion_matrix(targets, predictions, labels=range(k)))
    assert ours.sum() == n and ours.dtype == np.int64


@pytest.mark.parametrize("seed, k, n", CASES)
@pytest.mark.parametrize("average", [None, "macro", "micro"])
def test_precision_recall_f1_equal_sklearn(seed, k, n, average):
    predictions, targets = _random(seed, k, n)
    ours = precision_recall_f1(predictions, targets, n_classes=k, average=average)
    theirs = sk.precision_recall_fscore_support(
        targets, predictions, labels=range(k), average=average, zero_division=0
    )
    for name, value in zip(["precision", "recall", "f1"], theirs[:3]):
        np.testing.assert_allclose(ours[name], value, rtol=0, atol=1e-12, err_msg=name)
    if average is None:
        assert np.array_equal(ours["support"], theirs[3])


def test_micro_scores_equal_accuracy_for_single_label_classification():
    predictions, targets = _random(7, 6, 300)
    micro = precision_recall_f1(predictions, targets, average="micro")
    assert (
        micro["precision"]
        == micro["recall"]
        == pytest.approx(micro["f1"])
        == pytest.approx(accuracy(predictions, targets), abs=1e-12)
    )


def test_scores_and_tensors_are_accepted():
    logits = torch.tensor([[2.0, 0.1], [0.3, 0.9], [0.8, 0.2]])
    targets = torch.tensor([0, 1, 1])
    assert np.array_equal(confusion_matrix(logits, targets), [[1, 0], [1, 1]])


def test_report_lists_every_class_accuracy_and_macro_average():
    predictions, targets = _random(3, 3, 90)
    report = classification_report(predictions, targets, class_names=["no match", "match", "other"])
    assert "no match" in report and "macro avg" in report and "accuracy" in report
    macro = sk.f1_score(targets, predictions, average="macro", zero_division=0)
    assert f"{macro:.3f}" in report.splitlines()[-1]


@pytest.mark.parametrize(
    "call, error, fragment",
    [
        (lambda: confusion_matrix([0, 1], [0, 1, 1]), ValueError, "matching targets"),
        (lambda: confusion_matrix([0, -1], [0, 1]), ValueError, "class indices"),
        (lambda: confusion_matrix([0, 1.5], [0, 1]), ValueError, "class indices"),
        (lambda: confusion_matrix([0, 3], [0, 1], n_classes=2), ValueError, "n_classes is 2"),
        (lambda: confusion_matrix(["a"], [0]), TypeError, "predictions must be an array of numbers"),
        (lambda: precision_recall_f1([0], [0], average="weighted"), ValueError, "'macro' or 'micro'"),
        (lambda: classification_report([0, 1], [0, 1], class_names=["x"]), ValueError, "n_classes is 1"),
        (lambda: plot_confusion_matrix(np.zeros((2, 3))), ValueError, "square"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


def test_plot_confusion_matrix_labels_axes():
    counts = np.array([[5, 1], [2, 7]])
    ax = plot_confusion_matrix(counts, ["no", "yes"], normalize=True)
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.texts] == ["0.83", "0.17", "0.22", "0.78"]

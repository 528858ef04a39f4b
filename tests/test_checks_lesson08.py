"""Lesson 08 checkers: the reference answers pass, the classic mistakes get their own hint."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mmcourse import metrics
from mmcourse.checks import ExerciseFailed, check


def _confusion(predictions, targets, n_classes):
    counts = np.zeros((n_classes, n_classes), dtype=int)
    for t, p in zip(targets, predictions):
        counts[t, p] += 1
    return counts


def _prf(predictions, targets, n_classes):
    result = metrics.precision_recall_f1(predictions, targets, n_classes)
    return result["precision"], result["recall"], result["f1"]


def _step(model, optimizer, batch, amp_dtype, max_norm):
    *inputs, targets = batch
    optimizer.zero_grad()
    with torch.autocast(
        targets.device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None
    ):
        logits = model(*inputs)
    loss = F.cross_entropy(logits.float(), targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def _fails(exercise_id, answer, fragment):
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, answer)
    assert fragment in str(info.value), str(info.value)


def test_reference_answers_pass(capsys):
    assert check("confusion_matrix", _confusion) is None
    assert check("confusion_matrix", lambda p, t, k: metrics.confusion_matrix(p, t, k)) is None
    assert check("precision_recall_f1", _prf) is None
    assert check("train_step", _step) is None
    out = capsys.readouterr().out
    assert out.count("✓") == 4


def test_confusion_matrix_mistakes():
    _fails("confusion_matrix", lambda p, t, k: _confusion(p, t, k).T, "transposed")
    _fails("confusion_matrix", lambda p, t, k: _confusion(p, t, k) * 2, "add up to")
    _fails("confusion_matrix", lambda p, t, k: np.diag(np.diag(_confusion(p, t, k))), "off-diagonal")
    _fails("confusion_matrix", lambda p, t, k: _confusion(p, t, k)[: k - 1], "should return shape")
    _fails("confusion_matrix", lambda p, t, k: None, "returned None")


def test_precision_recall_f1_mistakes():
    def swapped(p, t, k):
        precision, recall, f1 = _prf(p, t, k)
        return recall, precision, f1

    def nan_for_empty(p, t, k):
        c = _confusion(p, t, k).astype(float)
        with np.errstate(all="ignore"):
            precision, recall = np.diag(c) / c.sum(axis=0), np.diag(c) / c.sum(axis=1)
        return precision, recall, 2 * precision * recall / (precision + recall)

    def arithmetic_f1(p, t, k):
        precision, recall, _ = _prf(p, t, k)
        return precision, recall, (precision + recall) / 2

    _fails("precision_recall_f1", swapped, "swapped")
    _fails("precision_recall_f1", nan_for_empty, "NaN")
    _fails("precision_recall_f1", arithmetic_f1, "HARMONIC")
    _fails("precision_recall_f1", lambda p, t, k: _prf(p, t, k)[:2], "three arrays")


def test_train_step_mistakes():
    def no_zero_grad(model, optimizer, batch, amp_dtype, max_norm):
        *inputs, targets = batch
        with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
            logits = model(*inputs)
        loss = F.cross_entropy(logits.float(), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        return loss.item()

    def no_clip(model, optimizer, batch, amp_dtype, max_norm):
        *inputs, targets = batch
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
            loss = F.cross_entropy(model(*inputs).float(), targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    def no_autocast(model, optimizer, batch, amp_dtype, max_norm):
        return _step(model, optimizer, batch, None, max_norm)

    def clip_after_step(model, optimizer, batch, amp_dtype, max_norm):
        *inputs, targets = batch
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
            loss = F.cross_entropy(model(*inputs).float(), targets)
        loss.backward()
        optimizer.step()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        return loss.item()

    def no_step(model, optimizer, batch, amp_dtype, max_norm):
        *inputs, targets = batch
        optimizer.zero_grad()
        loss = F.cross_entropy(model(*inputs), targets)
        loss.backward()
        return loss.item()

    _fails("train_step", no_zero_grad, "zero_grad")
    _fails("train_step", no_clip, "not clipped")
    _fails("train_step", clip_after_step, "not clipped")
    _fails("train_step", no_autocast, "autocast")
    _fails("train_step", no_step, "optimizer.step()")
    _fails("train_step", lambda m, o, b, a, n: (_step(m, o, b, a, n), None)[1], "returned None")
    _fails("train_step", lambda m, o, b, a, n: _step(m, o, b, a, n) * 2, "returned loss")


# --- attribute_negatives ------------------------------------------------------------

COLOURS, SHAPES = ["red", "green", "blue", "yellow"], ["circle", "square", "triangle"]


def _negatives(captions, labels, rate, rng, *, only_matches=True, keep_copy=True, slots="attributes",
               exclude_old=True, same_group=True, changed_label=0):  # fmt: skip
    """The reference answer, with one switch per classic mistake."""
    new_captions, new_labels, sources = [], [], []
    for i, (caption, label) in enumerate(zip(captions, labels)):
        if (only_matches and label != 1) or rng.random() >= rate:
            continue
        words = caption.split()
        if slots == "attributes":
            candidates = [t for t, w in enumerate(words) if w in COLOURS or w in SHAPES]
        elif slots == "first colour":
            candidates = [1]
        else:  # any word at all
            candidates = list(range(len(words)))
        t = candidates[rng.integers(len(candidates))]
        group = COLOURS if words[t] in COLOURS else SHAPES
        if not same_group:
            group = COLOURS + SHAPES
        choices = [w for w in group if w != words[t]] if exclude_old else group
        words[t] = str(rng.choice(choices))
        new_captions.append(" ".join(words))
        new_labels.append(changed_label)
        sources.append(i)
        if keep_copy:
            new_captions.append(caption)
            new_labels.append(1)
            sources.append(i)
    return new_captions, np.array(new_labels, dtype=int), np.array(sources, dtype=int)


def test_attribute_negatives_reference_passes():
    assert check("attribute_negatives", _negatives) is None


@pytest.mark.parametrize(
    "mistake, fragment",
    [
        ({"only_matches": False}, "MISMATCHED pairs"),
        ({"keep_copy": False}, "UNCHANGED as well"),
        ({"slots": "any word"}, "colour or a shape word only"),
        ({"same_group": False}, "replace a colour by another"),
        ({"exclude_old": False}, "DIFFER from the old one"),
        ({"slots": "first colour"}, "you never changed"),
        ({"changed_label": 1}, "added 0 mismatches"),
    ],
)
def test_attribute_negatives_mistakes_get_their_hint(mistake, fragment):
    _fails("attribute_negatives", lambda *args: _negatives(*args, **mistake), fragment)


def test_attribute_negatives_rate_is_respected():
    _fails(
        "attribute_negatives", lambda c, y, rate, rng: _negatives(c, y, 1.0, rng), "nothing should be added"
    )
    _fails(
        "attribute_negatives", lambda c, y, rate, rng: _negatives(c, y, min(1.0, 4 * rate), rng), "about half"
    )


def test_attribute_negatives_wrong_return_shapes():
    _fails(
        "attribute_negatives", lambda c, y, rate, rng: _negatives(c, y, rate, rng)[:2], "return three things"
    )
    _fails("attribute_negatives", lambda c, y, rate, rng: ("a red circle", [0], [0]), "list of strings")


# --- train_step: where zero_grad goes, and what autocast wraps ------------------------------------


def _step_zero_at_end(model, optimizer, batch, amp_dtype, max_norm):
    """A valid pattern: clear the gradients after the update, ready for the next step."""
    *inputs, targets = batch
    with torch.autocast(
        targets.device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None
    ):
        logits = model(*inputs)
    loss = F.cross_entropy(logits.float(), targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def _step_model_zero_grad_keep_tensors(model, optimizer, batch, amp_dtype, max_norm):
    """Also valid: model.zero_grad(set_to_none=False) zeroes the .grad tensors instead of dropping them."""
    model.zero_grad(set_to_none=False)
    *inputs, targets = batch
    with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
        loss = F.cross_entropy(model(*inputs).float(), targets)  # the loss inside autocast is fine
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return float(loss)


def _step_backward_in_autocast(model, optimizer, batch, amp_dtype, max_norm):
    *inputs, targets = batch
    optimizer.zero_grad()
    with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
        loss = F.cross_entropy(model(*inputs).float(), targets)
        loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def _step_zero_between(model, optimizer, batch, amp_dtype, max_norm):
    *inputs, targets = batch
    with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
        logits = model(*inputs)
    loss = F.cross_entropy(logits.float(), targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def _step_clip_before_backward(model, optimizer, batch, amp_dtype, max_norm):
    *inputs, targets = batch
    optimizer.zero_grad()
    with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
        logits = model(*inputs)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    loss = F.cross_entropy(logits.float(), targets)
    loss.backward()
    optimizer.step()
    return loss.item()


@pytest.mark.parametrize(
    "answer", [_step, _step_zero_at_end, _step_model_zero_grad_keep_tensors], ids=["start", "end", "model"]
)
def test_train_step_accepts_zero_grad_at_the_start_or_the_end(answer, capsys):
    assert check("train_step", answer) is None
    assert "two steps each" in capsys.readouterr().out


def test_train_step_rejects_backward_inside_autocast():
    _fails("train_step", _step_backward_in_autocast, "loss.backward() ran inside the autocast block")


def test_train_step_names_gradients_cleared_between_backward_and_step():
    _fails("train_step", _step_zero_between, "cleared between loss.backward() and optimizer.step()")


def test_train_step_names_clipping_before_backward():
    _fails("train_step", _step_clip_before_backward, "after backward() (when the gradients exist)")


def test_train_step_stale_gradients_show_on_the_second_step():
    def no_zero_grad(model, optimizer, batch, amp_dtype, max_norm):
        *inputs, targets = batch
        loss = F.cross_entropy(model(*inputs).float(), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        return loss.item()

    with pytest.raises(ExerciseFailed) as info:
        check("train_step", no_zero_grad)
    assert "(step 2 of two in a row)" in str(info.value) and "ADDS to the .grad" in str(info.value)


# --- early_stopping -------------------------------------------------------------------------------


def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch = float("inf"), 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def early_stopping_counter(val_losses, patience, min_delta=0.0):
    """An independent correct answer: a counter of epochs without improvement, as Keras keeps it."""
    best, best_epoch, wait = None, None, 0
    for epoch, loss in enumerate(val_losses):
        if best is None or best - loss > min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait == patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _global_best(val_losses, patience, min_delta=0.0):
    return int(np.argmin(val_losses)), early_stopping(val_losses, patience, min_delta)[1]


def _versus_previous(val_losses, patience, min_delta=0.0):
    best_epoch, wait = 0, 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[epoch - 1] - min_delta:
            wait = 0
            if val_losses[epoch] < val_losses[best_epoch]:
                best_epoch = epoch
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _ties_improve(val_losses, patience, min_delta=0.0):
    best, best_epoch = float("inf"), 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


@pytest.mark.parametrize(
    "answer", [early_stopping, early_stopping_counter], ids=["epochs since best", "counter"]
)
def test_early_stopping_references_pass(answer, capsys):
    assert check("early_stopping", answer) is None
    assert "✓ early_stopping: correct on 6 curves" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda v, p, d=0.0: early_stopping(v, p, d)[::-1], "in the order (best_epoch, stop_epoch)"),
        (lambda v, p, d=0.0: tuple(e + 1 for e in early_stopping(v, p, d)), "counted from 1"),
        (_global_best, "A training loop cannot see the future"),
        (_versus_previous, "compared each loss with the PREVIOUS epoch's"),
        (_ties_improve, "an equal loss counted as an improvement"),
        (lambda v, p, d=0.0: early_stopping(v, p, 0.0), "min_delta is ignored"),
        (lambda v, p, d=0.0: early_stopping(v, p + 1, d), "one epoch too late"),
        (lambda v, p, d=0.0: early_stopping(v, max(p - 1, 1), d), "one epoch too early"),
        (lambda v, p, d=0.0: early_stopping([-x for x in v], p, d), "for a LOSS, lower is better"),
        (
            lambda v, p, d=0.0: (early_stopping(v, p, d)[1],) * 2,
            "the weights to restore are those of the best",
        ),
        (
            lambda v, p, d=0.0: (early_stopping(v, p, d)[1] - p, early_stopping(v, p, d)[1]),
            "exactly `patience`",
        ),
        (lambda v, p, d=0.0: None, "return (best_epoch, stop_epoch)"),
        (lambda v, p, d=0.0: early_stopping(v, p, d)[0], "return a pair"),
        (lambda v, p, d=0.0: (0.5, 1.0), "epochs are whole numbers"),
    ],
)
def test_early_stopping_mistakes_get_their_hint(wrong, fragment):
    _fails("early_stopping", wrong, fragment)


def test_early_stopping_agrees_with_the_library_rule():
    """The exercise's rule is mmcourse.train's EarlyStopping, run on accuracy = -loss (higher is better)."""
    from types import SimpleNamespace

    from mmcourse.checks.lesson08_full_fusion_model import _STOP_CASES
    from mmcourse.train.callbacks import EarlyStopping

    class Record(dict):
        stopped_early = False

    for _, losses, patience, _ in _STOP_CASES:
        callback, history = EarlyStopping(patience=patience), Record(val_accuracy=[])
        state = SimpleNamespace(history=history, epoch=0, best=None, stop=False)
        for epoch, loss in enumerate(losses):  # what fit's loop does after each epoch
            history["val_accuracy"].append(-loss)
            if state.best is None or -loss > state.best["val_accuracy"]:
                state.best = {"epoch": epoch, "val_accuracy": -loss}
            state.epoch = epoch + 1
            callback.on_epoch_end(state)
            if state.stop:
                break
        assert early_stopping(losses, patience) == (state.best["epoch"], epoch)

"""Lesson 05's new checkers: the reference answers pass, each plausible mistake gets its own hint.

(`lstm_cell` and `last_hidden` are tested in test_checks_part2.py.)
"""

import math

import numpy as np
import pytest
import torch

from mmcourse.checks import ExerciseFailed, ExerciseNotStarted, check


def _fails(exercise_id, answer, fragment):
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, answer)
    message = str(info.value)
    assert message.startswith(f"✗ {exercise_id}:"), message
    assert fragment in message, message
    return message


def _stub(*args, **kwargs):
    raise NotImplementedError()


# --- rnn_cell ---------------------------------------------------------------------------------


def _rnn(x, h, W_ih, W_hh, b_ih, b_hh, *, act=np.tanh, use_b_ih=True, use_b_hh=True, transpose=True,
         swap=False, use_x=True, use_h=True):  # fmt: skip
    """The reference answer, with one switch per classic mistake."""
    A, Bm = (W_hh, W_ih) if swap else (W_ih, W_hh)
    A, Bm = (A.T, Bm.T) if transpose else (A, Bm)
    z = (x @ A + (b_ih if use_b_ih else 0)) * use_x + (h @ Bm + (b_hh if use_b_hh else 0)) * use_h
    return act(z)


def _rnn_with(**switches):
    return lambda x, h, W_ih, W_hh, b_ih, b_hh: _rnn(x, h, W_ih, W_hh, b_ih, b_hh, **switches)


def _rnn_torch(x, h, W_ih, W_hh, b_ih, b_hh):
    """An independent correct answer: torch.nn.functional in float64."""
    t = [torch.tensor(a) for a in (x, h, W_ih, W_hh, b_ih, b_hh)]
    return torch.tanh(
        torch.nn.functional.linear(t[0], t[2], t[4]) + torch.nn.functional.linear(t[1], t[3], t[5])
    )


@pytest.mark.parametrize("answer", [_rnn_with(), _rnn_torch], ids=["numpy", "torch"])
def test_rnn_cell_references_pass(answer, capsys):
    assert check("rnn_cell", answer) is None
    assert "✓ rnn_cell: equal to torch.nn.RNNCell" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_rnn_with(act=lambda z: z), "the nonlinearity is missing"),
        (_rnn_with(act=lambda z: 1 / (1 + np.exp(-z))), "you used the sigmoid"),
        (_rnn_with(act=lambda z: np.maximum(z, 0)), "you used ReLU"),
        (_rnn_with(use_b_hh=False), "b_hh is missing"),
        (_rnn_with(use_b_ih=False), "b_ih is missing"),
        (_rnn_with(use_h=False), "the previous state h never reached the new state"),
        (_rnn_with(use_x=False), "the input x never reached the new state"),
        (_rnn_with(transpose=False), "your code raised ValueError"),
        (_rnn_with(swap=True), "your code raised ValueError"),
        (lambda *a: (_rnn(*a), _rnn(*a)), "a plain RNN has no cell state"),
        (lambda *a: None, "did you forget `return`?"),
    ],
)
def test_rnn_cell_mistakes_get_their_hint(wrong, fragment):
    _fails("rnn_cell", wrong, fragment)


def test_rnn_cell_untransposed_weights_are_named_when_they_happen_to_run():
    """On the square case (D = H) an untransposed W runs; the hint names the transpose."""
    from mmcourse.checks.lesson05_embeddings_lstms import _rnn_cases, _rnn_hint

    case, inputs, _ = next(c for c in _rnn_cases() if "D = H" in c[0])
    assert "without transposing them" in _rnn_hint(case, inputs, _rnn(*inputs, transpose=False))
    assert "W_ih and W_hh are swapped" in _rnn_hint(case, inputs, _rnn(*inputs, swap=True))


def test_rnn_cell_not_written_yet():
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check("rnn_cell", _stub)


# --- vanishing_length ---------------------------------------------------------------------------


def _vanishing(w, eps):
    """The reference answer: count the steps."""
    size, T, gradient = abs(w), 0, 1.0
    if size >= 1:
        return math.inf
    while gradient >= eps:
        gradient, T = gradient * size, T + 1
    return T


def _closed_form(w, eps):
    """An independent correct answer: round log(eps) / log|w| up."""
    if abs(w) >= 1:
        return math.inf
    if w == 0:
        return 1
    return math.ceil(math.log(eps) / math.log(abs(w)))


def _guarded(formula):
    """A learner who handles |w| >= 1 and w = 0 right, but gets the formula wrong."""
    return lambda w, eps: math.inf if abs(w) >= 1 else (1 if w == 0 else formula(abs(w), eps))


@pytest.mark.parametrize("answer", [_vanishing, _closed_form], ids=["loop", "closed form"])
def test_vanishing_length_references_pass(answer, capsys):
    assert check("vanishing_length", answer) is None
    assert "✓ vanishing_length: correct on" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_guarded(lambda w, eps: math.floor(math.log(eps) / math.log(w))), "one step too few"),
        (_guarded(lambda w, eps: math.log(eps) / math.log(w)), "log(eps) / log|w| = 9.966 itself"),
        (_guarded(lambda w, eps: math.ceil(math.log(eps) / math.log(w)) + 1), "one step too many"),
        (_guarded(lambda w, eps: math.ceil(math.log(eps) / math.log(w / 4))), "tanh'(0) = 1"),
        (_guarded(lambda w, eps: math.ceil(math.log(w) / math.log(eps))), "the ratio is upside down"),
        (lambda w, eps: math.ceil(math.log(eps) / math.log(w)), "take the logarithm of abs(w)"),
        (lambda w, eps: float(np.ceil(np.log(eps) / np.log(w))), "you returned NaN"),
        (lambda w, eps: 1 if w == 0 else float(np.ceil(np.log(eps) / np.log(abs(w)))), "Return math.inf"),
        (
            lambda w, eps: math.inf if abs(w) >= 1 else math.ceil(math.log(eps) / math.log(abs(w))),
            "return 1.",
        ),
        (lambda w, eps: math.inf if abs(w) >= 1 else float(np.ceil(np.log(eps) / np.log(abs(w)))), "T = 1"),
        (lambda w, eps: math.inf, "|w|^T does fall below eps, at T = 10"),
        (lambda w, eps: None, "did you forget `return`?"),
    ],
)
def test_vanishing_length_mistakes_get_their_hint(wrong, fragment):
    _fails("vanishing_length", wrong, fragment)


def test_vanishing_length_division_by_log_one_is_explained():
    """math.log(1) = 0: dividing by it raises, and the hint says to return math.inf first."""
    answer = lambda w, eps: 1 if w == 0 else math.ceil(math.log(eps) / math.log(abs(w)))  # noqa: E731
    message = _fails("vanishing_length", answer, "ZeroDivisionError")
    assert "return math.inf before taking any logarithm" in message


def test_vanishing_length_not_written_yet():
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check("vanishing_length", _stub)

"""The checkers added or mended for lessons 00-04 by issue 14: each plausible mistake gets its own hint.

The older batteries (tests/test_checks_core.py, test_checks_part1.py, test_checks_part2.py) stay as they
are; this file covers the new exercises that need a derivation, a prediction or a design, and the quirks
that learners' tries hit.
"""

import numpy as np
import pytest

import mmcourse.numpy_nn as nn
from mmcourse.checks import ExerciseFailed, check


def _rejected(exercise_id, answer):
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, answer)
    message = str(info.value)
    assert message.startswith(f"✗ {exercise_id}:")
    return message


# --- lesson 01: sigmoid in float32, the stability decision, relu with np.max ----------------------


def test_sigmoid_in_float32_passes():
    check("sigmoid", lambda Z: nn.sigmoid(Z).astype(np.float32))

    def float32_sigmoid(Z):
        Z = np.asarray(Z, dtype=np.float32)
        e = np.exp(-np.abs(Z))
        return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))

    check("sigmoid", float32_sigmoid)


@pytest.mark.parametrize(
    "overflowing",
    [
        lambda Z: 1 / (1 + np.exp(-Z)),
        lambda Z: np.where(Z >= 0, 1 / (1 + np.exp(-Z)), np.exp(Z) / (1 + np.exp(Z))),
    ],
    ids=["textbook", "np.where over both full forms"],
)
def test_a_sigmoid_that_overflows_is_rejected_with_the_reason(overflowing):
    message = _rejected("sigmoid", overflowing)
    assert "overflowed" in message and "np.where" in message and "−|z|" in message


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda Z: np.max(0, Z), "np.max(0, Z)"),
        (lambda Z: max(0, Z), "Python's max(0, Z)"),
    ],
)
def test_relu_with_max_instead_of_maximum_is_told_to_use_np_maximum(wrong, fragment):
    message = _rejected("relu", wrong)
    assert fragment in message and "np.maximum(Z, 0)" in message


# --- lesson 01: logic_gates, a design ----------------------------------------------------------------

GATES = {
    "AND": ((10.0, 10.0), -15.0),
    "OR": ((10.0, 10.0), -5.0),
    "NAND": ((-10.0, -10.0), 15.0),
    "XOR": None,
}


def test_logic_gates_accepts_any_right_design():
    check("logic_gates", GATES)
    check(
        "logic_gates",
        {
            "AND": (np.array([[6.0, 5.0]]), np.array([[-8.5]])),  # arrays of any shape, unequal weights
            "OR": ([6, 6], -3),
            "NAND": ((-5.0, -5.0), 7.5),
            "XOR": None,
        },
    )


LOGIC_GATE_MISTAKES = [
    ({**GATES, "AND": ((1.0, 1.0), 0.0)}, "ON the boundary line"),  # (0, 0) gives z = 0
    ({**GATES, "AND": ((1.0, 1.0), -1.0)}, "ON the boundary line"),  # (0, 1) and (1, 0) give z = 0
    ({**GATES, "AND": GATES["OR"]}, "your AND neuron computes OR"),
    ({**GATES, "AND": GATES["OR"], "OR": GATES["AND"]}, "swapped?"),
    ({**GATES, "NAND": GATES["AND"]}, "computes AND, NOT NAND"),
    ({**GATES, "OR": ((-10.0, -10.0), 5.0)}, "computes NOR, NOT OR"),
    ({**GATES, "AND": ((1.0, 1.0), -1.5)}, "Scale w and b together"),  # right line, only 62 % sure
    ({**GATES, "AND": ((10.0, 0.0), -5.0)}, "looks at one input only"),
    ({**GATES, "AND": ((1.0, 1.0), 5.0)}, "says 1 on every input"),
    ({**GATES, "XOR": ((10.0, 10.0), -5.0)}, "no single neuron computes XOR"),
    ({**GATES, "AND": None}, "a single neuron can compute AND"),
    ({k: v for k, v in GATES.items() if k != "XOR"}, "no 'XOR'"),
    ({**GATES, "AND": ((1.0, 1.0, 1.0), -2.0)}, "w with 3 numbers"),
    ([GATES["AND"], GATES["OR"]], "expected a dict"),
]


@pytest.mark.parametrize("wrong, fragment", LOGIC_GATE_MISTAKES, ids=[f for _, f in LOGIC_GATE_MISTAKES])
def test_logic_gates_mistakes_get_their_hint(wrong, fragment):
    assert fragment in _rejected("logic_gates", wrong)

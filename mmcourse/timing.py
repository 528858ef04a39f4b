"""Timing code fairly on a shared, noisy machine.

Other programs steal the CPU now and then, which only ever makes a run *slower*, so the
least disturbed measurement is the fastest of a few runs. Speeds are compared as ratios
of times measured in the same run, never against a number written down on another day.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["best_time"]


def best_time(function: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of `repeat` calls of `function()`, in seconds."""
    if not callable(function):
        raise TypeError(f"function must be callable, but got {type(function).__name__}.")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, but got {repeat!r}.")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)

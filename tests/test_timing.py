import time

import pytest

from mmcourse.timing import best_time


def test_best_time_keeps_the_fastest_run():
    delays = iter([0.05, 0.0, 0.05])
    assert best_time(lambda: time.sleep(next(delays)), repeat=3) < 0.04


@pytest.mark.parametrize("repeat", [0, -1, 1.5, True])
def test_best_time_rejects_a_bad_repeat(repeat):
    with pytest.raises(ValueError, match="repeat must be a positive integer"):
        best_time(lambda: None, repeat)


def test_best_time_rejects_a_non_callable():
    with pytest.raises(TypeError, match="function must be callable"):
        best_time(3)

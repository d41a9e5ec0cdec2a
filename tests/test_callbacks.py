import pytest

from ltr.callbacks import best_iteration, should_stop


@pytest.mark.parametrize("scores, rounds, higher, min_delta, expected", [
    ([0.5], 1, True, 0.0, False),
    ([0.5, 0.4], 1, True, 0.0, True),
    ([0.5, 0.6], 1, True, 0.0, False),
    ([0.5, 0.6, 0.6, 0.6], 2, True, 0.0, True),      # equal is no improvement
    ([0.5, 0.6, 0.6, 0.7], 2, True, 0.0, False),
    ([0.5, 0.51, 0.52], 2, True, 0.05, True),       # improvements below min_delta do not count
    ([1.0, 0.9, 0.95, 0.97], 2, False, 0.0, True),  # lower is better
    ([1.0, 0.9, 0.8], 2, False, 0.0, False),
])
def test_should_stop(scores, rounds, higher, min_delta, expected):
    assert should_stop(scores, rounds, higher, min_delta) is expected


def test_best_iteration_takes_the_first_best():
    assert best_iteration([0.1, 0.3, 0.3, 0.2], True) == 1
    assert best_iteration([0.3, 0.1, 0.1], False) == 1

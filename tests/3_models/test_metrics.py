"""Forecast accuracy measures on answers computed by hand."""

from __future__ import annotations

import math

import pytest

from models.metrics import bias, coverage, wape


def test_volume_weighted_errors_and_bias():
    assert wape([10, 0, 30], [12, 1, 27]) == pytest.approx((2 + 1 + 3) / 40)
    assert bias([10, 0, 30], [12, 1, 27]) == pytest.approx((2 + 1 - 3) / 40)
    assert bias([10, 10], [5, 5]) == pytest.approx(-0.5)
    assert math.isnan(wape([0, 0], [1, 1]))


def test_interval_coverage():
    assert coverage([1, 5, 10, 3], [0, 0, 0, 3], [2, 4, 10, 3]) == pytest.approx(3 / 4)  # bounds included


@pytest.mark.parametrize("call, message", [
    (lambda: wape([1, 2], [1]), "same length: actual=2, forecast=1"),
    (lambda: wape([], []), "no values to score"),
    (lambda: coverage([1], [2], [1]), "lower bound above upper bound"),
])
def test_bad_inputs_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()

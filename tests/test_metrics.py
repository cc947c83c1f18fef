"""Forecast accuracy measures on answers computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.metrics import (
    bias,
    coverage,
    mase,
    naive_scales,
    pinball,
    rmsse,
    scaled_errors,
    wape,
)

HISTORY = [2, 4, 2, 4, 2]  # one-step naive errors: 2, 2, 2, 2 -> scale |.| = 2, scale ^2 = 4


def test_scaled_errors_against_the_naive_history():
    # errors 1 and 3: mean |e| = 2, mean e^2 = 5
    assert mase([5, 5], [4, 8], HISTORY) == pytest.approx(2 / 2)
    assert rmsse([5, 5], [4, 8], HISTORY) == pytest.approx(math.sqrt(5 / 4))
    # seasonal naive with season 2: history differences are all 0 -> no scale
    assert math.isnan(rmsse([1], [1], HISTORY, season=2))
    assert mase([3, 3], [3, 3], HISTORY) == 0


def test_volume_weighted_errors_and_bias():
    assert wape([10, 0, 30], [12, 1, 27]) == pytest.approx((2 + 1 + 3) / 40)
    assert bias([10, 0, 30], [12, 1, 27]) == pytest.approx((2 + 1 - 3) / 40)
    assert bias([10, 10], [5, 5]) == pytest.approx(-0.5)
    assert math.isnan(wape([0, 0], [1, 1]))


def test_interval_coverage_and_quantile_loss():
    assert coverage([1, 5, 10, 3], [0, 0, 0, 3], [2, 4, 10, 3]) == pytest.approx(3 / 4)  # bounds included
    # q = 0.9: under-forecast by 10 costs 9, over-forecast by 10 costs 1
    assert pinball([20, 0], [10, 10], 0.9) == pytest.approx((9 + 1) / 2)
    assert pinball([5], [5], 0.1) == 0


@pytest.mark.parametrize("call, message", [
    (lambda: wape([1, 2], [1]), "same length: actual=2, forecast=1"),
    (lambda: wape([], []), "no values to score"),
    (lambda: rmsse([1], [1], [3]), "history has 1 values"),
    (lambda: coverage([1], [2], [1]), "lower bound above upper bound"),
    (lambda: pinball([1], [1], 1.5), "quantile must be in"),
])
def test_bad_inputs_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_many_series_at_once_score_as_one_at_a_time():
    rng = np.random.default_rng(3)
    history = pd.DataFrame([(s, d, float(rng.poisson(2 + s))) for s in range(4) for d in range(30)],
                           columns=["s", "date", "units"])
    history.loc[history["s"] == 3, "units"] = 5.0  # a flat series: no scale, NaN as with rmsse()
    forecasts = pd.DataFrame([(s, d, float(rng.poisson(2)), rng.uniform(0, 4)) for s in range(4) for d in range(7)],
                             columns=["s", "date", "actual", "mean"])
    got = scaled_errors(forecasts, naive_scales(history.sample(frac=1, random_state=1), ["s"]), ["s"])
    for s in range(3):
        h, f = history[history["s"] == s]["units"], forecasts[forecasts["s"] == s]
        assert got.loc[s, "rmsse"] == pytest.approx(rmsse(f["actual"], f["mean"], h))
        assert got.loc[s, "mase"] == pytest.approx(mase(f["actual"], f["mean"], h))
    assert np.isnan(got.loc[3, "rmsse"]) and np.isnan(got.loc[3, "mase"])

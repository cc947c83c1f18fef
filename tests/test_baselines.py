"""Baselines on series whose forecast is known by construction."""

from __future__ import annotations

import pandas as pd
import pytest

from models.baselines import moving_average, rolling_origins, seasonal_naive


def weekly_pattern(store: str, start: str = "2024-01-01", weeks: int = 4) -> pd.DataFrame:
    days = pd.date_range(start, periods=7 * weeks, freq="D")
    return pd.DataFrame({"store_id": store, "sku": "P1", "date": days, "units": [d.day_of_week + 1 for d in days]})


def test_seasonal_naive_repeats_last_week_by_weekday():
    history = pd.concat([weekly_pattern("L1"), weekly_pattern("L2").assign(units=5)])
    out = seasonal_naive(history, ["store_id", "sku"], horizon=10)
    l1 = out[out.store_id == "L1"].set_index("date")["p50"]
    assert len(l1) == 10 and l1.index[0] == pd.Timestamp("2024-01-29")
    assert all(l1[d] == d.day_of_week + 1 for d in l1.index)  # Monday 1 … Sunday 7, beyond one week too
    assert (out[out.store_id == "L2"].p50 == 5).all()


def test_moving_average_counts_missing_days_as_zero():
    history = weekly_pattern("L1", weeks=4)
    sparse = history[history.date.dt.day_of_week == 0]  # only Mondays recorded: 1 unit each
    out = moving_average(sparse, ["store_id", "sku"], horizon=3, window=28)
    assert out.p50.tolist() == pytest.approx([4 / 28] * 3)
    full = moving_average(history, ["store_id", "sku"], horizon=1, window=7)
    assert full.p50.iloc[0] == pytest.approx(sum(range(1, 8)) / 7)


def test_rolling_origins_and_their_limits():
    origins = rolling_origins(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"), folds=3, horizon=28)
    assert origins == [pd.Timestamp("2024-10-08"), pd.Timestamp("2024-11-05"), pd.Timestamp("2024-12-03")]
    with pytest.raises(ValueError, match="3 folds of 28 days after 56 days of history need 140 days of data; there are 100"):
        rolling_origins(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-09"), folds=3, horizon=28)


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="horizon must be at least 1"):
        seasonal_naive(weekly_pattern("L1"), ["store_id", "sku"], horizon=0)
    with pytest.raises(ValueError, match="no history to forecast from"):
        moving_average(weekly_pattern("L1").iloc[:0], ["store_id", "sku"], horizon=3)

"""The served forecaster answers from a store's published file: each SKU's days in date order,
capped at the asked horizon, unknown SKUs named, and files written in any row order read right."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from models.forecast_pyfunc import StockForecaster, StoreForecast, UnknownSeriesError
from warehouse import forecasts


def published(skus: list[str], days: int = 5) -> pd.DataFrame:
    """Forecasts whose p50 encodes the SKU and the day: SKU i's day d has p50 = 100 i + d."""
    dates = pd.date_range("2026-12-01", periods=days)
    return pd.DataFrame([{"store_id": "L1", "sku": sku, "date": date, "mean": 100 * i + d, "p10": 100 * i + d - 1,
                          "p50": 100 * i + d, "p90": 100 * i + d + 1}
                         for i, sku in enumerate(skus) for d, date in enumerate(dates)])


def test_the_asked_skus_come_back_in_order_each_with_its_own_days(settings):
    forecast = published(["A", "B", "C"])
    folder = forecasts.publish(settings, "run1", forecast.sample(frac=1, random_state=3),  # any row order
                               pd.DataFrame(columns=["store_id", "sku", "stockout_probability"]))
    model = StockForecaster.reading(folder)
    got = model.predict(None, pd.DataFrame({"store_id": "L1", "sku": ["C", "A"], "horizon_days": [2, 4]}))
    assert got["sku"].tolist() == ["C", "C", "A", "A", "A", "A"]
    assert got["p50"].tolist() == [200, 201, 0, 1, 2, 3]
    assert got["date"].tolist() == [*pd.date_range("2026-12-01", periods=2), *pd.date_range("2026-12-01", periods=4)]
    assert (got["store_id"] == "L1").all() and list(got.columns) == forecasts.COLUMNS
    with pytest.raises(UnknownSeriesError, match="L1/Z"):
        model.predict(None, pd.DataFrame({"store_id": "L1", "sku": ["A", "Z"]}))
    with pytest.raises(UnknownSeriesError, match="L9/A"):  # a store the run has no file for
        model.predict(None, pd.DataFrame({"store_id": "L9", "sku": ["A"]}))


def test_a_file_not_grouped_by_sku_is_read_right():
    """Runs published before the files were written by SKU: rows interleaved, dates out of order."""
    forecast = published(["A", "B"], days=3).sample(frac=1, random_state=1)
    store = StoreForecast.of("L1", pa.Table.from_pandas(forecast, preserve_index=False))
    got = store.rows(["B", "A"])
    assert got["p50"].tolist() == [100, 101, 102, 0, 1, 2]
    assert "A" in store and "Z" not in store and store.rows([]).empty

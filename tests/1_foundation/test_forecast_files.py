"""Forecasts published per store: swapped in whole, a failed publish changes nothing, and old runs
are pruned while the champion's stay."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from warehouse import forecasts


def frame(stores: list[str], value: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    days = pd.date_range("2026-11-01", periods=3)
    rows = [{"store_id": s, "sku": k, "date": d, "mean": value, "p10": value / 2, "p50": value, "p90": value * 2}
            for s in stores for k in ("A", "B") for d in days]
    alerts = pd.DataFrame([{"store_id": s, "sku": k, "stockout_probability": p}
                           for s in stores for k, p in (("A", 0.2), ("B", 0.9))])
    return pd.DataFrame(rows), alerts


def test_each_store_gets_its_own_file_with_odd_ids_kept_apart(settings):
    forecast, alerts = frame(["L1", "Loja 2/Centro"], 3.0)
    folder = forecasts.publish(settings, "run1", forecast, alerts)
    one = forecasts.read_store(folder, "forecast", "Loja 2/Centro")
    assert len(one) == 6 and set(one["store_id"]) == {"Loja 2/Centro"}
    assert forecasts.read_store(folder, "alerts", "L1")["sku"].tolist() == ["B", "A"]  # riskiest first
    assert forecasts.read_store(folder, "forecast", "L9") is None
    assert not (folder.stat().st_mode & 0o077)


def test_a_failed_publish_leaves_the_last_one_whole(settings):
    forecast, alerts = frame(["L1"], 3.0)
    folder = forecasts.publish(settings, "run1", forecast, alerts)
    with pytest.raises(KeyError):
        forecasts.publish(settings, "run1", forecast.drop(columns="p90"), alerts)
    assert forecasts.read_store(folder, "forecast", "L1")["p90"].eq(6.0).all()
    assert [p.name for p in forecasts.forecasts_dir(settings).iterdir()] == ["run1"]  # no staging left behind


def test_gone_forecasts_say_how_to_get_them_back(settings):
    with pytest.raises(FileNotFoundError, match="vitrine train forecast"):
        forecasts.read_store(settings.serving_dir / "forecasts" / "gone", "forecast", "L1")


def test_pruning_keeps_the_newest_runs_and_the_champions(settings):
    forecast, alerts = frame(["L1"], 1.0)
    now = time.time()
    for n in range(6):
        folder = forecasts.publish(settings, f"run{n}", forecast, alerts)
        os.utime(folder, (now - 600 + n * 60, now - 600 + n * 60))
    forecasts.prune(settings, keep={"run0"})
    left = {p.name for p in forecasts.forecasts_dir(settings).iterdir()}
    assert left == {"run0", "run3", "run4", "run5"}

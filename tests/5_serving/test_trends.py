"""Trends to promote on hand-made sales with known structure: a product that took off, one that
sells steadily, one new at the store, and one up by too few units to mean anything."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from serving import trends
from serving.live_figures import LiveFigures, UnknownError
from tests.conftest import SALES_HEADER, load, write_csv
from warehouse import figures, live_sales
from warehouse.settings import load_settings

THROUGH = date(2024, 3, 10)  # the data's last day: the window is 26/02–10/03, the baseline 29/01–25/02
WINDOW_START = THROUGH - timedelta(days=13)


def sale(n: int, sku: str, day: date, quantity: int = 1, store: str = "L1", seller: str = "V2") -> list[str]:
    price = {"P1": "40.00", "P2": "100.00", "P3": "20.00"}[sku]
    return [f"T{n}", "1", store, seller, "", sku, str(quantity), price, "0", f"{day} 11:00:00"]


@pytest.fixture
def live(client, settings, dims, tmp_path) -> LiveFigures:
    rows, days = [], [WINDOW_START - timedelta(days=28) + timedelta(days=i) for i in range(42)]
    for i, day in enumerate(days):
        in_window = day >= WINDOW_START
        if in_window or i % 4 == 0:  # P1: one every 4 days (7 in the baseline), then two a day (28)
            rows.append(sale(len(rows), "P1", day, 2 if in_window else 1))
        rows.append(sale(len(rows), "P2", day))  # P2: one a day throughout
        if in_window and i % 2 == 0:  # P3: new here, 7 in the window
            rows.append(sale(len(rows), "P3", day))
    rows.append(sale(len(rows), "P2", THROUGH, store="L2", seller="V3"))  # L2: one sale, nothing new
    report = load(client, settings, dims, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, rows))
    assert report.quarantined == 0
    figures.publish(client, settings, live_sales.exported_upto(settings))
    return LiveFigures(load_settings(home=settings.home, today=THROUGH))


def test_a_product_that_took_off_and_a_new_one_trend_a_steady_one_does_not(live):
    found = trends.store_trends(live.published, "L1", THROUGH, THROUGH)
    assert list(found["sku"]) == ["P1", "P3"]  # the most extra sales first: 24.5 × R$ 40 before 7 × R$ 20
    took_off, new = found.iloc[0], found.iloc[1]
    assert (took_off["units"], took_off["expected"], took_off["growth_pct"]) == (28, 3.5, 700.0)
    assert took_off["extra_revenue"] == pytest.approx(24.5 * live.published.products["P1"]["price"])
    assert took_off["reason"] == "28 un. em 14 dias; o ritmo das 4 semanas anteriores daria 3,5 (+700%)"
    assert (new["units"], new["expected"]) == (7, 0.0) and new["growth_pct"] != new["growth_pct"]  # NaN: no baseline
    assert new["reason"] == "7 un. em 14 dias, sem vendas nas 4 semanas anteriores"
    assert not found["on_promotion"].any()


def test_too_few_units_or_an_unknown_store(live):
    assert trends.store_trends(live.published, "L2", THROUGH, THROUGH).empty  # one unit is not a trend
    earlier = trends.store_trends(live.published, "L1", WINDOW_START - timedelta(days=1), THROUGH)
    assert "P1" not in set(earlier["sku"])  # before the take-off, P1 was steady
    with pytest.raises(UnknownError, match="unknown store 'L9'"):
        trends.store_trends(live.published, "L9", THROUGH, THROUGH)

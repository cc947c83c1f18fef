"""Alerts raised on the live path, on hand-made figures with known answers: a seller behind the
target's pace (once a day), milestones the store chose, a sale that takes a product's stock-out
risk past the store's threshold (against a real published forecast), and kinds switched off."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial

import pandas as pd
import pytest

from models.forecast_pyfunc import StockForecaster
from serving import live_alerts
from serving.live_figures import LiveFigures
from tests.conftest import SALES_HEADER, load, write_csv
from warehouse import alert_rules, alerts, figures, forecasts, live_sales
from warehouse.settings import load_settings

TODAY = date(2024, 3, 10)
# March at L1: Bruno (V2) sold R$ 200 of a R$ 180 target (111%); Ana (V1) R$ 60 of R$ 1,000, while
# the pace wanted 1,000 × 9/31 = R$ 290 by the end of yesterday: 79% behind.
MARCH = [["T1", "1", "L1", "V2", "", "P1", "2", "50.00", "0", "2024-03-02 10:00:00"],
         ["T1", "2", "L1", "V2", "", "P2", "1", "100.00", "0", "2024-03-02 10:00:00"],
         ["T2", "1", "L1", "V1", "", "P3", "3", "20.00", "0", "2024-03-05 16:00:00"]]


@pytest.fixture
def live(client, settings, dims, tmp_path):
    targets = write_csv(dims, "metas.csv", ["id_employee", "mes", "sales_target"],
                        [["V2", "2024-03", "180.00"], ["V1", "2024-03", "1000.00"]])
    load(client, settings, dims, targets, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, MARCH))
    figures.publish(client, settings, live_sales.exported_upto(settings))
    settings = load_settings(home=settings.home, today=TODAY)
    # the last run's forecast for L1: the perfume sells 1 a day (P90 2), 12 on the shelf, 7 days' lead time
    days = pd.date_range(TODAY + timedelta(days=1), periods=28)
    forecast = pd.DataFrame({"store_id": "L1", "sku": "P2", "date": days, "mean": 1.0, "p10": 0.0, "p50": 1.0, "p90": 2.0})
    advised = pd.DataFrame({"store_id": ["L1"], "sku": ["P2"], "on_hand": [12.0], "lead_time_days": [7],
                            "days_of_cover": [12], "stockout_date": [None], "stockout_probability": [0.01],
                            "order_up_to": [16.0], "order_quantity": [4]})
    folder = forecasts.publish(settings, "run1", forecast, advised)
    return settings, LiveFigures(settings), StockForecaster.reading(folder)


def sell(settings, live, forecaster, *lines: live_sales.SaleLine) -> list[dict]:
    """Post ``lines`` as the sales endpoint does; the alerts they raised."""
    rules = partial(alert_rules.rules_of, settings)
    before = live_alerts.standing(live, list(lines), rules, forecaster)
    seen = alerts.listed(settings, None, None, 0, 1000)
    live_sales.accept(settings, list(lines))
    live_alerts.raise_crossed(settings, before, live_alerts.standing(live, list(lines), rules, forecaster))
    return [a for a in alerts.listed(settings, None, None, 0, 1000) if a not in seen]


def line(ticket: str, sku: str, quantity: int, price: float, seller: str = "V2") -> live_sales.SaleLine:
    return live_sales.SaleLine(ticket, 1, "L1", seller, None, sku, quantity, price, 0.0, datetime(2024, 3, 10, 11, 0))


def test_a_seller_behind_pace_is_told_once_a_day(live):
    settings, figures_, forecaster = live
    raised = sell(settings, figures_, forecaster, line("A1", "P3", 1, 20.0))
    behind = [a for a in raised if a["kind"] == "behind_pace"]
    assert [(a["seller_id"], a["expected_sales"]) for a in behind] == [("V1", pytest.approx(290.32, abs=0.01))]
    assert behind[0]["daily_pace_needed"] == pytest.approx(940 / 22, abs=0.01)
    assert not [a for a in sell(settings, figures_, forecaster, line("A2", "P3", 1, 20.0)) if a["kind"] == "behind_pace"]


def test_the_milestones_are_the_stores_and_a_kind_switched_off_raises_nothing(live):
    settings, figures_, forecaster = live
    alert_rules.change(settings, "L1", "Gil", milestones_pct=[50, 150], enabled={"behind_pace": False})
    raised = sell(settings, figures_, forecaster, line("B1", "P1", 2, 50.0))  # Bruno: 300 of 180, past 150%
    assert [(a["kind"], a["milestone_pct"]) for a in raised if a["kind"] == "seller_milestone"] == [("seller_milestone", 150)]
    assert not [a for a in raised if a["kind"] == "behind_pace"]


def test_a_sale_that_takes_the_stock_risk_past_the_threshold_is_alerted_once(live):
    settings, figures_, forecaster = live
    alert_rules.change(settings, "L1", "Gil", stock_risk_pct=25)
    # 12 on the shelf against a week's demand of 7 ± 2.1: no risk; 4 sold leave 8, a 31% chance
    assert not [a for a in sell(settings, figures_, forecaster, line("C1", "P2", 1, 100.0)) if a["kind"] == "stock_risk"]
    raised = [a for a in sell(settings, figures_, forecaster, line("C2", "P2", 3, 100.0)) if a["kind"] == "stock_risk"]
    assert len(raised) == 1 and raised[0]["sku"] == "P2" and raised[0]["on_hand"] == 8.0
    assert raised[0]["stockout_probability"] == pytest.approx(0.31, abs=0.01)
    assert raised[0]["order_quantity"] == 4 + 4  # the run's order, plus what was sold since
    assert not [a for a in sell(settings, figures_, forecaster, line("C3", "P2", 1, 100.0)) if a["kind"] == "stock_risk"]


def test_a_screen_gets_the_newest_alerts_first(live):
    settings, figures_, forecaster = live
    sell(settings, figures_, forecaster, line("D1", "P3", 1, 20.0))  # Ana behind pace
    sell(settings, figures_, forecaster, line("D2", "P1", 2, 50.0))  # Bruno past 120%
    every = alerts.listed(settings, "L1", None, 0, 100)
    assert len(every) >= 2 and [a["alert_id"] for a in every] == sorted(a["alert_id"] for a in every)
    assert alerts.listed(settings, "L1", None, 0, 1, newest_first=True) == every[-1:]

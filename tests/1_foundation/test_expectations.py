"""Products selling below the forecast's P10 on hand-made data: the forecast made before the window
is the one judged, a product selling as expected or expected to sell little is not flagged, and
each action is there only when its numbers support it."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from tests.conftest import SALES_HEADER, load, write_csv
from warehouse import alert_rules, alerts, expectations

THROUGH = date(2024, 3, 10)
START = THROUGH - timedelta(days=6)  # the default window: 04/03 to 10/03


def forecast_rows(run_id: str, first: date, p10: dict[str, float]) -> pd.DataFrame:
    days = [first + timedelta(days=i) for i in range(28)]
    return pd.DataFrame([{"run_id": run_id, "store_id": "L1", "sku": sku, "date": day, "mean": 2 * low, "p10": low,
                          "p50": 2 * low, "p90": 3 * low} for sku, low in p10.items() for day in days])


def test_products_under_their_p10_are_flagged_with_the_actions_their_numbers_support(client, settings, dims, tmp_path):
    sales, day = [], START - timedelta(days=20)
    while day <= THROUGH:  # the lipstick P1 sells every day until the window, then stops; the perfume P2 sells daily
        if day < START:
            sales.append([f"A{day}", "1", "L1", "V2", "", "P1", "1", "40.00", "0", f"{day} 10:00:00"])
            sales.append([f"A{day}", "2", "L1", "V2", "", "P2", "1", "100.00", "0", f"{day} 10:00:00"])  # bought together
        sales.append([f"B{day}", "1", "L1", "V2", "", "P2", "2", "100.00", "0", f"{day} 11:00:00"])
        sales.append([f"C{day}", "1", "L2", "V3", "", "P1", "3", "40.00", "0", f"{day} 11:00:00"])  # L2 sells lipstick
        day += timedelta(days=1)
    stock = write_csv(dims, "estoque.csv", ["cod_loja", "cod_prod", "data", "estoque"],
                      [["L1", "P1", str(START + timedelta(days=3)), "0"]])  # the lipstick's shelf empty from 07/03
    load(client, settings, dims, stock, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, sales))
    # the run made before the window expected 1 lipstick and 1 perfume a day (P10), and little shampoo;
    # a later run (made inside the window, expecting nothing) must not be the one judged
    client.insert_df("gold.demand_forecasts", forecast_rows("before", START - timedelta(days=2),
                                                            {"P1": 1.0, "P2": 1.0, "P3": 0.2}))
    client.insert_df("gold.demand_forecasts", forecast_rows("inside", START + timedelta(days=1), {"P1": 0.0}))

    below = expectations.below_forecast(client, THROUGH, 7)
    assert [(b["store_id"], b["sku"], b["units"], b["expected_p10"]) for b in below] == [("L1", "P1", 0.0, 7.0)]
    actions = {a["action"]: a for a in below[0]["actions"]}
    assert actions["restock"]["days_out"] == 4  # 07/03 to 10/03
    assert actions["pairing"] == {"action": "pairing", "partner_sku": "P2", "partner_name": "Perfume Flor", "baskets": 20}
    assert "placement" not in actions  # the only lipstick: all of its category here as across the chain
    assert "promotion" in actions  # the lipstick's 50% margin is the catalogue's median or more, no promotion runs

    assert expectations.raise_below_forecast(client, settings, THROUGH) == 1
    assert expectations.raise_below_forecast(client, settings, THROUGH) == 0  # once per product and window
    raised = alerts.listed(settings, "L1", None, 0, 10)
    assert [(a["kind"], a["sku"], a["window_end"]) for a in raised] == [("below_forecast", "P1", "2024-03-10")]
    alert_rules.change(settings, "L1", "Gil", enabled={"below_forecast": False})
    assert expectations.raise_below_forecast(client, settings, THROUGH + timedelta(days=1)) == 0  # switched off


def test_no_forecast_before_the_window_flags_nothing(client, settings, dims, tmp_path):
    load(client, settings, dims)
    client.insert_df("gold.demand_forecasts", forecast_rows("inside", START + timedelta(days=1), {"P1": 5.0}))
    assert expectations.below_forecast(client, THROUGH, 7) == []

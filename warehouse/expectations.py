"""Products selling below what the forecast expected, with the corrective actions the data supports.

At each pipeline run, once the new sales are in, every store × SKU is checked over the store's
window (the last ``below_window_days`` of data, 7 by default): the units it sold against the P10
that the latest forecast made *before* the window started (gold.demand_forecasts keeps every
run) summed over the window's days. Selling under the P10, where the forecast expected at least
``MIN_EXPECTED`` units, is the ``below_forecast`` alert (raised into the alerts the bot pushes,
once per product and window end; the store's rules say whether and to whom).

Each alert carries the actions its own numbers support, never a fixed list:

* ``restock``: the shelf was empty on some days of the window (a stock-out, not a demand problem);
* ``promotion``: no promotion runs on it and its margin is at least the catalogue's median;
* ``placement``: its share of its category's sales at the store is under half the chain's;
* ``pairing``: the product customers most often buy it with (lift over chance, at least
  ``MIN_PAIR_BASKETS`` baskets), to offer together.
"""

from __future__ import annotations

from datetime import date, timedelta

from clickhouse_connect.driver.client import Client

from warehouse import alert_rules
from warehouse.alerts import raise_alert
from warehouse.settings import Settings

MIN_EXPECTED = 3.0  # units the P10 expected over the window: below that, selling nothing is not news
MIN_PAIR_BASKETS = 5
SHARE_DAYS = 28  # the days the store's and the chain's category shares are read over

BELOW_SQL = """
WITH (SELECT argMax(run_id, first_day) FROM (SELECT run_id, min(date) AS first_day FROM gold.demand_forecasts
                                             GROUP BY run_id) WHERE first_day <= {start:Date}) AS chosen
SELECT f.store_id AS store_id, f.sku AS sku, toFloat64(sum(f.p10)) AS p10, toFloat64(sum(f.p50)) AS p50,
       toFloat64(sum(ifNull(d.units, 0))) AS units, countIf(d.on_hand = 0) AS days_out, count() AS days
FROM (SELECT * FROM gold.demand_forecasts WHERE run_id = chosen AND date BETWEEN {start:Date} AND {through:Date}) AS f
LEFT JOIN (SELECT store_id, sku, date, units, on_hand FROM gold.daily_sales WHERE date BETWEEN {start:Date} AND {through:Date})
    AS d ON d.store_id = f.store_id AND d.sku = f.sku AND d.date = f.date
GROUP BY store_id, sku
HAVING days = {days:UInt32} AND p10 >= {min_expected:Float64} AND units < p10
ORDER BY store_id, p10 - units DESC
SETTINGS join_use_nulls = 1
"""

ACTIONS_SQL = {
    "promoted": """SELECT sku, ifNull(store_id, '') FROM silver.promotions
                   WHERE starts_on <= {through:Date} AND ends_on >= {through:Date} AND sku IN {skus:Array(String)}""",
    "margins": """SELECT sku, argMax(margin_pct, month) FROM gold.product_margin_month
                  WHERE month <= {through:Date} GROUP BY sku""",
    "shares": """
        WITH sold AS (
            SELECT d.store_id AS store_id, d.sku AS sku, ifNull(p.category, '') AS category, toFloat64(sum(d.revenue)) AS revenue
            FROM gold.daily_sales AS d LEFT JOIN silver.products AS p ON p.sku = d.sku
            WHERE d.date > {through:Date} - {share_days:UInt32} AND d.date <= {through:Date}
            GROUP BY store_id, sku, category SETTINGS join_use_nulls = 1)
        SELECT s.store_id, s.sku, s.revenue / nullIf(c.revenue, 0), ch.revenue / nullIf(cc.revenue, 0)
        FROM sold AS s
        INNER JOIN (SELECT store_id, category, sum(revenue) AS revenue FROM sold GROUP BY store_id, category) AS c
            ON c.store_id = s.store_id AND c.category = s.category
        INNER JOIN (SELECT sku, sum(revenue) AS revenue FROM sold GROUP BY sku) AS ch ON ch.sku = s.sku
        INNER JOIN (SELECT category, sum(revenue) AS revenue FROM sold GROUP BY category) AS cc ON cc.category = s.category
        WHERE s.sku IN {skus:Array(String)}""",
    "partners": """
        SELECT sku, argMax(partner, lift), argMax(baskets_together, lift) FROM (
            SELECT sku_a AS sku, sku_b AS partner, lift, baskets_together FROM gold.basket_pairs
            UNION ALL SELECT sku_b, sku_a, lift, baskets_together FROM gold.basket_pairs)
        WHERE sku IN {skus:Array(String)} AND baskets_together >= {min_baskets:UInt32} GROUP BY sku""",
}
NAMES_SQL = "SELECT sku, ifNull(name, sku) FROM silver.products WHERE sku IN {skus:Array(String)}"


def below_forecast(client: Client, through: date, window_days: int) -> list[dict]:
    """Every store × SKU that sold under the forecast's P10 over the ``window_days`` ending
    ``through``, the biggest shortfall first within each store, with its corrective actions."""
    start = through - timedelta(days=window_days - 1)
    rows = client.query(BELOW_SQL, parameters={"start": start, "through": through, "days": window_days,
                                               "min_expected": MIN_EXPECTED}).result_rows
    if not rows:
        return []
    params = {"through": through, "skus": sorted({r[1] for r in rows}), "share_days": SHARE_DAYS,
              "min_baskets": MIN_PAIR_BASKETS}
    found = {name: client.query(sql, parameters=params).result_rows for name, sql in ACTIONS_SQL.items()}
    promoted = {(sku, store) for sku, store in found["promoted"]}
    margins = dict(found["margins"])
    known = sorted(m for m in margins.values() if m is not None)
    median_margin = known[len(known) // 2] if known else None
    shares = {(store, sku): (mine, chain) for store, sku, mine, chain in found["shares"]}
    partners = {sku: (partner, baskets) for sku, partner, baskets in found["partners"]}
    named = sorted(set(params["skus"]) | {partner for partner, _ in partners.values()})  # the partners' names too
    names = dict(client.query(NAMES_SQL, parameters={"skus": named}).result_rows)
    below = []
    for store_id, sku, p10, p50, units, days_out, _ in rows:
        actions = []
        if days_out:
            actions.append({"action": "restock", "days_out": int(days_out)})
        margin = margins.get(sku)
        if (sku, "") not in promoted and (sku, store_id) not in promoted and margin is not None \
                and median_margin is not None and margin >= median_margin:
            actions.append({"action": "promotion", "margin_pct": round(float(margin), 1)})
        mine, chain = shares.get((store_id, sku), (None, None))
        if chain and (mine or 0.0) < chain / 2:
            actions.append({"action": "placement", "store_share_pct": round(100 * (mine or 0.0), 1),
                            "chain_share_pct": round(100 * chain, 1)})
        if sku in partners:
            partner, baskets = partners[sku]
            actions.append({"action": "pairing", "partner_sku": partner, "partner_name": names.get(partner, partner),
                            "baskets": int(baskets)})
        below.append({"store_id": store_id, "sku": sku, "name": names.get(sku, sku), "units": units,
                      "expected_p10": round(p10, 1), "expected_p50": round(p50, 1), "window_start": start.isoformat(),
                      "window_end": through.isoformat(), "actions": actions})
    return below


def raise_below_forecast(client: Client, settings: Settings, through: date) -> int:
    """Raise a ``below_forecast`` alert for each product under its P10 at a store whose rules keep
    the kind on (each store over its own window); returns how many are new."""
    stores = [row[0] for row in client.query("SELECT store_id FROM silver.stores").result_rows]
    rules = {store: alert_rules.rules_of(settings, store) for store in stores}
    new = 0
    for window in sorted({r.below_window_days for r in rules.values() if r.enabled["below_forecast"]}):
        for row in below_forecast(client, through, window):
            rule = rules.get(row["store_id"])
            if rule is None or not rule.enabled["below_forecast"] or rule.below_window_days != window:
                continue
            data = {key: value for key, value in row.items() if key != "store_id"}
            new += raise_alert(settings, f"below_forecast:{row['store_id']}/{row['sku']}:{row['window_end']}",
                               "below_forecast", row["store_id"], None, data)
    return new

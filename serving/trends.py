"""Trends to promote: the store's products whose last two weeks sold clearly above their own
baseline, with the reason in numbers.

The baseline is the product's daily rate over the four weeks before, at that store. Whole weeks on
both sides, so the weekday pattern cancels out. A product trends when all three hold:

* it sold at least ``MIN_UNITS`` in the window (a few units up is noise, not a trend);
* it sold at least ``MIN_GROWTH`` × the baseline (a new product, with no baseline, counts);
* the rise is unlikely by chance: the units are Poisson-distributed around the baseline, and the
  excess is at least ``MIN_Z`` standard deviations.

They are ranked by the extra sales in R$ (extra units × price), so the products worth most to push
come first.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from serving import format as fmt
from serving.live_figures import Published

WINDOW_DAYS = 14
BASELINE_DAYS = 28
MIN_UNITS = 5
MIN_GROWTH = 1.5
MIN_Z = 2.0


def store_trends(published: Published, store_id: str, through: date, today: date) -> pd.DataFrame:
    """Every trending product of the store over the ``WINDOW_DAYS`` ending ``through``, the most extra
    sales first: sku, name, category, units, expected, growth_pct, extra_revenue, price, on_promotion."""
    rows = published.store_days(store_id)
    window_start = through - timedelta(days=WINDOW_DAYS - 1)
    baseline_start = window_start - timedelta(days=BASELINE_DAYS)
    rows = rows[(rows["date"] >= pd.Timestamp(baseline_start)) & (rows["date"] <= pd.Timestamp(through))]
    if rows.empty:
        return _empty()
    recent = rows["date"] >= pd.Timestamp(window_start)
    units = rows["units"].where(recent, 0).groupby(level="sku").sum()
    before = rows["units"].where(~recent, 0).groupby(level="sku").sum()
    expected = before / BASELINE_DAYS * WINDOW_DAYS
    z = (units - expected) / np.sqrt(np.maximum(expected, 1.0))
    found = (units >= MIN_UNITS) & (units >= MIN_GROWTH * expected) & (z >= MIN_Z)
    if not found.any():
        return _empty()
    skus = units.index[found]
    products = pd.DataFrame([published.products.get(s, {"name": s, "category": "", "price": None}) for s in skus],
                            index=skus)
    promos = published.frames["promotions"]
    running = promos[(promos["starts_on"] <= today) & (promos["ends_on"] >= today) & promos["store_id"].isin(["", store_id])]
    trends = pd.DataFrame({
        "sku": skus, "name": products["name"].astype(str).to_numpy(), "category": products["category"].fillna("").to_numpy(),
        "units": units[found].astype(int).to_numpy(), "expected": expected[found].round(1).to_numpy(),
        "price": pd.to_numeric(products["price"], errors="coerce").to_numpy(),
    })
    trends["growth_pct"] = np.where(trends["expected"] > 0, (trends["units"] / trends["expected"] - 1) * 100, np.nan)
    trends["extra_revenue"] = (trends["units"] - trends["expected"]) * trends["price"].fillna(0)
    trends["on_promotion"] = trends["sku"].isin(set(running["sku"]))
    trends["reason"] = [_reason(t) for t in trends.itertuples(index=False)]
    return trends.sort_values(["extra_revenue", "units", "sku"], ascending=[False, False, True], ignore_index=True)


def _reason(trend) -> str:
    """The numbers behind a trend, in pt-BR: "18 un. em 14 dias; o ritmo anterior daria 6,0 (+200%)"."""
    if trend.expected > 0:
        said = (f"{fmt.number(trend.units)} un. em {WINDOW_DAYS} dias; o ritmo das {BASELINE_DAYS // 7} semanas "
                f"anteriores daria {fmt.number(trend.expected, 1)} (+{fmt.pct(trend.growth_pct, 0)})")
    else:
        said = f"{fmt.number(trend.units)} un. em {WINDOW_DAYS} dias, sem vendas nas {BASELINE_DAYS // 7} semanas anteriores"
    return said + (" · em promoção" if trend.on_promotion else "")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"sku": pd.Series(dtype=str), "name": pd.Series(dtype=str), "category": pd.Series(dtype=str),
                         "units": pd.Series(dtype=int), "expected": pd.Series(dtype=float),
                         "price": pd.Series(dtype=float), "growth_pct": pd.Series(dtype=float),
                         "extra_revenue": pd.Series(dtype=float), "on_promotion": pd.Series(dtype=bool),
                         "reason": pd.Series(dtype=str)})

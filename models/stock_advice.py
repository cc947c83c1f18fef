"""From a demand forecast to what a store manager acts on: days of cover, the expected stock-out
date, the risk of running out before the next delivery, and how much to order.

The policy is periodic review, order-up-to: an order placed today arrives after the lead time, and
the next chance to order comes after the review period, so today's order must cover demand over
lead time + review period at the chosen service level. Daily demand is taken as independent and
roughly normal, with its spread read from the forecast's P50 and P90 (P90 - P50 = 1.2816 σ); sums
over days add means and variances. Intermittent SKUs make this approximate, which is why the
risk is reported next to the plain P50 story (days of cover, stock-out date).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

import pandas as pd

Z_90 = NormalDist().inv_cdf(0.9)  # 1.2816: P90 sits this many σ above the median


@dataclass(frozen=True)
class StockAdvice:
    days_of_cover: int | None  # whole days the on-hand lasts at P50 demand; None = beyond the forecast
    stockout_date: date | None  # first day P50 demand exceeds what is left; None = not within the forecast
    stockout_probability: float  # P(demand over the lead time > on hand + on order)
    order_up_to: float  # stock level that covers lead time + review period at the service level
    order_quantity: int  # what to order today (whole units, never negative)


def stock_advice(origin: date, p50: Sequence[float], p90: Sequence[float], on_hand: float, lead_time_days: int,
                 review_days: int, service_level: float = 0.95, on_order: float = 0.0) -> StockAdvice:
    """Advice for one store × SKU; ``p50``/``p90`` are daily forecasts for ``origin + 1``, ``origin + 2``, …"""
    if len(p50) != len(p90):
        raise ValueError(f"p50 has {len(p50)} days and p90 {len(p90)}; they must cover the same days")
    if any(b < a for a, b in zip(p50, p90)):
        raise ValueError("p90 below p50 on some day: the forecast quantiles are crossed")
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be in (0, 1), got {service_level}")
    if on_hand < 0 or on_order < 0:
        raise ValueError(f"on hand ({on_hand}) and on order ({on_order}) cannot be negative")
    if lead_time_days < 1 or review_days < 0:
        raise ValueError(f"lead time must be >= 1 day and review period >= 0 (got {lead_time_days}, {review_days})")
    if lead_time_days + review_days > len(p50):
        raise ValueError(f"the forecast covers {len(p50)} days, shorter than lead time + review period "
                         f"({lead_time_days} + {review_days}): forecast a longer horizon")

    days_of_cover, stockout_date, left = None, None, on_hand
    for day, demand in enumerate(p50, start=1):
        left -= demand
        if left < 0:
            days_of_cover, stockout_date = day - 1, origin + timedelta(days=day)
            break

    def demand_over(days: int) -> NormalDist:
        mean = sum(p50[:days])
        sigma = math.sqrt(sum(((b - a) / Z_90) ** 2 for a, b in zip(p50[:days], p90[:days])))
        return NormalDist(mean, sigma) if sigma > 0 else _Point(mean)

    available = on_hand + on_order
    over_lead_time = demand_over(lead_time_days)
    stockout_probability = 1 - over_lead_time.cdf(available)
    protection = demand_over(lead_time_days + review_days)
    order_up_to = protection.inv_cdf(service_level)
    order_quantity = max(0, math.ceil(order_up_to - available - 1e-9))
    return StockAdvice(days_of_cover, stockout_date, stockout_probability, order_up_to, order_quantity)


class _Point:
    """A demand with no uncertainty (P90 = P50 every day): all its mass on ``mean``."""

    def __init__(self, mean: float) -> None:
        self.mean = mean

    def cdf(self, x: float) -> float:
        return 1.0 if x >= self.mean else 0.0

    def inv_cdf(self, _: float) -> float:
        return self.mean


def alert_list(forecast: pd.DataFrame, on_hand: pd.DataFrame, origin: date, lead_time_days: int | dict[str, int],
               review_days: int, service_level: float = 0.95) -> pd.DataFrame:
    """Stock advice for every store × SKU, riskiest first within each store.

    ``forecast``: ``store_id``, ``sku``, ``date`` (from ``origin + 1``), ``mean`` and ``sd`` (the
    forecaster's standard deviation of daily demand); ``on_hand``: ``store_id``, ``sku``,
    ``on_hand`` (and optionally ``on_order``, ``category``). ``lead_time_days`` is one lead time, or
    one per category (key ``"*"`` for the rest). Daily demand enters :func:`stock_advice` as normal
    with that mean and sd (its P90 is mean + 1.2816 sd). A SKU with no stock record is not advised
    on (nothing is known of its shelf), and is left out rather than guessed.
    """
    stock = on_hand.set_index(["store_id", "sku"])
    rows = []
    for (store, sku), days in forecast.sort_values("date").groupby(["store_id", "sku"], observed=True, sort=False):
        if (store, sku) not in stock.index:
            continue
        record = stock.loc[(store, sku)]
        category = str(record.get("category", "")) if hasattr(record, "get") else ""
        lead = lead_time_days if isinstance(lead_time_days, int) else lead_time_days.get(category, lead_time_days["*"])
        mean = days["mean"].to_numpy(float)
        advice = stock_advice(origin, list(mean), list(mean + Z_90 * days["sd"].to_numpy(float)),
                              on_hand=float(max(record["on_hand"], 0)), lead_time_days=lead, review_days=review_days,
                              service_level=service_level, on_order=float(record.get("on_order", 0.0)))
        rows.append({"store_id": store, "sku": sku, "on_hand": float(record["on_hand"]), "lead_time_days": lead,
                     "days_of_cover": advice.days_of_cover, "stockout_date": advice.stockout_date,
                     "stockout_probability": advice.stockout_probability, "order_up_to": advice.order_up_to,
                     "order_quantity": advice.order_quantity})
    columns = ["store_id", "sku", "on_hand", "lead_time_days", "days_of_cover", "stockout_date",
               "stockout_probability", "order_up_to", "order_quantity"]
    alerts = pd.DataFrame(rows, columns=columns)
    alerts["cover_rank"] = alerts["days_of_cover"].fillna(10 ** 6)
    return alerts.sort_values(["store_id", "stockout_probability", "cover_rank"], ascending=[True, False, True]) \
        .drop(columns="cover_rank").reset_index(drop=True)

"""What a posted sale is judged against once it is stored: the alerts it makes true.

Evaluated in the ``sales`` request itself, right after the lines are on disk, so an alert exists
within milliseconds of the acknowledgment and the bot can deliver it at its next look (every
``VITRINE_BOT_ALERT_SECONDS``). The kinds and their thresholds are the store's rules
(warehouse/alert_rules.py); a kind switched off raises nothing.

* ``seller_milestone``: a sale takes a seller's month past a milestone of their target (the
  highest one crossed; each once a month);
* ``team_milestone``: the same for the store's sellers together, against the sum of their targets;
* ``behind_pace``: a seller of the store whose month so far is more than the rule's share below
  the target's pace (the target × the days gone / the days of the month); once a day each, at the
  store's first sale of the day;
* ``stock_risk``: a sale takes a product's chance of running out before its next delivery past the
  rule's threshold: the last forecast run's stock, less what was sold since, against the forecast
  demand over the lead time (models/stock_advice.py); once a day per product.

Each is stored once under a key naming what happened (warehouse/alerts.py), so a replayed sale
raises nothing new.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from models.stock_advice import stock_advice
from serving.live_figures import LiveFigures, UnknownError
from warehouse import live_sales
from warehouse.alert_rules import AlertRules
from warehouse.alerts import raise_alert
from warehouse.settings import Settings

Standing = dict[tuple[str, str], tuple[object, dict]]  # (kind, seller, store or product) → (level, what to tell)


def reached(attainment_pct: float | None, milestones: tuple[int, ...]) -> int | None:
    """The highest milestone ``attainment_pct`` has reached (None: none, or no target)."""
    if attainment_pct is None:
        return None
    passed = [m for m in milestones if attainment_pct >= m]
    return passed[-1] if passed else None


def standing(figures: LiveFigures, lines: list[live_sales.SaleLine], rules: Callable[[str], AlertRules],
             forecaster=None) -> Standing:
    """Where each seller, team and product of ``lines`` stands now against its store's rules, with
    the figures behind it (one team summary per store serves every kind)."""
    today = figures.today()
    month = today.replace(day=1).isoformat()
    sellers = {line.seller_id for line in lines}
    found: Standing = {}
    for store_id in sorted({line.store_id for line in lines}):
        rule = rules(store_id)
        try:
            team = figures.team_summary(store_id)
        except UnknownError:  # a store the published figures do not know yet: no target to judge
            continue
        for s in team:
            if s.seller_id in sellers and rule.enabled["seller_milestone"]:
                found[("seller_milestone", s.seller_id)] = (reached(s.attainment_pct, rule.milestones_pct), {
                    "store_id": store_id, "seller_id": s.seller_id, "name": s.name, "sales_month": s.sales_month,
                    "target": s.target, "month": month})
            behind = _behind(s.sales_month, s.target, today, rule.behind_pace_pct)
            if behind is not None and rule.enabled["behind_pace"]:
                found[("behind_pace", s.seller_id)] = (True, {
                    "store_id": store_id, "seller_id": s.seller_id, "name": s.name, "sales_month": s.sales_month,
                    "target": s.target, "month": month, "expected_sales": behind,
                    "daily_pace_needed": s.daily_pace_needed, "days_left": s.days_left, "day": today.isoformat()})
        targeted = [s for s in team if s.target]
        target = sum(s.target for s in targeted)
        if target and rule.enabled["team_milestone"]:
            sales = sum(s.sales_month for s in targeted)
            found[("team_milestone", store_id)] = (reached(100 * sales / target, rule.milestones_pct), {
                "store_id": store_id, "seller_id": None, "name": store_id, "sales_month": round(sales, 2),
                "target": round(target, 2), "month": month})
        if forecaster is not None and rule.enabled["stock_risk"]:
            skus = sorted({line.sku for line in lines if line.store_id == store_id and line.quantity > 0})
            for sku, (risky, data) in _stock(figures, forecaster, store_id, skus, rule.stock_risk_pct, today).items():
                found[("stock_risk", f"{store_id}/{sku}")] = (risky, data)
    return found


def _behind(sales_month: float, target: float | None, today: date, behind_pct: float) -> float | None:
    """The sales the target's pace expected by the end of yesterday, when the month so far trails
    it by more than ``behind_pct``; None otherwise (no target, or the month's first day)."""
    if not target or today.day == 1:
        return None
    expected = target * (today.day - 1) / calendar.monthrange(today.year, today.month)[1]
    return round(expected, 2) if sales_month < expected * (1 - behind_pct / 100) else None


def _stock(figures: LiveFigures, forecaster, store_id: str, skus: list[str], threshold_pct: float, today: date
           ) -> dict[str, tuple[bool, dict]]:
    """For each of ``skus`` the forecast run advised on: whether its chance of running out before the
    next delivery is at or past the threshold, with the stock left after the sales posted since."""
    try:
        advised = forecaster.alerts(store_id)
        forecast = forecaster.store(store_id)
    except FileNotFoundError:  # the run's files were removed: no stock to judge
        return {}
    advised = advised.assign(sku=advised["sku"].astype(str)).set_index("sku")
    posted = live_sales.lines_after(figures.settings, figures.published.meta["live_upto"], store_id=store_id)
    sold = pd.Series([r["quantity"] for r in posted], index=[r["sku"] for r in posted], dtype=float)
    sold = sold.groupby(level=0).sum()
    found = {}
    for sku in skus:
        if sku not in advised.index or sku not in forecast or "lead_time_days" not in advised.columns:
            continue
        run = advised.loc[sku]
        days = forecast.rows([sku])
        days = days[pd.to_datetime(days["date"]).dt.date > today]
        lead = int(run["lead_time_days"])
        if len(days) < lead:
            continue
        p50 = days["p50"].to_numpy(float)
        left = max(float(run["on_hand"]) - float(sold.get(sku, 0.0)), 0.0)
        chance = stock_advice(today, list(p50), list(np.maximum(days["p90"].to_numpy(float), p50)), left, lead, 0
                              ).stockout_probability
        found[sku] = (chance * 100 >= threshold_pct, {
            "store_id": store_id, "seller_id": None, "name": figures.published.products.get(sku, {}).get("name", sku),
            "sku": sku, "on_hand": round(left, 1), "stockout_probability": round(chance, 3), "lead_time_days": lead,
            "order_quantity": int(run["order_quantity"]) + int(sold.get(sku, 0)), "day": today.isoformat()})
    return found


def raise_crossed(settings: Settings, before: Standing, after: Standing) -> int:
    """Raise an alert for each threshold crossed between ``before`` and ``after`` the sale (a level
    reached earlier, or in the warehouse's data, is not news; a seller behind pace is told once a
    day whatever the sale); returns how many are new."""
    new = 0
    for (kind, who), (level, figures) in after.items():
        previous = before.get((kind, who), (None, {}))[0]
        data = {key: value for key, value in figures.items() if key not in ("store_id", "seller_id")}
        if kind in ("seller_milestone", "team_milestone"):
            if level is None or (previous is not None and previous >= level):
                continue
            key, data = f"{kind}:{who}:{figures['month'][:7]}:{level}", {**data, "milestone_pct": level}
        elif kind == "behind_pace":
            key = f"{kind}:{who}:{figures['day']}"
        else:  # stock_risk
            if not level or previous:
                continue
            key = f"{kind}:{who}:{figures['day']}"
        new += raise_alert(settings, key, kind, figures["store_id"], figures["seller_id"], data)
    return new

"""What a posted sale is judged against once it is stored: the alerts it makes true.

Evaluated in the ``sales`` request itself, right after the lines are on disk, so an alert exists
within milliseconds of the acknowledgment and the bot can deliver it at its next look (every
``VITRINE_BOT_ALERT_SECONDS``). Kinds:

* ``seller_milestone``: a sale takes a seller's month past 50, 75, 100 or 120% of their target
  (the highest one crossed; each once a month);
* ``team_milestone``: the same for the store's sellers together, against the sum of their targets.

Each is stored once under a key naming what happened (warehouse/alerts.py), so a replayed sale
raises nothing new.
"""

from __future__ import annotations

from serving.live_figures import LiveFigures, UnknownError
from warehouse import live_sales
from warehouse.alerts import raise_alert
from warehouse.settings import Settings

MILESTONES = (50, 75, 100, 120)  # percent of the month's target


def reached(attainment_pct: float | None) -> int | None:
    """The highest milestone ``attainment_pct`` has reached (None: none, or no target)."""
    if attainment_pct is None:
        return None
    passed = [m for m in MILESTONES if attainment_pct >= m]
    return passed[-1] if passed else None


Standing = dict[tuple[str, str], tuple[int | None, dict]]  # (kind, seller or store) → (milestone, what to tell)


def standing(figures: LiveFigures, lines: list[live_sales.SaleLine]) -> Standing:
    """The milestone each seller and store team of ``lines`` stands at now, with the figures behind
    it (one team summary per store serves both)."""
    month = figures.today().replace(day=1).isoformat()
    sellers = {line.seller_id for line in lines}
    found: Standing = {}
    for store_id in sorted({line.store_id for line in lines}):
        try:
            team = figures.team_summary(store_id)
        except UnknownError:  # a store the published figures do not know yet: no target to judge
            continue
        for summary in team:
            if summary.seller_id in sellers:
                found[("seller_milestone", summary.seller_id)] = (reached(summary.attainment_pct), {
                    "store_id": store_id, "seller_id": summary.seller_id, "name": summary.name,
                    "sales_month": summary.sales_month, "target": summary.target, "month": month})
        targeted = [s for s in team if s.target]
        target = sum(s.target for s in targeted)
        if target:
            sales = sum(s.sales_month for s in targeted)
            found[("team_milestone", store_id)] = (reached(100 * sales / target), {
                "store_id": store_id, "seller_id": None, "name": store_id, "sales_month": round(sales, 2),
                "target": round(target, 2), "month": month})
    return found


def raise_crossed(settings: Settings, before: Standing, after: Standing) -> int:
    """Raise an alert for each milestone crossed between ``before`` and ``after`` the sale (a level
    reached earlier, or in the warehouse's data, is not news); returns how many are new."""
    new = 0
    for (kind, who), (milestone, figures) in after.items():
        previous = before.get((kind, who), (None, {}))[0]
        if milestone is None or (previous is not None and previous >= milestone):
            continue
        data = {key: value for key, value in figures.items() if key not in ("store_id", "seller_id")}
        new += raise_alert(settings, f"{kind}:{who}:{figures['month'][:7]}:{milestone}", kind, figures["store_id"],
                           figures["seller_id"], {**data, "milestone_pct": milestone})
    return new

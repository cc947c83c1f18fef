"""A shaped report's content: the chosen figures of each seller of the store and of the team, over
the period holding yesterday (warehouse/reports.py says what a report is; the figures are the
sales history's, serving/sales_history.py, so both always agree)."""

from __future__ import annotations

from datetime import timedelta

from serving import sales_history
from serving.live_figures import LiveFigures
from warehouse.reports import Report


def content(figures: LiveFigures, store_id: str, report: Report) -> dict:
    """The report's table: one row per seller of the store (best sales first), then the team's."""
    published = figures.published
    store = published.store(store_id)
    yesterday = figures.today() - timedelta(days=1)
    team = published.store_sellers.get(store_id, [])
    rows = []
    for seller_id in team:
        period = sales_history.history(figures, [seller_id], report.grain, yesterday, yesterday)["periods"][-1]
        rows.append({"seller_id": seller_id, "name": str(published.sellers[seller_id]["name"]),
                     "values": {m: period[m] for m in report.metrics}})
    rows.sort(key=lambda r: -(r["values"].get("sales") or 0))
    whole = sales_history.history(figures, team, report.grain, yesterday, yesterday, store_id)["periods"][-1]
    rows.append({"seller_id": None, "name": f"Equipe {store['name']}", "values": {m: whole[m] for m in report.metrics}})
    return {"store_id": store_id, "name": report.name, "grain": report.grain, "period_start": whole["start"],
            "period_end": whole["end"], "in_progress": whole["in_progress"], "metrics": list(report.metrics),
            "rows": rows}

"""The short report printed after a load: rows loaded and quarantined, top stores and SKUs."""

from __future__ import annotations

import pandas as pd
from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from serving.format import money
from warehouse.ingest import IngestReport


def print_ingest(console: Console, report: IngestReport) -> None:
    table = Table(title="Files ingested")
    for col in ("file", "tables", "read", "accepted", "quarantined"):
        table.add_column(col, justify="right" if col in ("read", "accepted", "quarantined") else "left")
    for f in report.files:
        if f.skipped:
            table.add_row(f.path.name, "already ingested, skipped", "0", "0", "0")
        else:
            table.add_row(f.path.name, ", ".join(t.table for t in f.tables), f"{f.read:,}", f"{f.accepted:,}",
                          f"{f.quarantined:,}")
    table.add_row("total", "", f"{report.read:,}", f"{report.accepted:,}", f"{report.quarantined:,}", style="bold")
    console.print(table)
    reasons = report.reasons()
    if reasons:
        q = Table(title="Quarantined rows by reason (details: meta.quarantine)")
        q.add_column("table")
        q.add_column("reason")
        q.add_column("rows", justify="right")
        for (tbl, reason), n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            q.add_row(tbl, reason, f"{n:,}")
        console.print(q)
    swapped = ", ".join(f"{t} {n}" for t, n in report.gold_months.items()) or "nothing new"
    console.print(f"Loaded in {report.load_seconds:.1f} s; gold refreshed in {report.gold_seconds:.1f} s "
                  f"(partitions swapped: {swapped}).")
    if report.recovered_tables:
        console.print(f"[yellow]Removed the rows of an interrupted earlier ingest from {report.recovered_tables} tables.")


def print_warehouse(console: Console, client: Client, top: int = 5) -> None:
    """Top stores and SKUs by net revenue, from the gold layer."""
    stores = client.query(
        "SELECT d.store_id, any(s.name), sum(d.revenue) AS revenue, sum(d.units) FROM gold.daily_sales AS d "
        "LEFT JOIN silver.stores AS s ON s.store_id = d.store_id GROUP BY d.store_id ORDER BY revenue DESC LIMIT {n:UInt32}",
        parameters={"n": top}).result_rows
    skus = client.query(
        "SELECT d.sku, any(p.name), sum(d.revenue) AS revenue, sum(d.units) FROM gold.daily_sales AS d "
        "LEFT JOIN silver.products AS p ON p.sku = d.sku GROUP BY d.sku ORDER BY revenue DESC LIMIT {n:UInt32}",
        parameters={"n": top}).result_rows
    for title, rows in (("Top stores", stores), ("Top SKUs", skus)):
        table = Table(title=f"{title} by net revenue")
        for col in ("id", "name", "revenue", "units"):
            table.add_column(col, justify="right" if col in ("revenue", "units") else "left")
        for key, name, revenue, units in rows:
            table.add_row(key, name or "", money(float(revenue)), f"{units:,}")
        console.print(table)


def blend_text(weights: dict[str, float]) -> str:
    """A blend as a reader says it: "63% ease + 27% als_large + 10% lift"."""
    return " + ".join(f"{w:.0%} {name}" for name, w in sorted(weights.items(), key=lambda item: -item[1]))


def print_forecast_training(console: Console, result) -> None:
    """The pool's backtest per level, the blend, the gate's decision and the riskiest stock-outs
    (training.forecast)."""
    summary = result.summary
    best = summary[summary["model"] != "ensemble"].sort_values("rmsse").groupby("level").head(2)
    shown = pd.concat([summary[summary["model"] == "ensemble"], best]).sort_values(["level", "rmsse"])
    table = Table(title="Backtest (the ensemble and the two best members per level)")
    for column in ("level", "model", "RMSSE", "WAPE", "bias", "P10–P90 coverage"):
        table.add_column(column, justify="left" if column in ("level", "model") else "right")
    for row in shown.itertuples(index=False):
        table.add_row(row.level, f"[bold]{row.model}[/bold]" if row.model == "ensemble" else row.model,
                      f"{row.rmsse:.3f}", f"{row.wape:.1%}", f"{row.bias:+.1%}",
                      "" if row.coverage != row.coverage else f"{row.coverage:.1%}")
    console.print(table)
    for segment, weights in result.weights.items():
        console.print(f"Blend ({segment} series): {blend_text(weights)}")
    if not result.version:
        console.print(f"Backtest logged as MLflow run {result.run_id} ({result.reason}).")
        return
    console.print(f"Model version {result.version}: {'promoted to champion' if result.promoted else 'not promoted'} "
                  f"({result.reason}). MLflow run {result.run_id}.")
    alerts = result.alerts.sort_values("stockout_probability", ascending=False).head(5)
    risk = Table(title="Highest stock-out risks before the next delivery")
    for column in ("store", "sku", "on hand", "runs out", "risk", "order"):
        risk.add_column(column)
    for a in alerts.itertuples(index=False):
        risk.add_row(a.store_id, a.sku, f"{a.on_hand:.0f}", a.stockout_date.strftime("%d/%m") if a.stockout_date else "—",
                     f"{a.stockout_probability:.0%}", f"{a.order_quantity}")
    console.print(risk)


def print_crosssell_training(console: Console, result) -> None:
    """The held-out comparison, the chosen blend and the rules' costs, the gate and a sample basket
    (training.crosssell)."""
    table = Table(title=f"Cross-sell on the last weeks' baskets ({int(result.evaluation['baskets'].iloc[0]):,} baskets, "
                        "one SKU hidden)")
    for column in ("model", "HitRate@10", "NDCG@10", "MRR", "Recall@10", "coverage@10"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in result.evaluation.itertuples(index=False):
        table.add_row(row.model, f"{row.hit_rate_10:.3f}", f"{row.ndcg_10:.3f}", f"{row.mrr:.3f}", f"{row.recall_10:.3f}",
                      f"{row.coverage_10:.1%}")
    console.print(table)
    chosen = result.validation.get("blend")
    console.print(f"Served: {blend_text(result.weights)}, chosen on the validation windows"
                  + (f" (HitRate@10 {chosen:.3f} there)." if chosen is not None else " (too few baskets to validate)."))
    for rule, cost in result.rule_costs.items():
        console.print(f"Rule {rule}: costs {cost:.1%} of the validation hits.")
    check = result.rules_check
    if check is not None:
        for rule, cost in check.costs.items():
            console.print(f"Rule {rule}: costs {cost:.1%} of the test window's hits, the other rules on.")
        text = (f"As served (margin boost {check.rules.margin_weight:g}, near-duplicates "
                f"{'dropped' if check.rules.drop_near_duplicates else 'kept'}): HitRate@10 {check.served['hit_rate_10']:.3f}")
        margin = check.served["margin_hit_rate_10"]
        if margin == margin:  # a catalogue with costs
            text += f", margin-weighted {margin:.3f} ({check.without_margin['margin_hit_rate_10']:.3f} without the boost)"
        console.print(text + ".")
    if not result.version:
        console.print(f"Evaluation logged as MLflow run {result.run_id} ({result.reason}).")
        return
    console.print(f"Model version {result.version}: {'promoted to champion' if result.promoted else 'not promoted'} "
                  f"({result.reason}). MLflow run {result.run_id}.")
    recommender = result.recommender
    top = recommender.skus[int(recommender.cooc.item_baskets.argmax())]
    example = recommender.complete([top], k=3)
    sample = Table(title=f"Suggestions for a basket with {recommender.names[recommender.column[top]]}")
    for column in ("sku", "name", "reason"):
        sample.add_column(column)
    for item in example.items:
        sample.add_row(item.sku, item.name, item.reason)
    console.print(sample)


def print_staffing_training(console: Console, result) -> None:
    """The hourly backtest, the gate's decision, and the first store's plan for tomorrow (training.staffing)."""
    table = Table(title="Hourly traffic backtest (pooled over stores and folds; the blend and the best members)")
    for column in ("model", "WAPE", "bias", "P10–P90 coverage", "peak top-3 hit", "days all 3 peaks"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in result.scores.sort_values("wape").head(5).itertuples(index=False):
        name = f"[bold]{row.model}[/bold]" if row.model == result.served else row.model
        table.add_row(name, f"{row.wape:.1%}", f"{row.bias:+.1%}", "" if row.coverage != row.coverage else
                      f"{row.coverage:.1%}", f"{row.peak_hit:.1%}", f"{row.peak_days_all_3:.1%}")
    console.print(table)
    for weights in result.weights.values():
        console.print(f"Blend: {blend_text(weights)}")
    if not result.version:
        console.print(f"Backtest logged as MLflow run {result.run_id} ({result.reason}).")
        return
    console.print(f"Model version {result.version} ({result.served}): "
                  f"{'promoted to champion' if result.promoted else 'not promoted'} ({result.reason}). "
                  f"MLflow run {result.run_id}.")
    plan = result.plan
    store, day = plan["store_id"].iloc[0], plan["date"].min()
    rows = plan[(plan["store_id"] == store) & (plan["date"] == day)]
    grid = Table(title=f"Sellers needed at {store} on {day:%d/%m} (P90 traffic unless told otherwise)")
    for column in ("hour", "tickets (P50)", "sellers needed", "scheduled", "sales at risk"):
        grid.add_column(column, justify="right")
    for r in rows.itertuples(index=False):
        grid.add_row(f"{r.hour:02d}h", f"{r.tickets_p50:.0f}", f"{r.sellers_needed}" + (" *" if r.peak else ""),
                     "" if r.scheduled != r.scheduled else f"{r.scheduled:.0f}", money(r.sales_at_risk))
    console.print(grid)
    console.print("* peak hour")

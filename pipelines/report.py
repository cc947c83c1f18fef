"""The short report printed after a load: rows loaded and quarantined, top stores and SKUs."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from pipelines.ingest import IngestReport


def brl(value: float) -> str:
    """Money as Brazilians write it: R$ 1.234,56."""
    text = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"R$ {text}"


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
            table.add_row(key, name or "", brl(float(revenue)), f"{units:,}")
        console.print(table)

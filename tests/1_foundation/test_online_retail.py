"""A foreign export (UCI Online Retail) maps onto the canonical model, reconciled against pandas."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ONLINE_RETAIL, REPO, load, scalar

SLICE = REPO / "tests" / "data" / "online_retail_slice.csv"


def expected(path: Path, max_quantity: int) -> tuple[int, Decimal, int]:
    """Independent pandas reading of our rules: price > 0, at most ``max_quantity`` units a line (the
    plausibility cap; the wholesaler's bulk orders exceed the default), exact duplicate rows dropped
    (first kept)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    valid = df[(df["UnitPrice"].astype(float) > 0) & (df["Quantity"].astype(int).abs() <= max_quantity)]
    kept = valid[~valid.duplicated(keep="first")]
    revenue = sum(Decimal(q) * Decimal(p) for q, p in zip(kept["Quantity"], kept["UnitPrice"]))
    return len(kept), revenue, len(df)


def check(client, settings, path: Path) -> None:
    report = load(client, settings, path, mapping="online_retail")
    rows, revenue, read = expected(path, settings.sale_max_quantity)
    sales = next(t for t in report.files[0].tables if t.table == "sales")
    assert sales.read == read
    assert sales.accepted == rows
    assert sales.accepted + sales.quarantined == read
    assert scalar(client, "SELECT count() FROM silver.sales") == rows
    assert scalar(client, "SELECT sum(quantity * unit_price) FROM silver.sales") == revenue
    assert scalar(client, "SELECT sum(revenue) FROM gold.daily_sales") == revenue
    # cancellations are returns, not errors
    assert scalar(client, "SELECT countIf(quantity < 0) FROM silver.sales") == \
        scalar(client, "SELECT count() FROM silver.sales WHERE startsWith(ticket_id, 'C')")


def test_committed_slice_maps_and_reconciles(client, settings):
    check(client, settings, SLICE)
    countries = pd.read_csv(SLICE, dtype=str)["Country"].nunique()
    assert scalar(client, "SELECT count() FROM silver.stores") == countries == 7
    assert scalar(client, "SELECT count() FROM silver.products") == pd.read_csv(SLICE, dtype=str)["StockCode"].nunique()
    assert scalar(client, "SELECT count() FROM silver.sales WHERE sku NOT IN (SELECT sku FROM silver.products)") == 0


@pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason="the shared Online Retail file is not beside this checkout")
def test_full_file_reconciles_exactly_with_pandas(client, settings):
    check(client, settings, ONLINE_RETAIL)
    assert scalar(client, "SELECT count() FROM silver.stores") == 38

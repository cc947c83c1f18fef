"""Ingestion: every bad-input class is quarantined with file, line, column and reason; nothing is lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import SALES_HEADER, load, scalar, write_csv
from warehouse.ingest import IngestError

GOOD = ["T1", "1", "L1", "V2", "C9", "P1", "2", "40.00", "0", "2024-02-10 11:15:00"]


def quarantine(client) -> list[tuple]:
    return client.query("SELECT source_line, column_name, value, reason FROM meta.quarantine ORDER BY source_line").result_rows


# each a bad sales line (ticket T2) -> the column and reason it is quarantined with
BAD_ROWS = [
    (["T2", "1", "L1", "V2", "", "P1", "dois", "40.00", "0", "2024-02-10 11:15:00"], "quantity", "not a valid Int32"),
    (["T2", "1", "L1", "V2", "", "", "1", "40.00", "0", "2024-02-10 11:15:00"], "sku", "missing required value"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "40.00", "0", "1999-12-31 10:00:00"], "sold_at", "date out of range"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "40.00", "0", "2031-01-01 10:00:00"], "sold_at", "date out of range"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "40.00", "0", "10 de fevereiro"], "sold_at", "not a valid DateTime"),
    (["T2", "1", "L9", "V2", "", "P1", "1", "40.00", "0", "2024-02-10 11:15:00"], "store_id", "unknown store"),
    (["T2", "1", "L1", "V9", "", "P1", "1", "40.00", "0", "2024-02-10 11:15:00"], "seller_id", "unknown seller"),
    (["T2", "1", "L1", "V2", "", "P9", "1", "40.00", "0", "2024-02-10 11:15:00"], "sku", "unknown product"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "0", "0", "2024-02-10 11:15:00"], "unit_price", "price <= 0"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "-3.5", "0", "2024-02-10 11:15:00"], "unit_price", "price <= 0"),
    (["T2", "1", "L1", "V2", "", "P1", "0", "40.00", "0", "2024-02-10 11:15:00"], "quantity", "quantity is 0"),
    # a sale's plausibility (warehouse/sale_rules.py): P1 lists at 40.00 until 2024-03-15
    (["T2", "1", "L1", "V2", "", "P1", "201", "40.00", "0", "2024-02-10 11:15:00"], "quantity",
     "quantity above the store cap"),
    (["T2", "1", "L1", "V2", "", "P1", "-201", "40.00", "0", "2024-02-10 11:15:00"], "quantity",
     "quantity above the store cap"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "10.00", "500", "2024-02-10 11:15:00"], "discount",
     "discount above the line total"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "1000000", "0", "2024-02-10 11:15:00"], "unit_price",
     "unit price outside the catalogue band"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "27.00", "0", "2024-02-10 11:15:00"], "unit_price",
     "unit price outside the catalogue band"),
    (["T2", "1", "L1", "V2", "", "P1", "1", "53.00", "0", "2024-02-10 11:15:00"], "unit_price",
     "unit price outside the catalogue band"),  # above 40 x 1.3 = 52; the list price rose to 50 on 03-16
    (GOOD, "ticket_id", "duplicate line"),
    (["T1", "1", "L1", "V2", "C9", "P3", "1", "20.00", "0", "2024-02-10 11:15:00"], "ticket_id",
     "duplicate key with different content"),
]


def test_each_bad_row_is_quarantined_with_line_column_and_reason(client, settings, dims, tmp_path):
    """One file holding a good line and every kind of bad one, each on its own ticket: each bad line
    is quarantined alone, with its line number, the column, the value and why."""
    rows = [GOOD] + [[f"T{n}" if row[0] == "T2" else row[0], *row[1:]] for n, (row, _, _) in enumerate(BAD_ROWS, start=2)]
    sales = write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, rows)
    report = load(client, settings, dims, sales)
    sales_result = next(t for f in report.files for t in f.tables if t.table == "sales")
    assert (sales_result.read, sales_result.accepted, sales_result.quarantined) == (len(rows), 1, len(BAD_ROWS))
    expected = [(line, column, row[SALES_HEADER.index(_source(column))], reason)
                for line, row, (_, column, reason) in zip(range(3, 3 + len(BAD_ROWS)), rows[1:], BAD_ROWS)]
    assert quarantine(client) == expected
    assert scalar(client, "SELECT count() FROM silver.sales") == 1


def _source(column: str) -> str:
    return {"quantity": "quantidade", "sku": "cod_prod", "sold_at": "data_venda", "store_id": "cod_loja",
            "seller_id": "cod_vendedor", "unit_price": "preco_unitario", "ticket_id": "cod_transacao",
            "discount": "desconto"}[column]


def test_negative_quantity_is_a_return_not_an_error(client, settings, dims, tmp_path):
    ret = ["D1", "1", "L1", "V2", "", "P1", "-1", "40.00", "0", "2024-02-12 10:00:00"]
    load(client, settings, dims, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, [GOOD, ret]))
    assert quarantine(client) == []
    assert scalar(client, "SELECT sum(quantity) FROM silver.sales") == 1
    assert scalar(client, "SELECT sum(units) FROM gold.daily_sales WHERE sku = 'P1'") == 1


def test_encoding_errors_are_quarantined(client, settings, dims, tmp_path):
    path = write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, [GOOD])
    with path.open("ab") as fh:
        fh.write(b"T3,1,L1,V2,,P\xff1,1,40.00,0,2024-02-10 11:15:00\n")
        fh.write("T4,1,L1,V2,João Latin-1,P1,1,40.00,0,2024-02-10 11:15:00\n".encode("latin-1"))
    load(client, settings, dims, path)
    assert [(line, column, reason) for line, column, _, reason in quarantine(client)] == [
        (3, "sku", "encoding error (not UTF-8)"),
        (4, "customer_id", "encoding error (not UTF-8)")]  # checked before it is pseudonymised
    assert scalar(client, "SELECT count() FROM silver.sales") == 1
    raw = client.query("SELECT raw_row FROM meta.quarantine ORDER BY source_line").result_rows
    assert '"sku":"P\ufffd1"' in raw[0][0]  # readable text, the bad byte shown as U+FFFD
    assert "Jo" not in raw[1][0] and scalar(client, "SELECT countIf(customer_id LIKE 'Jo%') FROM bronze.sales") == 0


def test_numbers_written_the_brazilian_way_are_read_per_mapping(client, settings, dims, tmp_path):
    """The cosmeticco mapping reads a decimal comma (with thousands dots); a number without a comma
    is read as it is."""
    prices = write_csv(tmp_path / "in", "precos.csv", ["cod_prod", "preco", "data_inicio", "data_fim"],
                       [["P2", "1.250,00", "2025-01-01", ""]])
    rows = [["T1", "1", "L1", "V2", "", "P2", "1", "100,00", "0", "2024-02-10 11:15:00"],
            ["T2", "1", "L1", "V2", "", "P1", "2", "40,50", "1,25", "2024-02-10 11:15:00"],
            ["T3", "1", "L1", "V2", "", "P3", "1", "20.5", "0", "2024-02-10 11:15:00"]]
    load(client, settings, dims, prices, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, rows))
    stored = client.query("SELECT ticket_id, toFloat64(unit_price), toFloat64(discount) FROM silver.sales "
                          "ORDER BY ticket_id").result_rows
    assert stored == [("T1", 100.0, 0.0), ("T2", 40.5, 1.25), ("T3", 20.5, 0.0)]
    assert scalar(client, "SELECT toFloat64(price) FROM silver.prices WHERE valid_from = '2025-01-01'") == 1250.0


def test_accepted_plus_quarantined_equals_rows_read_on_a_mixed_file(client, settings, dims, tmp_path):
    rows = [GOOD, GOOD, ["T2", "1", "L9", "V2", "", "P1", "1", "40", "0", "2024-02-10 10:00:00"],
            ["T3", "1", "L1", "V2", "", "P2", "x", "100", "0", "2024-02-10 10:00:00"],
            ["T4", "1", "L2", "V3", "", "P2", "1", "100", "5", "2024-02-11 17:00:00"]]
    report = load(client, settings, dims, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, rows))
    sales = report.files[-1]
    assert sales.read == 5 and sales.accepted == 2 and sales.quarantined == 3
    assert sales.accepted + sales.quarantined == sales.read
    assert scalar(client, "SELECT count() FROM meta.quarantine") == 3


def test_reingesting_the_same_file_adds_nothing(client, settings, dims, tmp_path):
    sales = write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, [GOOD])
    load(client, settings, dims, sales)
    again = load(client, settings, dims, sales)
    assert all(f.skipped for f in again.files)
    # the same rows in a differently named export are duplicates, not new sales
    copy = write_csv(tmp_path / "in2", "vendas_copia.csv", SALES_HEADER, [GOOD])
    load(client, settings, copy)
    assert scalar(client, "SELECT count() FROM silver.sales") == 1
    assert scalar(client, "SELECT sum(units) FROM gold.daily_sales") == 2


def test_file_missing_a_mapped_column_is_rejected_whole(client, settings, dims, tmp_path):
    load(client, settings, dims)
    bad = write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER[:-1], [GOOD[:-1]])
    with pytest.raises(IngestError, match=r"vendas.csv: line 1: missing column\(s\) \['data_venda'\]"):
        load(client, settings, bad)
    assert scalar(client, "SELECT count() FROM silver.sales") == 0
    assert scalar(client, "SELECT count() FROM silver.products") == 3  # earlier data untouched


@pytest.mark.parametrize("reader", ["engine", "client"])
def test_rows_with_the_wrong_number_of_fields_are_quarantined_and_the_rest_loads(client, settings, dims, tmp_path,
                                                                                   reader):
    """A short row, a long row and a row whose quote never closes go to quarantine with their line
    and their raw text; the other rows load (one bad row used to reject the whole file)."""
    settings = settings.model_copy(update={"ingest_reader": reader})
    path = tmp_path / "in" / "vendas.csv"
    path.parent.mkdir()
    third = ["T3", "1", "L1", "V2", "", "P3", "1", "20.00", "0", "2024-02-11 10:00:00"]
    path.write_text("\n".join([",".join(SALES_HEADER), ",".join(GOOD), "T2,1,L1,V2,,P1,2,40.00,0",
                               ",".join(third), "T4,1,L1,V2,,P1,2,40.00,0,2024-02-10 11:15:00,x,y",
                               'T5,1,L1,V2,,"P1,2,40.00,0,2024-02-10 11:15:00']) + "\n")
    report = load(client, settings, dims, path)
    sales = next(t for f in report.files for t in f.tables if t.table == "sales")
    assert (sales.read, sales.accepted, sales.quarantined) == (5, 2, 3)
    rows = client.query("SELECT source_line, reason, raw_row FROM meta.quarantine ORDER BY source_line").result_rows
    assert [(line, reason) for line, reason, _ in rows] == [(n, "wrong number of fields (expected 10)") for n in (3, 5, 6)]
    assert rows[0][2] == "T2,1,L1,V2,,P1,2,40.00,0" and rows[1][2].startswith("T4,1,L1,V2,,P1,2,40.00,0,2024-02-10")
    assert scalar(client, "SELECT count() FROM silver.sales") == 2


def test_parquet_files_are_ingested_like_csv(client, settings, dims, tmp_path):
    table = pa.table({h: [v] for h, v in zip(SALES_HEADER, GOOD)})
    table = table.set_column(SALES_HEADER.index("quantidade"), "quantidade", pa.array([2], pa.int64()))
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "vendas.parquet")
    load(client, settings, dims, tmp_path / "in" / "vendas.parquet")
    assert client.query("SELECT ticket_id, quantity, unit_price FROM silver.sales").result_rows == [("T1", 2, 40)]


def test_interrupted_ingest_leaves_no_partial_rows(settings, dims, tmp_path):
    """Kill an ingest at many moments: each file is then either fully visible or absent."""
    from warehouse.clickhouse import close_all, connect
    from warehouse.generator import generate

    data = tmp_path / "gen"
    generate("tiny", 3, data)
    script = textwrap.dedent(f"""
        from pathlib import Path
        from warehouse.ingest import ingest
        from warehouse.mapping import load_mapping
        from warehouse.settings import load_settings
        from warehouse.clickhouse import connect
        s = load_settings(home={str(settings.home)!r})
        ingest(connect(s), s, [Path({str(data)!r})], load_mapping('cosmeticco'))
    """)
    expected = {p.name: sum(1 for _ in p.open()) - 1 for p in data.glob("*.csv")}
    import time

    for delay in (0.8, 1.6, 2.4):
        proc = subprocess.Popen([sys.executable, "-c", script])
        time.sleep(delay)
        proc.kill()
        proc.wait()
        client = connect(settings)
        seen = dict(client.query("SELECT source_file, count() FROM silver.sales GROUP BY source_file").result_rows)
        committed = {r[0] for r in client.query("SELECT file_name FROM meta.ingest_files").result_rows}
        if "vendas.csv" in committed:
            assert seen == {"vendas.csv": expected["vendas.csv"]}
        else:
            assert seen == {}
        close_all()
    client = connect(settings)
    # a staging table of a crash at the worst moment (they are on disk: a file may outgrow memory)
    client.command("CREATE TABLE meta.stage_dead (x String) ENGINE = Log")
    client.command("INSERT INTO meta.stage_dead VALUES ('debris')")
    report = load(client, settings, data)  # recovers the debris and finishes the job
    assert scalar(client, "SELECT count() FROM system.tables WHERE database = 'meta' AND "
                          "(name LIKE 'stage%' OR name LIKE 'validate%')") == 0
    assert scalar(client, "SELECT count() FROM silver.sales") == expected["vendas.csv"]
    assert scalar(client, "SELECT count() FROM silver.sales_all") == expected["vendas.csv"]
    assert report.accepted + sum(f.read for f in report.files if f.skipped) <= sum(expected.values())


def test_client_side_reader_gives_the_same_result_as_the_engine_reader(client, settings, dims, tmp_path):
    """The path a ClickHouse server uses (Python parses, streams rows) quarantines the same rows."""
    rows = [GOOD, GOOD, ["T2", "1", "L9", "V2", "", "P1", "1", "40", "0", "2024-02-10 10:00:00"]]
    sales = write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, rows)
    with sales.open("ab") as fh:
        fh.write(b"T3,1,L1,V2,,P\xff1,1,40.00,0,2024-02-10 11:15:00\n")
    client_settings = settings.model_copy(update={"ingest_reader": "client"})
    report = load(client, client_settings, dims, sales)
    assert (report.files[-1].accepted, report.files[-1].quarantined) == (1, 3)
    assert [(r[0], r[3]) for r in quarantine(client)] == [
        (3, "duplicate line"), (4, "unknown store"), (5, "encoding error (not UTF-8)")]


def test_settings_come_from_environment_and_flags_override(monkeypatch, tmp_path):
    from warehouse.settings import load_settings

    monkeypatch.setenv("VITRINE_HOME", str(tmp_path / "from-env"))
    monkeypatch.setenv("VITRINE_CLICKHOUSE_URL", "http://u:secret@db:8123")
    s = load_settings()
    assert s.home == tmp_path / "from-env" and not s.is_embedded and s.warehouse_url == "http://u:secret@db:8123"
    s = load_settings(home=tmp_path / "flag", clickhouse_url=None)
    assert s.home == tmp_path / "flag"
    monkeypatch.delenv("VITRINE_CLICKHOUSE_URL")
    assert load_settings(home=tmp_path).warehouse_url == f"chdb://{tmp_path.resolve()}/warehouse"


def test_customer_ids_are_pseudonymised_before_anything_is_stored(client, settings, dims, tmp_path):
    from warehouse.privacy import pseudonym_key, pseudonymise

    again = [*GOOD[:1], "2", *GOOD[2:]]
    anonymous = ["T2", "1", "L1", "V2", "  ", "P1", "1", "40.00", "0", "2024-02-10 12:00:00"]
    load(client, settings, dims, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, [GOOD, again, anonymous]))
    key = pseudonym_key(settings)
    assert len(key) == 64 and (settings.home / "pseudonym.key").stat().st_mode & 0o077 == 0
    stored = client.query("SELECT customer_id FROM silver.sales ORDER BY ticket_id, line").result_rows
    expected = pseudonymise("C9", key)
    assert stored == [(expected,), (expected,), (None,)] and expected.startswith("anon-") and len(expected) == 37
    assert pseudonymise(expected, key) == expected  # a pseudonym passes through: exports are not hashed twice
    assert scalar(client, "SELECT count() FROM bronze.sales WHERE customer_id = 'C9'") == 0
    assert pseudonymise("C9", "another key") != expected


def test_plausibility_bounds_follow_the_store_and_its_promotions(client, dims, tmp_path):
    """A store's own cap and band override the chain's; a promotion running that day lowers the
    acceptable price, and only at the stores it runs in."""
    from warehouse.settings import load_settings

    settings = load_settings(home=tmp_path / "home", sale_limits_by_store={"L1": {"max_quantity": 500}})
    promo = write_csv(tmp_path / "in", "promocoes.csv",
                      ["cod_promo", "cod_prod", "cod_loja", "data_inicio", "data_fim", "desconto_pct"],
                      [["PR1", "P2", "L1", "2024-02-01", "2024-02-29", "40"]])
    rows = [["T1", "1", "L1", "V2", "", "P1", "300", "40.00", "0", "2024-02-10 11:15:00"],  # L1's own cap: 500
            ["T2", "1", "L2", "V3", "", "P1", "300", "40.00", "0", "2024-02-10 11:15:00"],  # L2: the chain's 200
            ["T3", "1", "L1", "V2", "", "P2", "1", "45.00", "0", "2024-02-10 11:15:00"],  # 100 - 40% = 60, x 0.7 = 42
            ["T4", "1", "L2", "V3", "", "P2", "1", "45.00", "0", "2024-02-10 11:15:00"],  # no promotion at L2
            ["T5", "1", "L1", "V2", "", "P2", "1", "45.00", "0", "2024-03-10 11:15:00"]]  # the promotion is over
    load(client, settings, dims, promo, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, rows))
    assert [(line, column, reason) for line, column, _, reason in quarantine(client)] == [
        (3, "quantity", "quantity above the store cap"), (5, "unit_price", "unit price outside the catalogue band"),
        (6, "unit_price", "unit price outside the catalogue band")]


@pytest.mark.parametrize("files", [["lojas.csv"], ["lojas.csv", "vendedores.csv", "produtos.csv"],
                                   ["produtos.csv", "precos.csv", "custos.csv"], ["lojas.csv", "produtos.csv", "estoque.csv"]])
def test_dimension_or_stock_files_without_sales_load(client, settings, dims, tmp_path, files):
    """A first load without any sales file: no crash, and stock alone gives daily rows to carry."""
    stock = write_csv(dims, "estoque.csv", ["cod_loja", "cod_prod", "data", "estoque"], [["L1", "P1", "2024-02-01", "7"]])
    report = load(client, settings, *[dims / f for f in files])
    assert report.quarantined == 0 and report.accepted > 0
    if stock.name in files:
        assert scalar(client, "SELECT max(on_hand) FROM gold.daily_sales WHERE sku = 'P1'") == 7

"""Mappings: a retailer's own YAML maps its export; mistakes in a mapping are named precisely."""

from __future__ import annotations

import pytest

from tests.conftest import load, scalar, write_csv
from warehouse.mapping import MappingError, load_mapping

OWN_MAPPING = """
name: farmacia_sul
files:
  - match: ["lojas*"]
    tables:
      stores:
        columns: {store_id: codigo, name: descricao}
  - match: ["equipe*"]
    tables:
      sellers:
        columns: {seller_id: matricula, store_id: codigo}
        expressions: {role: "'seller'"}
  - match: ["itens*"]
    tables:
      products:
        columns: {sku: ean, name: descricao}
  - match: ["cupons*"]
    tables:
      sales:
        columns: {ticket_id: cupom, line: seq, store_id: loja, seller_id: operador, sku: ean,
                  quantity: qtd, unit_price: valor, sold_at: emissao}
        formats: {sold_at: "%d/%m/%Y %H:%i"}
"""


def test_a_users_own_mapping_with_date_formats(client, settings, tmp_path):
    mapping = tmp_path / "farmacia.yaml"
    mapping.write_text(OWN_MAPPING)
    d = tmp_path / "export"
    files = [
        write_csv(d, "lojas.csv", ["codigo", "descricao"], [["S1", "Sul 1"]]),
        write_csv(d, "equipe.csv", ["matricula", "codigo"], [["M1", "S1"]]),
        write_csv(d, "itens.csv", ["ean", "descricao"], [["789", "Protetor"]]),
        write_csv(d, "cupons.csv", ["cupom", "seq", "loja", "operador", "ean", "qtd", "valor", "emissao"],
                  [["1", "1", "S1", "M1", "789", "2", "10.5", "25/12/2024 18:30"],
                   ["2", "1", "S1", "M1", "789", "1", "10.5", "2024-12-26 09:00"]]),  # not the mapped format
    ]
    report = load(client, settings, *files, mapping=str(mapping))
    assert (report.accepted, report.quarantined) == (4, 1)  # one row in each file; one sale rejected
    import datetime as dt

    assert client.query("SELECT sold_at, quantity FROM silver.sales").result_rows == [(dt.datetime(2024, 12, 25, 18, 30), 2)]
    assert client.query("SELECT column_name, reason FROM meta.quarantine").result_rows == [("sold_at", "not a valid DateTime")]
    assert scalar(client, "SELECT role FROM silver.sellers") == "seller"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("files: [", "not valid YAML"),
        ("name: x", "expected a mapping with a 'files' list"),
        ("files: [{match: 'a*', tables: {vendas: {}}}]", "files[0]: unknown table 'vendas'"),
        ("files: [{match: 'a*', tables: {stores: {columns: {loja: cod}}}}]", "tables.stores: unknown column 'loja'"),
        ("files: [{match: 'a*', tables: {sellers: {columns: {seller_id: id}}}}]",
         "tables.sellers: required column(s) ['store_id'] are not mapped"),
        ("files: [{tables: {stores: {columns: {store_id: id}}}}]", "files[0]: needs 'match'"),
    ],
)
def test_mapping_mistakes_are_named(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_file_no_mapping_entry_matches_is_refused_before_anything_is_written(client, settings, tmp_path):
    from warehouse.ingest import IngestError

    stray = write_csv(tmp_path / "in", "clientes.csv", ["id"], [["1"]])
    with pytest.raises(IngestError, match="clientes.csv: no entry of mapping 'cosmeticco' matches this file name"):
        load(client, settings, stray)
    assert scalar(client, "SELECT count() FROM meta.ingest_files") == 0


def test_an_expression_that_does_not_fit_the_file_is_a_clear_error(client, settings, tmp_path):
    from warehouse.ingest import IngestError

    mapping = tmp_path / "m.yaml"
    mapping.write_text("files: [{match: 'lojas*', tables: {stores: {columns: {store_id: cod}, "
                       "expressions: {name: 'upper(no_such_column)'}}}}]")
    stores = write_csv(tmp_path / "in", "lojas.csv", ["cod"], [["L1"]])
    with pytest.raises(IngestError, match="lojas.csv: the mapping for table stores does not apply to this file"):
        load(client, settings, stores, mapping=str(mapping))
    assert scalar(client, "SELECT count() FROM silver.stores") == 0

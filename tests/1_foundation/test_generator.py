"""The generator: deterministic per seed, CosmeticCo-shaped, and its planted structure is in the data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import load
from warehouse.generator import generate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    generate("tiny", 11, out)
    return out


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.glob("*")))).hexdigest()


def test_same_seed_same_files_other_seed_other_files(tiny, tmp_path):
    generate("tiny", 11, tmp_path / "again")
    generate("tiny", 12, tmp_path / "other")
    assert digest(tmp_path / "again") == digest(tiny)
    assert digest(tmp_path / "other") != digest(tiny)


def test_files_use_the_cosmeticco_column_names(tiny):
    assert pd.read_csv(tiny / "vendas.csv", nrows=1).columns.tolist()[:2] == ["cod_transacao", "item"]
    assert "sales_target" in pd.read_csv(tiny / "metas.csv", nrows=1).columns
    assert "sub_categoria" in pd.read_csv(tiny / "produtos.csv", nrows=1).columns


def test_planted_pairs_are_bought_together_far_above_chance(tiny):
    truth = json.loads((tiny / "verdade.json").read_text())
    sales = pd.read_csv(tiny / "vendas.csv", dtype=str)
    sales = sales[sales["quantidade"].astype(int) > 0]
    baskets = sales.groupby("cod_transacao")["cod_prod"].apply(set)
    n = len(baskets)
    for pair in truth["complementary_pairs"]:
        with_a = baskets[baskets.map(lambda s: pair["sku_a"] in s)]
        if len(with_a) < 30:
            continue
        p_b_given_a = with_a.map(lambda s: pair["sku_b"] in s).mean()
        p_b = baskets.map(lambda s: pair["sku_b"] in s).mean()
        assert p_b_given_a > 3 * p_b, pair
        assert p_b_given_a == pytest.approx(pair["p_b_given_a"], abs=0.15)
    assert n > 1000


def test_planted_peak_hours_show_in_each_store(tiny):
    truth = json.loads((tiny / "verdade.json").read_text())
    sales = pd.read_csv(tiny / "vendas.csv", dtype=str)
    sales = sales[sales["quantidade"].astype(int) > 0].drop_duplicates("cod_transacao")
    sales["hour"] = pd.to_datetime(sales["data_venda"]).dt.hour
    for store, peaks in truth["peak_hours"].items():
        counts = sales[sales["cod_loja"] == store]["hour"].value_counts()
        top = set(counts.index[:4])
        assert len(top & set(peaks)) >= 2, (store, peaks, counts.head(4).to_dict())


def test_weekends_and_retail_dates_lift_sales(tmp_path):
    generate("small", 5, tmp_path)
    sales = pd.read_csv(tmp_path / "vendas.csv", usecols=["cod_transacao", "data_venda"], dtype=str)
    days = pd.to_datetime(sales.drop_duplicates("cod_transacao")["data_venda"]).dt.normalize().value_counts()
    by_weekday = days.groupby(days.index.day_of_week).mean()
    assert by_weekday[5] > 1.3 * by_weekday[0]  # Saturday vs Monday
    truth = json.loads((tmp_path / "verdade.json").read_text())
    peak_days = [pd.Timestamp(d) for d, v in truth["retail_dates"].items() if v["lift"] > 2.0]
    peak_days = [d for d in peak_days if d in days.index]
    assert peak_days and days[peak_days].mean() > 1.5 * days.median()


def test_stock_outs_censor_sales_and_every_file_ingests_cleanly(client, settings, tiny):
    report = load(client, settings, tiny)
    assert report.quarantined == 0 and report.accepted == report.read
    stockouts = client.query("SELECT count() FROM gold.daily_sales WHERE on_hand = 0").result_rows[0][0]
    assert stockouts > 0
    # sales never exceed what was on hand: a day that ends at zero sold at most its opening stock
    assert client.query("SELECT count() FROM gold.daily_sales WHERE on_hand < 0").result_rows[0][0] == 0
    # the survey answers give back each store's planted NPS (about 150 answers a store: within 3 σ)
    truth = json.loads((tiny / "verdade.json").read_text())["store_nps"]
    measured = dict(client.query("SELECT store_id, 100 * (countIf(score >= 9) - countIf(score <= 6)) / count() "
                                 "FROM silver.satisfaction GROUP BY store_id").result_rows)
    assert measured.keys() == truth.keys() and all(abs(measured[s] - truth[s]) < 20 for s in truth)


def test_promotions_lift_daily_units(client, settings, tiny):
    load(client, settings, tiny)
    on, off = client.query(
        "SELECT avgIf(units, on_promo = 1), avgIf(units, on_promo = 0) FROM gold.daily_sales "
        "WHERE (store_id, sku) IN (SELECT store_id, sku FROM gold.daily_sales WHERE on_promo = 1)").result_rows[0]
    assert on > 1.3 * off


def test_chunks_of_stores_make_one_consistent_export_that_ingests_cleanly(client, settings, tmp_path, monkeypatch):
    """A chain too big for memory is generated a few stores at a time (xlarge): the chunks share one
    header per file, ticket codes and known customers never repeat across chunks, and the export
    ingests without a quarantined row."""
    from warehouse import generator

    scale = generator.Scale(stores=5, skus=40, days=60, tickets_per_store_day=30)
    monkeypatch.setitem(generator.SCALES, "chunked", scale)
    monkeypatch.setattr(generator, "LINES_PER_CHUNK", 2 * 30 * 60 * 2.2)  # two stores a chunk
    assert [len(c) for c in generator.store_chunks(scale)] == [2, 2, 1]
    rows = generate("chunked", 5, tmp_path / "out")
    sales = pd.read_csv(tmp_path / "out" / "vendas.csv", dtype={"cod_cliente": "Int64"})
    assert len(sales) == rows["vendas"] and sales.columns[0] == "cod_transacao"
    assert not sales.duplicated(["cod_transacao", "item"]).any()
    assert sales.groupby("cod_transacao")["cod_loja"].nunique().eq(1).all()
    known = sales.dropna(subset=["cod_cliente"])
    chunk_of = {f"L{i + 1:03d}": i // 2 for i in range(5)}
    assert known.assign(chunk=known["cod_loja"].map(chunk_of)).groupby("cod_cliente")["chunk"].nunique().eq(1).all()
    assert set(sales["cod_loja"]) == set(chunk_of)
    truth = json.loads((tmp_path / "out" / "verdade.json").read_text())
    assert truth["tickets"] == sales.loc[sales["quantidade"] > 0, "cod_transacao"].nunique()
    report = load(client, settings, tmp_path / "out")
    assert report.quarantined == 0 and report.accepted == report.read


def test_up_to_medium_scale_all_stores_are_one_chunk():
    from warehouse import generator

    assert all(len(generator.store_chunks(generator.SCALES[s])) == 1 for s in ("tiny", "small", "medium"))
    assert len(generator.store_chunks(generator.SCALES["xlarge"])) > 1

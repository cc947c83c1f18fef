"""Live figures on hand-made data with known answers: commission as the warehouse computes it,
posted sales counted at once and exactly once after the pipeline takes them in, pseudonyms that
match, and the manager's comparison and margin views."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from serving.live_figures import LiveFigures, UnknownError
from tests.conftest import SALES_HEADER, load, scalar, write_csv
from warehouse import figures, live_sales
from warehouse.privacy import pseudonym_key, pseudonymise
from warehouse.settings import load_settings

# March 2024 at L1: V2 sells a lipstick pair (maquiagem, 3%) and a perfume (perfumaria, 5%):
# R$ 200 against a R$ 180 target = 111% attainment, which reaches the 100% tier (+1% on all sales).
MARCH = [["T1", "1", "L1", "V2", "C1", "P1", "2", "50.00", "0", "2024-03-02 10:00:00"],
         ["T1", "2", "L1", "V2", "C1", "P2", "1", "100.00", "0", "2024-03-02 10:00:00"],
         ["T2", "1", "L1", "V1", "", "P3", "3", "20.00", "0", "2024-03-05 16:00:00"],
         ["T3", "1", "L2", "V3", "", "P2", "2", "100.00", "10.00", "2024-03-09 11:00:00"],
         ["T4", "1", "L1", "V2", "", "P3", "1", "20.00", "0", "2024-02-20 11:00:00"]]


@pytest.fixture
def published(client, settings, dims, tmp_path):
    targets = write_csv(dims, "metas.csv", ["id_employee", "mes", "sales_target"],
                        [["V2", "2024-03", "180.00"], ["V1", "2024-03", "1000.00"], ["V3", "2024-03", "150.00"]])
    load(client, settings, dims, targets, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, MARCH))
    figures.publish(client, settings, live_sales.exported_upto(settings))
    settings = load_settings(home=settings.home, today=date(2024, 3, 10))
    return settings, LiveFigures(settings)


def line(ticket: str, n: int, sku: str, qty: int, price: float, when: str, seller="V2", store="L1", customer=None):
    return live_sales.SaleLine(ticket, n, store, seller, customer, sku, qty, price, 0.0, datetime.fromisoformat(when))


def test_commission_and_pace_match_the_rules_and_the_warehouse(client, published):
    settings, live = published
    v2 = live.seller_summary("V2")
    assert (v2.sales_month, v2.target, v2.attainment_pct) == (200.0, 180.0, 111.11)
    assert v2.commission_accrued == pytest.approx(100 * 0.03 + 100 * 0.05 + 200 * 0.01)
    assert v2.daily_pace_needed == 0 and v2.days_left == 22 and v2.sales_today == 0
    # the pace so far (R$ 200 in 10 days) to 31 days: R$ 620, 344% of target, the 120% tier (+2%)
    assert v2.projected_sales == 620.0
    assert v2.commission_projected == pytest.approx(310 * 0.03 + 310 * 0.05 + 620 * 0.02)
    v1 = live.seller_summary("V1")  # R$ 60 of R$ 1,000: 940 to go over 22 days, cabelos at the 3% default
    assert v1.daily_pace_needed == pytest.approx(940 / 22, abs=0.01) and v1.commission_accrued == pytest.approx(1.8)
    warehouse = dict(client.query("SELECT seller_id, toFloat64(commission) FROM gold.seller_month "
                                  "WHERE month = '2024-03-01'").result_rows)
    for seller in ("V1", "V2", "V3"):
        assert live.seller_summary(seller).commission_accrued == pytest.approx(warehouse[seller], abs=0.01)


def test_posted_sales_count_at_once_and_exactly_once_after_the_pipeline(client, published, tmp_path):
    from warehouse.ingest import ingest
    from warehouse.mapping import load_mapping

    settings, live = published
    key = pseudonym_key(settings)
    sold = [line("L9", 1, "P2", 1, 100.0, "2024-03-10 09:30:00", customer=pseudonymise("C1", key)),
            line("L9", 2, "P1", 1, 50.0, "2024-03-10 09:30:00")]
    assert live_sales.accept(settings, sold) == (2, 0)
    assert live_sales.accept(settings, sold) == (0, 2)  # the same lines again add nothing
    with pytest.raises(live_sales.ConflictError, match="ticket L9 line 2"):
        live_sales.accept(settings, [line("L10", 1, "P1", 1, 50.0, "2024-03-10 10:00:00"),
                                     line("L9", 2, "P1", 3, 50.0, "2024-03-10 09:30:00")])
    assert len(live_sales.lines_after(settings, 0)) == 2  # the refused request stored nothing, L10 included
    now = live.seller_summary("V2")
    assert (now.sales_today, now.tickets_today, now.sales_month, now.live_lines) == (150.0, 1, 350.0, 2)

    path, upto = live_sales.export_pending(settings, tmp_path / "posted")
    ingest(client, settings, [path], load_mapping("cosmeticco"))
    live_sales.mark_exported(settings, upto, path)
    assert scalar(client, "SELECT count() FROM silver.sales WHERE ticket_id = 'L9'") == 2
    assert scalar(client, "SELECT customer_id FROM silver.sales WHERE ticket_id = 'L9' AND line = 1") == \
        pseudonymise("C1", key)  # hashed once, as a file's C1 would be
    assert live.seller_summary("V2").sales_month == 350.0  # figures not republished yet: posted lines still count
    figures.publish(client, settings, live_sales.exported_upto(settings))
    assert live.refresh()
    after = live.seller_summary("V2")
    assert (after.sales_month, after.sales_today, after.live_lines) == (350.0, 150.0, 0)
    assert live_sales.export_pending(settings, tmp_path / "posted") == (None, upto)


def test_team_comparison_and_margins(published):
    settings, live = published
    team = live.team_summary("L1")
    assert [s.seller_id for s in team] == ["V2", "V1"]  # best attainment first
    with pytest.raises(UnknownError, match="unknown store 'L9'"):
        live.team_summary("L9")
    # the catalogue by margin per unit: the perfume's R$ 40 (40%) before the lipstick's R$ 30 (60%)
    assert [p["sku"] for p in live.high_margin(None, 3)] == ["P2", "P1", "P3"]
    # V2: lipstick and perfume are 45% of their sales each, shampoo 9% (outside the 80% that matter)
    bruno = live.high_margin("V2", 5)
    assert [(p["sku"], p["category_share_pct"]) for p in bruno] == [("P2", 45.5), ("P1", 45.5)]
    mine = live.high_margin("V3", 5)  # V3 only sells perfume
    assert [p["sku"] for p in mine] == ["P2"] and mine[0]["in_your_categories"]
    comparison = live.store_comparison("L1")  # data through 09/03: February is the last full month
    assert comparison["month"] == date(2024, 2, 1) and comparison["kpis"][0] == {
        "kpi": "revenue", "store": 20.0, "chain_median": 20.0, "similar_median": None, "rank": 1, "stores": 1,
        "gap_pct": 0.0}
    with pytest.raises(UnknownError, match="store 'L2' sold nothing in 02/2024"):
        live.store_comparison("L2")
    assert live.promotions("L1", "V2") == []  # none were loaded: an empty table, its columns kept


def test_a_skus_history_is_read_from_its_stores_own_file(published, monkeypatch):
    """Each store's SKU history is published in a file of its own and read a store at a time, a few
    stores kept: a replica never holds the chain's (33.6M rows at 200 stores × 3,000 SKUs)."""
    settings, live = published
    folder = settings.figures_dir / "sku_daily"
    assert sorted(p.name for p in folder.iterdir()) == ["L1.parquet", "L2.parquet"]
    assert not (settings.figures_dir / "sku_daily.parquet").exists()
    # the shampoo at L1: sold 20/02 (1) and 05/03 (3), every day from its first sale to the data's last (09/03)
    days = live.sku_history("L1", "P3")
    assert (days[0]["date"], days[-1]["date"], len(days)) == (date(2024, 2, 20), date(2024, 3, 9), 19)
    assert {d["date"]: d["units"] for d in days if d["units"]} == {date(2024, 2, 20): 1, date(2024, 3, 5): 3}
    assert live.sku_history("L2", "P2") == [{"date": date(2024, 3, 9), "units": 2, "on_hand": None}]
    assert live.sku_history("L2", "P1") == []  # a product the store never sold
    with pytest.raises(UnknownError, match="unknown store 'L9'"):
        live.sku_history("L9", "P1")
    assert json.loads((settings.figures_dir / "meta.json").read_text())["rows"]["sku_daily"] == 8 + 8 + 19 + 1
    monkeypatch.setattr("serving.live_figures.STORES_KEPT", 1)
    live.sku_history("L1", "P1")
    assert list(live.published._store_days) == ["L1"]  # the last store asked, the others let go


def test_the_sale_digests_fetched_in_key_ranges_are_every_line_sorted(client, published, monkeypatch):
    """At chain scale the digests of every line are fetched a range of keys at a time; the ranges
    put together are exactly the lines, in key order, that the service looks a posted line up in."""
    settings, live = published
    monkeypatch.setattr(figures, "KEYS_PER_FETCH", 2)  # the five lines in three fetches
    figures.publish(client, settings, live_sales.exported_upto(settings))
    assert live.refresh()
    whole = client.query_df(f"{live_sales.KEYS_SQL} ORDER BY key")
    assert len(whole) == 5 and list(live.published.sale_keys) == list(whole["key"])
    assert list(live.published.sale_contents) == list(whole["content"])
    first = line("T1", 1, "P1", 2, 50.0, "2024-03-02 10:00:00", customer="C1")
    assert live.published.warehouse_content(first) == first.content_digest()


def test_a_promotion_is_the_sellers_when_they_sold_its_product_lately(client, published, dims, tmp_path):
    """Promotions at L1 on 10/03: V2 sold the lipstick (March) and the shampoo (20/02, within 90
    days); a second lipstick of the same category V2 never sold is in their categories, not theirs,
    until V2 posts a sale of it."""
    settings, live = published
    more = write_csv(tmp_path / "more", "produtos.csv", ["cod_prod", "nome_abrev", "nome", "categoria",
                                                         "sub_categoria", "marca", "data_lancamento"],
                     [["P4", "Batom", "Batom Vinho", "maquiagem", "batom", "Ipê", "2020-01-01"]])
    promos = write_csv(tmp_path / "more", "promocoes.csv",
                       ["cod_promo", "cod_prod", "cod_loja", "data_inicio", "data_fim", "desconto_pct"],
                       [["PR1", "P1", "L1", "2024-03-08", "2024-03-20", "20"],
                        ["PR3", "P3", "", "2024-03-08", "2024-03-20", "10"],
                        ["PR4", "P4", "L1", "2024-03-08", "2024-03-20", "30"]])
    load(client, settings, more, promos)
    figures.publish(client, settings, live_sales.exported_upto(settings))
    assert live.refresh()
    flags = {p["sku"]: (p["in_your_categories"], p["you_sell_it"]) for p in live.promotions("L1", "V2")}
    assert flags == {"P1": (True, True), "P3": (False, True), "P4": (True, False)}
    assert {p["sku"] for p in live.promotions("L1", "V1") if p["you_sell_it"]} == {"P3"}
    assert not any(p["you_sell_it"] for p in live.promotions("L1", None))
    live_sales.accept(settings, [line("L20", 1, "P4", 1, 40.0, "2024-03-10 11:00:00")])
    assert {p["sku"] for p in live.promotions("L1", "V2") if p["you_sell_it"]} == {"P1", "P3", "P4"}


def test_satisfaction_stands_beside_sales_in_the_store_comparison(client, settings, dims, tmp_path):
    # February 2024 at L1: 6 promoters, 2 passives, 2 detractors = NPS 40; L2 answered 3 times only
    answers = [[f"R{n}", "L1", "2024-02-10", score] for n, score in enumerate(["10"] * 6 + ["8", "7", "3", "0"])]
    answers += [[f"S{n}", "L2", "2024-02-11", "10"] for n in range(3)]
    answers += [["BAD", "L1", "2024-02-12", "11"]]
    survey = write_csv(tmp_path / "in", "satisfacao.csv", ["cod_resposta", "cod_loja", "data", "nota"], answers)
    report = load(client, settings, dims, survey, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, MARCH))
    assert report.quarantined == 1 and scalar(client, "SELECT reason FROM meta.quarantine") == "score outside 0-10"
    figures.publish(client, settings, live_sales.exported_upto(settings))
    live = LiveFigures(load_settings(home=settings.home, today=date(2024, 3, 10)))
    kpis = {k["kpi"]: k for k in live.store_comparison("L1")["kpis"]}
    assert kpis["nps"] == {"kpi": "nps", "store": 40.0, "chain_median": 40.0, "similar_median": None, "rank": 1,
                           "stores": 1, "gap_pct": 0.0}  # L2's three answers are too few to compare


def test_products_are_found_forgivingly(published):
    settings, live = published
    sku, name = next((sku, p["name"]) for sku, p in live.published.products.items())
    folded = "".join(c for c in __import__("unicodedata").normalize("NFKD", name.lower()) if c.isascii())
    assert live.search_products(folded, 3)[0]["sku"] == sku  # no accents, lower case
    assert live.search_products(" ".join(reversed(name.split())), 3)[0]["sku"] == sku  # words in any order
    assert live.search_products(sku.lower(), 1) == [dict(live.search_products(sku, 1)[0])]  # a SKU, any case
    assert live.search_products("zzzz qqqq", 3) == []


def test_no_figures_published_means_not_ready(tmp_path: Path):
    live = LiveFigures(load_settings(home=tmp_path))
    assert not live.ready and not live.refresh()


def test_a_replay_of_mixed_posted_lines_counts_live_exactly_what_the_warehouse_keeps(client, published, dims, tmp_path):
    """10,000 lines as a point of sale might post them, valid and invalid mixed: every line the live
    rules accept is kept by the next pipeline run (nothing quarantined), and every seller's month
    is the same figure live before the run and from the warehouse after it."""
    import random

    from warehouse import sale_rules
    from warehouse.ingest import ingest
    from warehouse.mapping import load_mapping

    settings, live = published
    promo = write_csv(tmp_path / "promo", "promocoes.csv",
                      ["cod_promo", "cod_prod", "cod_loja", "data_inicio", "data_fim", "desconto_pct"],
                      [["PR1", "P2", "L1", "2024-03-01", "2024-03-31", "30"]])
    load(client, settings, promo)
    figures.publish(client, settings, live_sales.exported_upto(settings))
    assert live.refresh()
    rng = random.Random(7)
    lists = {"P1": 40.0, "P2": 100.0, "P3": 20.0}
    sellers = {"V1": "L1", "V2": "L1", "V3": "L2"}
    invalid = {  # a change that breaks one rule -> the status it must get
        "price far above the list": (lambda s: s | {"unit_price": lists[s["sku"]] * 1.5}, 422),
        "price far below the list": (lambda s: s | {"unit_price": lists[s["sku"]] * 0.3}, 422),
        "quantity above the cap": (lambda s: s | {"quantity": settings.sale_max_quantity + 1}, 422),
        "discount above the line": (lambda s: s | {"discount": abs(s["quantity"]) * s["unit_price"] + 1}, 422),
        "in the future": (lambda s: s | {"sold_at": datetime(2030, 1, 1, 10)}, 422),
        "before the earliest date": (lambda s: s | {"sold_at": datetime(1999, 12, 31, 10)}, 422),
        "unknown product": (lambda s: s | {"sku": "P9"}, 400),
        "seller of another store": (lambda s: s | {"seller_id": "V3" if s["store_id"] == "L1" else "V1"}, 400),
        "quantity 0": (lambda s: s | {"quantity": 0}, 400),
    }
    stored = {(t, int(n)): row for t, n, *row in MARCH}
    outcomes: dict[str, int] = {}
    accepted: list[live_sales.SaleLine] = []
    latest = sale_rules.latest_sold_at(settings)
    for n in range(10_000):
        seller = rng.choice(list(sellers))
        sku = rng.choice(list(lists))
        quantity = rng.choice([1, 1, 1, 2, 3, -1])
        price = round(lists[sku] * rng.uniform(0.55, 1.45), 2)  # straddles the band, so its edges are tested
        sale = {"ticket_id": f"R{n}", "line": 1, "store_id": sellers[seller], "seller_id": seller, "customer_id": None,
                "sku": sku, "quantity": quantity, "unit_price": price, "discount": round(rng.uniform(0, 5), 2),
                "sold_at": datetime(2024, 3, rng.randint(1, 10), rng.randint(9, 20), rng.randint(0, 59))}
        kind, expected = "valid", None
        if n % 3 == 0:  # a third of the stream is broken
            kind = rng.choice(list(invalid))
            change, expected = invalid[kind]
            sale = change(sale)
        elif n % 50 == 1:  # a line the warehouse holds already, same content or changed
            ticket, line_no = rng.choice(list(stored))
            store, seller_id, _, sku_, qty, unit, disc, when = stored[(ticket, line_no)]
            sale = {"ticket_id": ticket, "line": line_no, "store_id": store, "seller_id": seller_id, "customer_id": None,
                    "sku": sku_, "quantity": int(qty), "unit_price": float(unit), "discount": float(disc),
                    "sold_at": datetime.fromisoformat(when)}
            kind, expected = "warehouse duplicate", 208
            if n % 100 == 1:
                sale["quantity"] += 1
                kind, expected = "warehouse conflict", 409
        posted = live_sales.SaleLine(**sale)
        verdict = live.judge(posted, latest)
        if expected is not None:
            assert verdict.status == expected, (kind, sale, verdict)
        elif verdict.status == 200:
            accepted.append(posted)
        if kind == "valid" and verdict.status != 200:  # a random valid-looking line may still cross a band
            kind = f"refused: {verdict.message.split(' (')[0]}"
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert outcomes["valid"] >= 4_000 and all(outcomes.get(k, 0) >= 300 for k in invalid)
    assert outcomes["warehouse duplicate"] >= 50 and outcomes["warehouse conflict"] >= 50
    for start in range(0, len(accepted), 500):
        live_sales.accept(settings, accepted[start:start + 500])
    before = {s: live.seller_summary(s).sales_month for s in sellers}

    path, upto = live_sales.export_pending(settings, tmp_path / "posted")
    report = ingest(client, settings, [path], load_mapping("cosmeticco"))
    live_sales.mark_exported(settings, upto, path)
    assert (report.read, report.accepted, report.quarantined) == (len(accepted), len(accepted), 0), report.reasons()
    figures.publish(client, settings, live_sales.exported_upto(settings))
    assert live.refresh()
    after = {s: live.seller_summary(s) for s in sellers}
    assert all(a.live_lines == 0 for a in after.values())
    assert {s: a.sales_month for s, a in after.items()} == pytest.approx(before, abs=0.01)
    print(f"replay: {len(accepted)} accepted, {report.quarantined} quarantined by the pipeline; outcomes {outcomes}")

"""Gold tables against answers computed by hand on a small export."""

from __future__ import annotations

import pytest

from tests.conftest import SALES_HEADER, load, scalar, write_csv


@pytest.fixture
def loaded(client, settings, dims, tmp_path):
    sales = [
        # ticket T1: P1 x2 @40 and P2 x1 @100 (discount 10) by V2 at L1, Saturday 2024-03-09 11h
        ["T1", "1", "L1", "V2", "", "P1", "2", "40.00", "0", "2024-03-09 11:05:00"],
        ["T1", "2", "L1", "V2", "", "P2", "1", "100.00", "10", "2024-03-09 11:05:00"],
        # ticket T2: P1 + P3 at L1 the same day 11h; T3: P1 alone at 15h
        ["T2", "1", "L1", "V2", "", "P1", "1", "40.00", "0", "2024-03-09 11:40:00"],
        ["T2", "2", "L1", "V2", "", "P3", "1", "20.00", "0", "2024-03-09 11:40:00"],
        ["T3", "1", "L1", "V1", "", "P1", "1", "40.00", "0", "2024-03-09 15:00:00"],
        # a return of one P1 two days later; it lowers net sales, it is not a basket
        ["D1", "1", "L1", "V2", "", "P1", "-1", "40.00", "0", "2024-03-11 10:00:00"],
        # L2 in April and a year earlier for growth
        ["T4", "1", "L2", "V3", "", "P2", "3", "100.00", "0", "2024-04-02 18:00:00"],
    ]
    stock = [["L1", "P1", "2024-03-08", "10"], ["L1", "P1", "2024-03-10", "0"], ["L1", "P3", "2024-03-09", "5"]]
    promos = [["PR1", "P1", "L1", "2024-03-09", "2024-03-10", "10"], ["PR2", "P3", "", "2024-03-11", "2024-03-12", "20"]]
    targets = [["V2", "2024-03", "200"], ["V1", "2024-03", "100"]]
    shifts = [["L1", "V2", "2024-03-09 10:00:00", "2024-03-09 16:00:00"], ["L1", "V1", "2024-03-09 11:00:00", "2024-03-09 13:00:00"]]
    d = tmp_path / "facts"
    load(client, settings, dims,
         write_csv(d, "vendas.csv", SALES_HEADER, sales),
         write_csv(d, "estoque.csv", ["cod_loja", "cod_prod", "data", "estoque"], stock),
         write_csv(d, "promocoes.csv", ["cod_promo", "cod_prod", "cod_loja", "data_inicio", "data_fim", "desconto_pct"], promos),
         write_csv(d, "metas.csv", ["id_employee", "mes", "sales_target"], targets),
         write_csv(d, "escalas.csv", ["cod_loja", "id_employee", "inicio", "fim"], shifts))
    return client


def rows(client, sql):
    return client.query(sql).result_rows


def test_daily_sales_has_zero_days_on_hand_and_promo(loaded):
    got = rows(loaded, "SELECT date, units, toFloat64(revenue), avg_price, on_promo, on_hand FROM gold.daily_sales "
                       "WHERE store_id = 'L1' AND sku = 'P1' AND date <= '2024-03-12' ORDER BY date")
    import datetime as dt

    d = dt.date
    # the series starts at the pair's first record (the stock snapshot of 8/3), not at the 1st of the month
    assert got[0][0] == d(2024, 3, 8) and [r[0] for r in got] == [d(2024, 3, 8 + i) for i in range(5)]
    by_day = {r[0]: r[1:] for r in got}
    assert by_day[d(2024, 3, 8)] == (0, 0.0, None, 0, 10)
    assert by_day[d(2024, 3, 9)] == (4, 160.0, 40.0, 1, 10)  # promo PR1 at L1; snapshot carried forward
    assert by_day[d(2024, 3, 10)] == (0, 0.0, None, 1, 0)
    assert by_day[d(2024, 3, 11)] == (-1, -40.0, None, 0, 0)  # the return
    # the grid runs every day to the last day with data (April 2nd), into months the pair sold nothing in
    assert scalar(loaded, "SELECT max(date) FROM gold.daily_sales WHERE store_id = 'L1' AND sku = 'P1'") == d(2024, 4, 2)
    assert scalar(loaded, "SELECT count() FROM gold.daily_sales WHERE store_id = 'L1' AND sku = 'P1'") == 24 + 2
    # a pair first seen in April has no March rows (no past row exists because of a later sale)
    assert scalar(loaded, "SELECT min(date) FROM gold.daily_sales WHERE store_id = 'L2' AND sku = 'P2'") == d(2024, 4, 2)
    # chain-wide promotion for P3 flags every store that sells it
    assert scalar(loaded, "SELECT on_promo FROM gold.daily_sales WHERE store_id = 'L1' AND sku = 'P3' "
                          "AND date = '2024-03-11'") == 1


def test_hourly_traffic_counts_tickets_items_and_sellers_on_duty(loaded):
    got = rows(loaded, "SELECT hour, tickets, items, toFloat64(revenue), sellers_on_duty FROM gold.hourly_traffic "
                       "WHERE store_id = 'L1' AND date = '2024-03-09' ORDER BY hour")
    assert got == [(11, 2, 5, 230.0, 2), (15, 1, 1, 40.0, 1)]
    # no schedule that day: unknown, not zero
    assert rows(loaded, "SELECT tickets, sellers_on_duty FROM gold.hourly_traffic WHERE date = '2024-03-11'") == [(0, None)]


def test_seller_month_attainment_and_commission(loaded):
    got = {r[0]: r[1:] for r in rows(loaded, "SELECT seller_id, toFloat64(sales), toFloat64(target), attainment_pct, "
                                             "toFloat64(commission) FROM gold.seller_month WHERE month = '2024-03-01'")}
    # V2: 80 + 90 (P2 net of discount) + 40 + 20 - 40 = 190 of 200 = 95%: no tier.
    # commission: maquiagem/cabelos 3% of (80+40+20-40=100) + perfumaria 5% of 90 = 3 + 4.5
    assert got["V2"] == pytest.approx((190.0, 200.0, 95.0, 7.5))
    # V1: 40 of 100 = 40%; 3% of 40
    assert got["V1"] == pytest.approx((40.0, 100.0, 40.0, 1.2))
    # V3 sells 300 in April with no target: commission 5% of 300, attainment unknown
    v3 = rows(loaded, "SELECT toFloat64(sales), target, attainment_pct, toFloat64(commission) FROM gold.seller_month "
                      "WHERE seller_id = 'V3'")
    assert v3 == [(300.0, None, None, 15.0)]


def test_seller_month_tier_bonus(client, settings, dims, tmp_path):
    sale = ["T1", "1", "L1", "V2", "", "P3", "13", "20.00", "0", "2024-03-09 11:05:00"]  # 260 of 200 = 130%
    load(client, settings, dims, write_csv(tmp_path / "f", "vendas.csv", SALES_HEADER, [sale]),
         write_csv(tmp_path / "f", "metas.csv", ["id_employee", "mes", "sales_target"], [["V2", "2024-03", "200"]]))
    # 3% category + 2% tier (>= 120%) of 260
    assert float(scalar(client, "SELECT commission FROM gold.seller_month")) == pytest.approx(13.0)


def test_product_margin_month_honours_validity_ranges(loaded):
    got = rows(loaded, "SELECT month, avg_price, avg_cost, margin_pct, days_priced FROM gold.product_margin_month "
                       "WHERE sku = 'P1' AND month IN ('2024-02-01', '2024-03-01') ORDER BY month")
    import datetime as dt

    assert got[0] == (dt.date(2024, 2, 1), 40.0, 20.0, 50.0, 29)
    # March: 15 days at 40 (margin 50%) and 16 days at 50 (margin 60%)
    month, price, cost, margin, days = got[1]
    assert days == 31
    assert price == pytest.approx((15 * 40 + 16 * 50) / 31)
    assert margin == pytest.approx((15 * 50 + 16 * 60) / 31)


def test_basket_pairs_support_confidence_lift(loaded):
    got = rows(loaded, "SELECT sku_a, sku_b, baskets_together, support, confidence_a_to_b, confidence_b_to_a, lift "
                       "FROM gold.basket_pairs ORDER BY sku_a, sku_b")
    # 4 baskets: {P1,P2} {P1,P3} {P1} {P2}; P1 in 3, P2 in 2, P3 in 1
    assert got == [("P1", "P2", 1, 0.25, pytest.approx(1 / 3), 0.5, pytest.approx(1 * 4 / (3 * 2))),
                   ("P1", "P3", 1, 0.25, pytest.approx(1 / 3), 1.0, pytest.approx(4 / 3))]


def test_store_kpis_by_grain_and_growth(client, settings, dims, tmp_path):
    sales = [["A", "1", "L2", "V3", "", "P2", "1", "100.00", "0", "2023-04-04 10:00:00"],
             ["B", "1", "L2", "V3", "", "P2", "2", "100.00", "0", "2024-04-02 10:00:00"],
             ["B", "2", "L2", "V3", "", "P3", "1", "20.00", "0", "2024-04-02 10:00:00"]]
    load(client, settings, dims, write_csv(tmp_path / "f", "vendas.csv", SALES_HEADER, sales))
    month = rows(client, "SELECT toFloat64(revenue), tickets, avg_ticket, items_per_ticket, growth_pct "
                         "FROM gold.store_kpis WHERE grain = 'month' AND period_start = '2024-04-01'")
    assert month == [(220.0, 1, 220.0, 3.0, pytest.approx(120.0))]
    # day grain compares with the same weekday 364 days earlier (2023-04-04 was a Tuesday, like 2024-04-02)
    assert scalar(client, "SELECT growth_pct FROM gold.store_kpis WHERE grain = 'day' AND period_start = '2024-04-02'") \
        == pytest.approx(120.0)


def test_refresh_touches_only_the_months_a_batch_brings(loaded, settings, tmp_path):
    before = rows(loaded, "SELECT partition, name FROM system.parts WHERE database = 'gold' AND table = 'hourly_traffic' "
                          "AND active ORDER BY partition")
    late = ["T9", "1", "L2", "V3", "", "P3", "1", "20.00", "0", "2024-04-20 12:00:00"]
    load(loaded, settings, write_csv(tmp_path / "late", "vendas_abril.csv", SALES_HEADER, [late]))
    after = rows(loaded, "SELECT partition, name FROM system.parts WHERE database = 'gold' AND table = 'hourly_traffic' "
                         "AND active ORDER BY partition")
    march_before = [r for r in before if r[0] == "202403"]
    assert march_before and march_before == [r for r in after if r[0] == "202403"]  # March part untouched
    assert [r for r in before if r[0] == "202404"] != [r for r in after if r[0] == "202404"]
    assert scalar(loaded, "SELECT sum(tickets) FROM gold.hourly_traffic WHERE store_id = 'L2'") == 2


def test_daily_sales_a_month_per_query_equals_every_month_at_once(loaded, monkeypatch):
    """daily_sales is computed a few months per query to bound the warehouse's memory at chain
    scale: a stock snapshot still carries into the months after its own, and the rows are the same."""
    from warehouse import gold

    query = "SELECT * FROM gold.daily_sales ORDER BY store_id, sku, date"
    monkeypatch.setattr(gold, "MONTHS_PER_INSERT", 12)
    gold.refresh(loaded, {"daily_sales": {gold.ALL}})
    at_once = rows(loaded, query)
    monkeypatch.setattr(gold, "MONTHS_PER_INSERT", 1)
    gold.refresh(loaded, {"daily_sales": {gold.ALL}})
    assert rows(loaded, query) == at_once
    # L1's P1 was counted at 0 on 10/3: April knows it from March's snapshot
    assert scalar(loaded, "SELECT on_hand FROM gold.daily_sales WHERE store_id = 'L1' AND sku = 'P1' "
                          "AND date = '2024-04-01'") == 0
    assert not rows(loaded, "SHOW TABLES FROM gold LIKE '_stage%'")  # the staging tables are gone

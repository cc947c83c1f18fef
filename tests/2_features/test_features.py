"""Spark feature pipelines against a plain-Python computation of the same definitions, on series
with gaps, one day of history, a discontinued SKU, stock-outs and overlapping promotions."""

from __future__ import annotations

import math
import random
import statistics
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from features.build import FeatureInputError, build
from features.calendar import EPOCH
from features.definitions import GRANULARITIES, demand, feature_set
from features.spark import spark_session
from tests.conftest import REPO, SALES_HEADER, load, write_csv
from warehouse.calendar import public_holidays, retail_event_days
from warehouse.privacy import pseudonym_key, pseudonymise
from warehouse.settings import load_settings

D = date.fromisoformat
STOCK = [("L1", "P1", "2024-01-01", 30), ("L1", "P1", "2024-01-20", 0), ("L1", "P1", "2024-03-01", 25),
         ("L1", "P1", "2024-04-10", 0), ("L1", "P1", "2024-04-15", 12), ("L1", "P3", "2024-01-01", 50)]
PROMOS = [("PR1", "P1", "L1", "2024-03-05", "2024-03-10", 20.0), ("PR2", "P3", "", "2024-01-10", "2024-01-15", 10.0),
          ("PR3", "P3", "L1", "2024-01-12", "2024-01-13", 30.0)]
PRICES = {"P1": [(D("2024-01-01"), D("2024-03-15"), 40.0), (D("2024-03-16"), None, 50.0)],
          "P2": [(D("2024-01-01"), None, 100.0)], "P3": [(D("2024-01-01"), None, 20.0)]}


def days(first: str, last: str) -> list[date]:
    return [D(first) + timedelta(days=i) for i in range((D(last) - D(first)).days + 1)]


def planned_units() -> dict[tuple[str, str, date], int]:
    """Units sold per store, SKU and day (0 = no line written)."""
    rng = random.Random(7)
    out = {}
    stocked_out = set(days("2024-01-20", "2024-01-31")) | set(days("2024-04-10", "2024-04-14"))
    for d in days("2023-01-02", "2023-01-31") + days("2024-01-01", "2024-01-31") + days("2024-03-01", "2024-04-30"):
        if d not in stocked_out:  # L1 P1: a year-old January, a gap in February 2024, two stock-outs
            out["L1", "P1", d] = rng.choice([0, 0, 1, 2, 3, 5])
    for d in days("2024-01-01", "2024-04-30"):
        out["L1", "P3", d] = rng.choice([0, 1, 1, 2])
    for d in days("2024-01-01", "2024-02-15"):  # L2 P3: discontinued mid-February
        out["L2", "P3", d] = rng.choice([0, 2, 4])
    out["L1", "P2", D("2024-05-01")] = 3  # one day of history, on the last day of data
    return out


def write_facts(folder, units: dict, name: str = "vendas.csv", stock=STOCK, promos=PROMOS) -> list:
    lines = [[f"T{i}", "1", s, "V2" if s == "L1" else "V3", "", k, str(q), f"{regular_price(k, d) or 40:.2f}", "0",
              f"{d} 12:00:00"]
             for i, ((s, k, d), q) in enumerate(sorted(units.items())) if q]
    return [write_csv(folder, name, SALES_HEADER, [[f"{name}-{r[0]}", *r[1:]] for r in lines]),
            write_csv(folder, "estoque.csv", ["cod_loja", "cod_prod", "data", "estoque"], [list(r) for r in stock]),
            write_csv(folder, "promocoes.csv", ["cod_promo", "cod_prod", "cod_loja", "data_inicio", "data_fim",
                                                "desconto_pct"], [list(r) for r in promos])]


@pytest.fixture(scope="module")
def spark():
    return spark_session(load_settings(spark_master="local[2]", spark_driver_memory="2g", spark_shuffle_partitions=4),
                         short_jobs=True)  # test data: a few thousand rows


@pytest.fixture
def warehouse(spark, client, settings, dims, tmp_path):
    load(client, settings, dims, *write_facts(tmp_path / "facts", planned_units()))
    return settings


def built(settings, name: str, as_of: date | None = None) -> pd.DataFrame:
    (run,) = build(settings, (name,), as_of)
    return pd.read_parquet(run.path).sort_values(list(feature_set(name).keys)).reset_index(drop=True)


class Reference:
    """The demand features of definitions.py computed the obvious way, one row at a time."""

    def __init__(self, units: dict, keys: set[tuple[str, str, date]], period_days: int = 1) -> None:
        self.p = period_days
        self.units: dict = {}
        for (s, k, d), q in units.items():
            start = self.start(d)
            self.units[s, k, start] = self.units.get((s, k, start), 0) + q
        self.keys = keys
        self.first: dict = {}
        for s, k, d in keys:
            self.first[s, k] = min(self.first.get((s, k), d), d)

    def start(self, d: date) -> date:
        return d - timedelta(days=(d - EPOCH).days % self.p)

    def back(self, d: date, n: int) -> date:
        return d - timedelta(days=n * self.p)

    def u(self, s, k, d) -> int:
        return self.units.get((s, k, d), 0)

    def seen(self, s, k, d, w) -> int:
        return min(w, (d - self.first[s, k]).days // self.p)

    def lag(self, s, k, d, n):
        return None if self.back(d, n) < self.first[s, k] else self.u(s, k, self.back(d, n))

    def window(self, s, k, d, w) -> list[int]:
        return [self.u(s, k, self.back(d, i)) for i in range(1, self.seen(s, k, d, w) + 1)]


def on_hand_asof(s, k, d):
    snaps = [(D(day), n) for st, sku, day, n in STOCK if (st, sku) == (s, k) and D(day) <= d]
    return max(snaps)[1] if snaps else None


def regular_price(k, d):
    return next((p for start, end, p in PRICES.get(k, ()) if start <= d and (end is None or d <= end)), None)


def promo_depth(s, k, d):
    return max([pct for _, sku, st, a, b, pct in PROMOS if sku == k and st in ("", s) and D(a) <= d <= D(b)],
               default=0.0)


def same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and not (isinstance(b, float) and math.isnan(b)) and math.isclose(a, b, abs_tol=1e-9)


def expected_daily(ref: Reference, s, k, d) -> dict:
    row = {f"units_lag_{n}": ref.lag(s, k, d, n) for n in (1, 7, 14, 28)}
    row["units_lag_year"] = ref.lag(s, k, d, 364)
    for w in (7, 28, 91):
        vals = ref.window(s, k, d, w)
        row[f"units_mean_{w}"] = statistics.fmean(vals) if vals else None
        row[f"units_std_{w}"] = statistics.pstdev(vals) if vals else None
        row[f"units_zero_share_{w}"] = sum(v == 0 for v in vals) / len(vals) if vals else None
    prior = [d - timedelta(days=i) for i in range(1, ref.seen(s, k, d, 28) + 1)]
    row["stockout_share_28"] = (sum((s, k, x) in ref.keys and on_hand_asof(s, k, x) == 0 for x in prior) / len(prior)
                                if prior else None)
    yesterday = d - timedelta(days=1)
    row["on_hand_start"] = on_hand_asof(s, k, yesterday) if (s, k, yesterday) in ref.keys else None
    price, month_ago = regular_price(k, d), d - timedelta(days=28)
    price_then = regular_price(k, month_ago) if month_ago >= ref.first[s, k] else None
    row["regular_price"] = price
    row["regular_price_change_pct"] = 100 * (price / price_then - 1) if price and price_then else None
    row["promo_depth_pct"] = promo_depth(s, k, d)
    row["price"] = price * (1 - promo_depth(s, k, d) / 100) if price else None
    row["series_age"] = (d - ref.first[s, k]).days
    row["day_of_week"] = d.weekday()
    row["holidays_in_period"] = int(d in public_holidays(range(2023, 2025), "BR"))
    upcoming = min(day for _, day in retail_event_days(range(2023, 2026)) if day >= d)
    row["days_to_next_event"] = (upcoming - d).days
    return row


def test_daily_demand_features_equal_a_plain_computation(warehouse):
    got = built(warehouse, "demand_day")
    keys = {(r.store_id, r.sku, r.date) for r in got.itertuples()}
    units = planned_units()
    ref = Reference(units, keys)
    checked = 0
    for r in got.to_dict("records"):
        s, k, d = r["store_id"], r["sku"], r["date"]
        assert r["units"] == units.get((s, k, d), 0)
        for column, value in expected_daily(ref, s, k, d).items():
            assert same(value, r[column]), f"{s} {k} {d} {column}: expected {value}, Spark gave {r[column]}"
        checked += 1
    assert checked == len(got) > 300
    # the series the issue names are all there, with their shapes
    # a series runs every day from its first record to the last day of data: the February gap is
    # zero-sale days, and a SKU that stopped selling keeps its zeros (nothing says it was delisted)
    gap = got[(got.store_id == "L1") & (got.sku == "P1") & (got.date.map(lambda d: (d.year, d.month)) == (2024, 2))]
    assert len(gap) == 29 and (gap.units == 0).all()
    assert min(d for s, k, d in keys if (s, k) == ("L1", "P1")) == D("2023-01-02")
    one_day = got[(got.store_id == "L1") & (got.sku == "P2")]
    assert len(one_day) == 1 and one_day.units_lag_1.isna().all() and one_day.units_mean_7.isna().all()
    stopped = got[(got.store_id == "L2") & (got.sku == "P3")]
    assert stopped.date.max() == D("2024-05-01") and (stopped[stopped.date > D("2024-02-15")].units == 0).all()
    stockout = got[(got.store_id == "L1") & (got.sku == "P1") & (got.date == D("2024-01-21"))].iloc[0]
    assert stockout.on_hand_start == 0 and stockout.out_of_stock_at_start == 1 and stockout.stockout_days == 1
    january_2024 = got[(got.store_id == "L1") & (got.sku == "P1") & (got.date == D("2024-01-02"))].iloc[0]
    assert january_2024.units_lag_year == units.get(("L1", "P1", D("2023-01-03")), 0)  # same weekday last year
    overlap = got[(got.store_id == "L1") & (got.sku == "P3") & (got.date == D("2024-01-12"))].iloc[0]
    assert overlap.promo_depth_pct == 30.0 and overlap.price == pytest.approx(14.0)  # deepest promotion wins


def test_weekly_demand_is_the_same_code_on_weeks(warehouse):
    got = built(warehouse, "demand_week")
    assert list(got.columns) == demand(GRANULARITIES["week"]).columns
    daily_keys = {(r.store_id, r.sku, r.date) for r in built(warehouse, "demand_day").itertuples()}
    ref = Reference(planned_units(), {(s, k, d - timedelta(days=(d - EPOCH).days % 7)) for s, k, d in daily_keys}, 7)
    assert all(d.weekday() == 0 for d in got.date)
    for r in got.to_dict("records"):
        s, k, d = r["store_id"], r["sku"], r["date"]
        assert r["units"] == ref.u(s, k, d)
        assert same(ref.lag(s, k, d, 1), r["units_lag_1"]) and same(ref.lag(s, k, d, 52), r["units_lag_year"])
        vals = ref.window(s, k, d, 4)
        assert same(statistics.fmean(vals) if vals else None, r["units_mean_4"]), (s, k, d)
        assert same(sum(v == 0 for v in vals) / len(vals) if vals else None, r["units_zero_share_4"])
    week = got[(got.store_id == "L1") & (got.sku == "P1") & (got.date == D("2024-03-04"))].iloc[0]
    assert week.promo_days_share == pytest.approx(6 / 7) and week.promo_depth_pct == pytest.approx(120 / 7)
    stockout_week = got[(got.store_id == "L1") & (got.sku == "P1") & (got.date == D("2024-01-22"))].iloc[0]
    assert stockout_week.stockout_days == 7


def test_past_features_do_not_move_when_the_future_changes(warehouse, client, tmp_path):
    before = built(warehouse, "demand_day")
    cut = D("2024-04-01")
    future = {("L1", "P1", d): 40 for d in days("2024-04-01", "2024-04-30")}  # a huge April for L1 P1
    future |= {("L2", "P1", d): 9 for d in days("2024-04-01", "2024-05-01")}  # a new series
    stock = [("L1", "P3", "2024-04-02", 0)]
    promos = [("PR9", "P3", "", "2024-04-05", "2024-04-20", 50.0)]
    load(client, warehouse, *write_facts(tmp_path / "future", future, "vendas_futuro.csv", stock, promos))
    after = built(warehouse, "demand_day")
    past_before, past_after = before[before.date < cut], after[after.date < cut].reset_index(drop=True)
    pd.testing.assert_frame_equal(past_before.reset_index(drop=True), past_after)
    assert not before[before.date >= cut].reset_index(drop=True).equals(after[after.date >= cut].reset_index(drop=True))


def test_as_of_builds_only_from_earlier_data(warehouse):
    got = built(warehouse, "demand_day", as_of=D("2024-03-10"))
    assert got.date.max() == D("2024-03-09")
    full = built(warehouse, "demand_day")
    pd.testing.assert_frame_equal(got, full[full.date < D("2024-03-10")].reset_index(drop=True))


def test_empty_warehouse_says_what_to_do(spark, settings):
    with pytest.raises(FeatureInputError, match="no sales to build features from: ingest data first"):
        build(settings)


def test_as_of_before_the_data_says_where_data_starts(warehouse):
    with pytest.raises(FeatureInputError, match="no sales before 2020-01-01.*data starts 2023-01-02"):
        build(warehouse, ("demand_day",), D("2020-01-01"))


def test_spark_submit_entry_builds_with_settings_from_the_environment(warehouse, monkeypatch, capsys):
    """``spark-submit features/build.py --sets …`` (a cluster's own submit) builds like the CLI."""
    from features.build import latest_run, main

    monkeypatch.setenv("VITRINE_HOME", str(warehouse.home))
    main(["--sets", "demand_week", "--as-of", "2024-04-01"])
    assert "demand_week: " in capsys.readouterr().out
    assert latest_run(warehouse, "demand_week").as_of == date(2024, 4, 1)


def test_demand_is_the_same_however_many_slices_compute_it(warehouse, monkeypatch):
    """Each task computes its slice alone: a series split between two slices would restart its lags."""
    import features.build

    whole = built(warehouse, "demand_week")
    monkeypatch.setattr(features.build, "DEMAND_ROWS_PER_TASK", 40)  # ~1,500 daily rows: dozens of slices
    (run,) = build(warehouse, ("demand_week",))
    assert len(list(run.path.glob("*.parquet"))) >= 3  # the four series (a slice without rows writes no part)
    pd.testing.assert_frame_equal(pd.read_parquet(run.path).sort_values(["store_id", "sku", "date"])
                                  .reset_index(drop=True), whole)
    one = warehouse.model_copy(update={"clickhouse_read_slices": 1})
    monkeypatch.setattr(features.build, "DEMAND_ROWS_PER_TASK", 10**9)
    (run,) = build(one, ("demand_week",))
    assert len(list(run.path.glob("*.parquet"))) == 1
    pd.testing.assert_frame_equal(pd.read_parquet(run.path).sort_values(["store_id", "sku", "date"])
                                  .reset_index(drop=True), whole)


def test_the_handoff_bounds_the_rows_buffered_for_its_open_files(warehouse, monkeypatch, tmp_path):
    """The embedded ClickHouse holds a row group per open slice file: the groups shrink as the
    slices grow (52 slices of 1M-row groups took the driver to 4.65 GiB at large), and every row
    still lands in exactly one slice, in series order."""
    import pyarrow.parquet as pq

    import features.source
    from features.build import _queries
    from warehouse.clickhouse import connect

    monkeypatch.setattr(features.source, "HANDOFF_BUFFER_ROWS", 400)
    daily = _queries(date(2024, 6, 1))["daily"]
    files = [Path(p) for p in features.source.slice_parts(warehouse, daily, 4, tmp_path)]
    groups = [pq.ParquetFile(f).metadata.row_group(i).num_rows for f in files
              for i in range(pq.ParquetFile(f).metadata.num_row_groups)]
    assert max(groups) <= 150 and len(groups) > len(files)  # 400 rows in all, ~100 per slice file (ClickHouse cuts between blocks)
    parts = [pq.read_table(f).to_pandas() for f in files]
    for part in parts:  # whole series, each sorted by day
        assert part.groupby(["store_id", "sku"])["date"].apply(lambda d: d.is_monotonic_increasing).all()
    [(rows, series)] = connect(warehouse).query(f"SELECT count(), uniqExact(store_id, sku) FROM ({daily.sql()})").result_rows
    together = pd.concat(parts)
    assert len(together) == rows > 400 and together.groupby(["store_id", "sku"]).ngroups == series
    assert sum(part.groupby(["store_id", "sku"]).ngroups for part in parts) == series  # no series in two slices


def test_unknown_feature_set_is_named(warehouse):
    with pytest.raises(KeyError, match="unknown feature set 'demand_month'"):
        build(warehouse, ("demand_month",))


def sale(ticket, line, sku, qty, when, store="L1", customer=""):
    seller = "V2" if store == "L1" else "V3"
    price = regular_price(sku, D(when[:10])) or 40  # sold at the list price, as the rules want
    return [ticket, str(line), store, seller, customer, sku, str(qty), f"{price:.2f}", "0", when]


def test_hourly_traffic_features_from_the_same_weekday_and_hour(spark, client, settings, dims, tmp_path):
    mondays = days("2024-01-01", "2024-01-29")[::7]
    lines = []
    for w, monday in enumerate(mondays):
        lines += [sale(f"M{w}-{i}", 1, "P1", 1, f"{monday} 10:{i:02d}:00") for i in range(w + 1)]  # 1..5 at 10h
        lines += [sale(f"N{w}-{i}", 1, "P2", 1, f"{monday} 12:{i:02d}:00") for i in range(2)]  # 2 at 12h
    lines.append(sale("TUE", 1, "P3", 1, "2024-01-02 10:30:00"))
    promos = [["PA", "P1", "", "2024-01-20", "2024-02-10", "10"], ["PB", "P2", "L1", "2024-01-29", "2024-01-29", "5"],
              ["PC", "P2", "L2", "2024-01-29", "2024-01-29", "5"]]
    d = tmp_path / "facts"
    load(client, settings, dims, write_csv(d, "vendas.csv", SALES_HEADER, lines),
         write_csv(d, "promocoes.csv", ["cod_promo", "cod_prod", "cod_loja", "data_inicio", "data_fim", "desconto_pct"],
                   promos))
    got = built(settings, "traffic_hour").set_index(["date", "hour"])
    assert sorted({d for d, _ in got.index}) == [*mondays[:1], D("2024-01-02"), *mondays[1:]]  # closed days absent
    assert set(got.loc[D("2024-01-02")].index) == {10, 11, 12}  # the store's trading hours, even if empty
    last = got.loc[(D("2024-01-29"), 10)]
    assert (last.tickets, last.tickets_last_week, last.tickets_mean_4_weeks) == (5, 4, 2.5)
    assert last.tickets_weekday_hour_profile == 2.5 and last.items_last_week == 4
    assert last.tickets_day_mean_4_weeks == pytest.approx((3 + 1 + 4 + 5 + 6) / 5)
    assert last.promotions_running == 2 and last.is_holiday == 0
    empty_hour = got.loc[(D("2024-01-29"), 11)]
    assert (empty_hour.tickets, empty_hour.tickets_last_week) == (0, 0)
    first = got.loc[(D("2024-01-01"), 10)]
    assert pd.isna(first.tickets_last_week) and first.is_holiday == 1  # New Year's Day


def test_basket_matrix_indexes_weights_and_bulk_orders(spark, client, settings, dims, tmp_path):
    bulk_skus = [f"PB{i:02d}" for i in range(51)]
    d = tmp_path / "facts"
    products = write_csv(d, "produtos_extra.csv", ["cod_prod", "nome_abrev", "nome", "categoria", "sub_categoria",
                                                   "marca", "data_lancamento"],
                         [[s, s, s, "cabelos", "shampoo", "Brisa", "2020-01-01"] for s in bulk_skus])
    lines = [sale("B1", 1, "P1", 2, "2024-03-01 10:00:00", customer="C1"),
             sale("B1", 2, "P2", 1, "2024-03-01 10:00:00", customer="C1"),
             sale("B2", 1, "P1", 1, "2024-03-02 10:00:00"), sale("B2", 2, "P3", 1, "2024-03-02 10:00:00"),
             sale("B3", 1, "P2", 1, "2024-03-03 10:00:00"), sale("B3", 2, "P2", -1, "2024-03-03 10:05:00"),
             sale("B3", 3, "P3", 1, "2024-03-03 10:00:00"),
             *(sale("B4", i + 1, s, 1, "2024-03-04 10:00:00") for i, s in enumerate(bulk_skus)),
             sale("B5", 1, "P1", 1, "2024-03-05 10:00:00", customer="C1")]
    load(client, settings, dims, products, write_csv(d, "vendas.csv", SALES_HEADER, lines))
    got = built(settings, "basket_lines")
    assert "B4" not in set(got.ticket_id)  # 51 distinct SKUs: a bulk order, not a basket
    assert [tuple(r) for r in got[["ticket_id", "sku", "basket_idx", "item_idx", "units"]].itertuples(index=False)] == [
        ("B1", "P1", 0, 0, 2), ("B1", "P2", 0, 1, 1), ("B2", "P1", 1, 0, 1), ("B2", "P3", 1, 2, 1),
        ("B3", "P3", 2, 2, 1), ("B5", "P1", 3, 0, 1)]  # P2 returned within B3: not bought
    idf = dict(zip(got.sku, got.idf))
    assert idf == pytest.approx({"P1": math.log(4 / 3), "P2": math.log(4), "P3": math.log(2)})
    customers = built(settings, "customer_items")
    c1 = pseudonymise("C1", pseudonym_key(settings))  # ids arrive pseudonymised (LGPD)
    assert [tuple(r) for r in customers[["customer_id", "sku", "baskets", "units"]].itertuples(index=False)] == [
        (c1, "P1", 2, 3), (c1, "P2", 1, 1)]
    assert customers.last_bought.max() == D("2024-03-05")


@pytest.fixture
def clickhouse_server(tmp_path):
    """A ClickHouse HTTP endpoint in a child process (tests/clickhouse_http.py); yields (url, log path)."""
    import subprocess
    import sys
    import time

    port_file, log = tmp_path / "server.port", tmp_path / "server.log"
    child = subprocess.Popen([sys.executable, "-m", "tests.clickhouse_http", str(tmp_path / "server-data"),
                              str(port_file), str(log)], cwd=str(REPO))
    deadline = time.monotonic() + 60
    while not port_file.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert port_file.exists(), "the ClickHouse HTTP endpoint did not start"
    yield f"http://127.0.0.1:{port_file.read_text()}", log
    child.terminate()
    child.wait(timeout=30)


def test_a_clickhouse_server_is_read_by_spark_workers_in_slices(warehouse, clickhouse_server, dims, tmp_path):
    from pyspark.sql import functions as F

    from features import source
    from features.source import TableQuery
    from warehouse.clickhouse import connect

    url, log = clickhouse_server
    server = load_settings(home=tmp_path / "server-home", clickhouse_url=url, clickhouse_read_slices=4)
    load(connect(server), server, dims, *write_facts(tmp_path / "facts", planned_units()))
    pd.testing.assert_frame_equal(built(server, "demand_day"), built(warehouse, "demand_day"))
    statements = log.read_text()
    for i in range(4):  # one query per slice, each with the projection and the as-of cut inside ClickHouse
        assert (f"SELECT store_id, sku, date, units, toFloat64(revenue) AS revenue, on_hand, toUInt8(1) AS observed "
                f"FROM gold.daily_sales WHERE (date < '2024-05-02') AND cityHash64(store_id, sku) % 4 = {i} "
                "ORDER BY store_id, sku, date WITH FILL") in statements

    # one read, two differently filtered uses in one plan: each keeps its own rows
    query = TableQuery("gold.daily_sales", ("store_id", "sku", "units"), "units > 2", slice_by="store_id, sku")
    frame = source.read(spark_session(server), server, query, tmp_path / "unused")
    counts = frame.where(F.col("store_id") == "L2").groupBy().count().withColumnRenamed("count", "l2") \
        .crossJoin(frame.where(F.col("store_id").isNull() | (F.col("store_id") != "L2")).groupBy().count())
    expected_l2 = sum(1 for (s, _, _), q in planned_units().items() if s == "L2" and q > 2)
    expected_all = sum(1 for q in planned_units().values() if q > 2)
    assert tuple(counts.first()) == (expected_l2, expected_all - expected_l2)

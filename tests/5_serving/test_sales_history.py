"""Sales history by period on hand-made data with known answers: sums, targets spread over the
days, commission at the month's rate, the same period a year before, posted sales counted at once,
the period in progress projected, and ranges refused with a reason."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from serving import sales_history
from serving.live_figures import LiveFigures
from tests.conftest import SALES_HEADER, load, write_csv
from warehouse import figures, live_sales
from warehouse.settings import load_settings

# Bruno (V2, store L1): a shampoo on Sat 25/02/2023, five on Sat 04/03/2023, one on 20/02/2024, then
# a lipstick pair and a perfume on Sat 02/03/2024 (R$ 200). Ana (V1, L1) sells R$ 60 on 05/03/2024.
SALES = [["A1", "1", "L1", "V2", "", "P3", "1", "20.00", "0", "2023-02-25 10:00:00"],
         ["A2", "1", "L1", "V2", "", "P3", "5", "20.00", "0", "2023-03-04 10:00:00"],
         ["T4", "1", "L1", "V2", "", "P3", "1", "20.00", "0", "2024-02-20 11:00:00"],
         ["T1", "1", "L1", "V2", "C1", "P1", "2", "50.00", "0", "2024-03-02 10:00:00"],
         ["T1", "2", "L1", "V2", "C1", "P2", "1", "100.00", "0", "2024-03-02 10:00:00"],
         ["T2", "1", "L1", "V1", "", "P3", "3", "20.00", "0", "2024-03-05 16:00:00"]]
# targets: R$ 2 a day in February 2024 (29 days), R$ 6 a day in March (31 days)
TARGETS = [["V2", "2024-02", "58.00"], ["V2", "2024-03", "186.00"], ["V1", "2024-03", "310.00"]]


@pytest.fixture
def live(client, settings, dims, tmp_path) -> LiveFigures:
    targets = write_csv(dims, "metas.csv", ["id_employee", "mes", "sales_target"], TARGETS)
    report = load(client, settings, dims, targets, write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER, SALES))
    assert report.quarantined == 0
    figures.publish(client, settings, live_sales.exported_upto(settings))
    settings = load_settings(home=settings.home, today=date(2024, 3, 10))
    # a perfume posted on Sunday 10/03, after the pipeline ran: counted at once
    posted = live_sales.SaleLine("L9", 1, "L1", "V2", None, "P2", 1, 100.0, 0.0, datetime(2024, 3, 10, 9, 30))
    assert live_sales.accept(settings, [posted]) == (1, 0)
    return LiveFigures(settings)


def by_start(found: dict) -> dict[date, dict]:
    return {p["start"]: p for p in found["periods"]}


def test_months_sum_the_sales_with_targets_commission_last_year_and_projection(client, live):
    found = sales_history.history(live, ["V2"], "month", date(2023, 2, 1), date(2024, 3, 31))
    months = by_start(found)
    assert list(months) == [date(2023, m, 1) for m in range(2, 13)] + [date(2024, m, 1) for m in range(1, 4)]
    assert found["end"] == date(2024, 3, 31)
    march_2023 = months[date(2023, 3, 1)]
    assert (march_2023["sales"], march_2023["tickets"], march_2023["target"]) == (100.0, 1, None)
    assert march_2023["commission"] == pytest.approx(3.0)  # the 3% default, no target, no tier
    assert march_2023["sales_last_year"] is None  # the data does not reach back to 2022
    february = months[date(2024, 2, 1)]
    assert (february["sales"], february["target"], february["attainment_pct"]) == (20.0, 58.0, 34.5)
    assert february["sales_last_year"] is None  # February 2023 is only partly in the data (from the 25th)
    assert not february["in_progress"] and february["projected_sales"] is None
    warehouse = client.query("SELECT toFloat64(commission) FROM gold.seller_month "
                             "WHERE seller_id = 'V2' AND month = '2024-02-01'").result_rows[0][0]
    assert february["commission"] == pytest.approx(warehouse)
    # March so far: R$ 200 from the warehouse and R$ 100 posted today, 161% of R$ 186 reaches the
    # 120% tier: lipstick 100 × 3% + perfume 200 × 5% + 300 × 2% = R$ 19, as seller_summary says
    march = months[date(2024, 3, 1)]
    assert (march["sales"], march["tickets"], march["target"], march["attainment_pct"]) == (300.0, 2, 186.0, 161.3)
    assert march["commission"] == pytest.approx(19.0) == live.seller_summary("V2").commission_accrued
    assert (march["sales_last_year"], march["change_pct"]) == (100.0, 200.0)
    assert march["in_progress"] and march["projected_sales"] == 930.0  # 10 of 31 days
    assert march["projected_commission"] == pytest.approx(58.9)


def test_weeks_compare_the_same_weekdays_and_split_targets_across_months(live):
    weeks = by_start(sales_history.history(live, ["V2"], "week", date(2024, 2, 28), date(2024, 3, 10)))
    assert list(weeks) == [date(2024, 2, 26), date(2024, 3, 4)]  # whole weeks, Monday first
    straddling = weeks[date(2024, 2, 26)]
    assert straddling["end"] == date(2024, 3, 3)
    assert straddling["target"] == 4 * 2.0 + 3 * 6.0  # four February days, three March days
    assert straddling["sales_last_year"] == 100.0  # Sat 02/03/2024 against Sat 04/03/2023
    assert straddling["commission"] == pytest.approx(200 * 19 / 300, abs=0.005)  # at the rate March reached
    assert weeks[date(2024, 3, 4)]["sales"] == 100.0 and not weeks[date(2024, 3, 4)]["in_progress"]


def test_days_add_up_to_the_month_and_default_to_the_last_thirty(live):
    days = sales_history.history(live, ["V2"], "day")
    assert len(days["periods"]) == 30 and days["periods"][-1]["start"] == date(2024, 3, 10)
    march = [p for p in days["periods"] if p["start"].month == 3]
    month = by_start(sales_history.history(live, ["V2"], "month", date(2024, 3, 1)))[date(2024, 3, 1)]
    for field in ("sales", "tickets", "commission"):
        assert sum(p[field] for p in march) == pytest.approx(month[field], abs=0.02)
    saturday = by_start(days)[date(2024, 3, 2)]
    assert (saturday["avg_ticket"], saturday["sales_last_year"]) == (200.0, 100.0)
    assert by_start(days)[date(2024, 3, 3)]["avg_ticket"] is None  # no tickets, no average


def test_the_team_sums_its_sellers(live):
    team = by_start(sales_history.history(live, ["V1", "V2"], "month", date(2024, 3, 1), store_id="L1"))
    march = team[date(2024, 3, 1)]
    assert (march["sales"], march["tickets"], march["target"]) == (360.0, 3, 496.0)
    ana = live.seller_summary("V1").commission_accrued
    assert march["commission"] == pytest.approx(19.0 + ana)


def test_a_shaped_report_is_the_history_of_yesterdays_period_for_each_seller_and_the_team(live):
    from serving import reports
    from warehouse.reports import Report

    table = reports.content(live, "L1", Report("Mês", ("sales", "attainment_pct", "commission"), grain="month"))
    assert (table["period_start"], table["period_end"], table["in_progress"]) == (date(2024, 3, 1), date(2024, 3, 31), True)
    assert [(r["seller_id"], r["values"]["sales"]) for r in table["rows"]] == [("V2", 300.0), ("V1", 60.0), (None, 360.0)]
    bruno = by_start(sales_history.history(live, ["V2"], "month", date(2024, 3, 1)))[date(2024, 3, 1)]
    assert table["rows"][0]["values"] == {m: bruno[m] for m in ("sales", "attainment_pct", "commission")}
    assert table["rows"][-1]["name"] == "Equipe Loja Centro"
    day = reports.content(live, "L1", Report("Ontem", ("sales",)))  # today is 10/03: yesterday, 09/03
    assert day["period_start"] == day["period_end"] == date(2024, 3, 9) and not day["in_progress"]


def test_ranges_it_cannot_show_are_refused_with_the_reason(live):
    with pytest.raises(sales_history.RangeError, match="at most 400"):
        sales_history.history(live, ["V2"], "day", date(2022, 1, 1))
    with pytest.raises(sales_history.RangeError, match="after the end"):
        sales_history.history(live, ["V2"], "week", date(2024, 3, 9), date(2024, 2, 1))
    with pytest.raises(sales_history.RangeError, match="end: 01/01/1 is before 01/01/1970"):
        sales_history.history(live, ["V2"], "month", None, date(1, 1, 1))
    future = sales_history.history(live, ["V2"], "month", date(2024, 3, 1), date(2024, 12, 31))
    assert [p["start"] for p in future["periods"]] == [date(2024, 3, 1)]  # nothing after today

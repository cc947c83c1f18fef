"""From traffic to sellers on hand-made cases: the Erlang C queue, the plan grid, peak windows, the
schedule and the sales at risk."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from models.queueing import erlang_c, sellers_needed, wait_beyond
from models.staffing import (
    StaffingPolicy,
    peak_windows,
    schedule_for,
    scheduled_sellers,
    staffing_plan,
)


def test_erlang_c_matches_the_textbook_case():
    # 20 customers an hour, 6 minutes each: 2 Erlangs. With 3 sellers, 4/9 of customers wait.
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert wait_beyond(3, 20, 6, 5) == pytest.approx(4 / 9 * math.exp(-(3 - 2) * 5 / 6))
    assert erlang_c(2, 2.0) == 1.0 and wait_beyond(0, 5, 6, 5) == 1.0  # the queue cannot keep up
    assert wait_beyond(1, 0, 6, 5) == 0.0


def test_sellers_needed_meets_the_service_target_and_the_utilisation_cap():
    assert sellers_needed(20, 6, answer_within_minutes=5, target_share=0.8) == 3  # 80.7% within 5 min
    assert sellers_needed(20, 6, answer_within_minutes=5, target_share=0.85) == 4
    # 50 an hour × 6 min = 5 Erlangs: the service target alone needs 6, the 70% cap 8 (5 / 8 = 62.5%)
    assert sellers_needed(50, 6, max_utilisation=0.7) == 8
    assert sellers_needed(0, 6) == 1 and sellers_needed(0, 6, minimum=0) == 0  # an open hour keeps one
    assert sellers_needed(0.5, 6, minimum=0) == 1  # anyone coming in needs someone there
    with pytest.raises(ValueError, match="service minutes"):
        sellers_needed(10, 0)
    with pytest.raises(ValueError, match="target share"):
        sellers_needed(10, 6, target_share=1.2)


def forecast_rows(hours: dict[int, float], day: str = "2026-11-02", store: str = "L1") -> pd.DataFrame:
    return pd.DataFrame({"store_id": store, "date": pd.Timestamp(day), "hour": list(hours),
                         "tickets_p10": [t / 2 for t in hours.values()], "tickets_p50": list(hours.values()),
                         "tickets_p90": [t * 1.5 for t in hours.values()], "items_p50": [2 * t for t in hours.values()]})


def test_plan_gives_sellers_per_hour_gaps_and_sales_at_risk():
    policy = StaffingPolicy(plan_on="p50", service_minutes={"L1": 6.0})
    schedule = pd.DataFrame({"store_id": "L1", "date": pd.Timestamp("2026-11-02"), "hour": [10, 11, 12],
                             "scheduled": [1, 3, 5]})
    value = pd.DataFrame({"store_id": "L1", "hour": [10, 11, 12], "ticket_value": [100.0, 100.0, 100.0]})
    plan = staffing_plan(forecast_rows({10: 20, 11: 20, 12: 2}), policy, {"L1": 2.0}, schedule, value)
    assert plan["sellers_needed"].tolist() == [3, 3, 1]
    assert plan["gap"].tolist() == [-2, 0, 4]  # under-staffed, right, over-staffed
    # one seller for 2 Erlangs: every customer waits, all 20 tickets × R$ 100 are at risk
    assert plan["sales_at_risk"].tolist() == [2000.0, 0.0, 0.0]
    assert plan["peak"].tolist() == [True, True, False] and (plan["basis"] == "store").all()
    assert plan["service_minutes"].eq(6.0).all()


def test_plan_on_p90_staffs_more_and_service_time_follows_basket_size():
    rows = forecast_rows({10: 20})
    lean = staffing_plan(rows, StaffingPolicy(plan_on="p50"), {"L1": 2.0})
    safe = staffing_plan(rows, StaffingPolicy(plan_on="p90"), {"L1": 2.0})
    assert safe["sellers_needed"].iloc[0] > lean["sellers_needed"].iloc[0]
    assert lean["service_minutes"].iloc[0] == pytest.approx(4.0 + 1.5 * 2.0)
    assert lean["scheduled"].isna().all() and lean["sales_at_risk"].eq(0).all()  # no schedule: no gap claimed
    with pytest.raises(ValueError, match="plan_on"):
        StaffingPolicy(plan_on="p75")


def test_closed_hours_need_no_one_and_peaks_form_windows():
    plan = staffing_plan(forecast_rows({10: 2, 11: 9, 12: 10, 13: 3, 17: 9, 18: 2}), StaffingPolicy(), {"L1": 1.0})
    assert set(plan["hour"]) == {10, 11, 12, 13, 17, 18}  # hours 14-16 closed: not in the plan at all
    windows = peak_windows(plan)
    assert windows[["start", "end"]].values.tolist() == [[11, 13], [17, 18]]
    assert windows["tickets_p50"].tolist() == [19.0, 9.0]


def test_shifts_count_in_the_hours_they_cover_for_half_an_hour():
    shifts = pd.DataFrame({"store_id": "L1", "seller_id": ["a", "b", "c"],
                           "shift_start": pd.to_datetime(["2026-11-02 10:00", "2026-11-02 12:20", "2026-11-02 16:00"]),
                           "shift_end": pd.to_datetime(["2026-11-02 16:00", "2026-11-02 14:40", "2026-11-02 17:10"])})
    on_duty = scheduled_sellers(shifts).set_index("hour")["scheduled"]
    assert on_duty.to_dict() == {10: 1, 11: 1, 12: 2, 13: 2, 14: 2, 15: 1, 16: 1}


def test_a_week_without_a_published_schedule_repeats_the_last_one():
    on_duty = pd.DataFrame({"store_id": "L1", "date": pd.to_datetime(["2026-11-02", "2026-11-03"]), "hour": 10,
                            "scheduled": [2, 4]})
    planned = schedule_for(on_duty, pd.date_range("2026-11-09", "2026-11-10"))
    assert planned["scheduled"].tolist() == [2, 4]
    assert planned["repeated_from"].tolist() == [pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-03")]
    assert schedule_for(on_duty, pd.DatetimeIndex(["2026-11-03"]))["repeated_from"].isna().all()

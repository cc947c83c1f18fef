"""The public forecasting API on data with known answers: fit_demand and fit_traffic."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from models import fit_demand, fit_traffic
from models.panel import demand_panel, traffic_panel

WEEKDAY = np.array([1.0, 0.8, 0.9, 1.1, 1.5, 2.0, 0.0])  # Monday … Sunday; closed on Sundays
START = pd.Timestamp("2025-01-06")  # a Monday


def daily_history(days: int = 210, series: int = 24, seed: int = 3) -> tuple[pd.DataFrame, dict[str, float]]:
    """Poisson sales around level × weekday; Sundays have no row at all (closed). Rows only where
    something sold, as a retailer's export has them."""
    rng = np.random.default_rng(seed)
    levels = {f"S{i:02d}": float(level) for i, level in enumerate(rng.uniform(0.5, 12, series))}
    rows = []
    for sid, level in levels.items():
        for d in range(days):
            day = START + pd.Timedelta(days=d)
            units = rng.poisson(level * WEEKDAY[day.day_of_week])
            if units:
                rows.append((sid, day, units))
    return pd.DataFrame(rows, columns=["series_id", "date", "units"]), levels


@pytest.fixture(scope="module")
def fitted_daily():
    history, levels = daily_history()
    return fit_demand(history, freq="D", horizon=14, country="BR"), levels, history


def test_fit_demand_recovers_level_and_weekday_pattern(fitted_daily):
    fitted, levels, history = fitted_daily
    forecast = fitted.predict()
    assert list(forecast.columns[:5]) == ["series_id", "date", "p10", "p50", "p90"]
    last = history["date"].max()
    # calendar days, closed days included: 14 consecutive days for every series
    assert set(forecast["date"]) == set(pd.date_range(last + pd.Timedelta(days=1), periods=14))
    assert forecast.groupby("series_id").size().eq(14).all() and forecast["series_id"].nunique() == len(levels)
    truth = forecast["series_id"].map(levels) * WEEKDAY[forecast["date"].dt.day_of_week]
    sundays = forecast["date"].dt.day_of_week == 6
    assert (forecast.loc[sundays, ["p10", "p50", "p90"]] == 0).all().all()  # the closed weekday is learnt
    open_days = ~sundays
    wape = np.abs(forecast.loc[open_days, "p50"] - truth[open_days]).sum() / truth[open_days].sum()
    assert wape < 0.12, f"forecast strays {wape:.1%} from the planted mean"
    assert (forecast["p10"] <= forecast["p50"]).all() and (forecast["p50"] <= forecast["p90"]).all()


def test_fit_demand_intervals_cover_about_80_percent_of_fresh_draws(fitted_daily):
    fitted, levels, _ = fitted_daily
    forecast = fitted.predict()
    forecast = forecast[forecast["date"].dt.day_of_week != 6]
    rng = np.random.default_rng(99)
    mean = forecast["series_id"].map(levels) * WEEKDAY[forecast["date"].dt.day_of_week]
    draws = rng.poisson(np.repeat(mean.to_numpy()[None, :], 20, axis=0))
    inside = (draws >= forecast["p10"].to_numpy()) & (draws <= forecast["p90"].to_numpy())
    assert 0.70 <= inside.mean() <= 0.93, f"P10–P90 covered {inside.mean():.1%} of fresh draws"


def test_the_blend_is_never_worse_than_its_best_member_on_the_backtest(fitted_daily):
    fitted = fitted_daily[0]
    scores = fitted.scores["rmsse"]
    assert scores["ensemble"] <= scores.drop("ensemble").min() + 1e-9
    assert {"auto_ets", "theta", "adida", "croston_sba", "tsb", "lightgbm", "seasonal_naive"} <= set(scores.index)
    for weights in fitted.weights.values():
        assert abs(sum(weights.values()) - 1) < 1e-9 and set(weights) <= set(scores.index)


def test_a_series_runs_from_its_first_sale_to_the_end_of_the_data():
    history, _ = daily_history(days=120, series=3)
    late = pd.DataFrame({"series_id": "NEW", "date": [START + pd.Timedelta(days=100)], "units": [4]})
    panel = demand_panel(pd.concat([history, late]), "D")
    row = list(panel.ids).index("NEW")
    assert np.isnan(panel.values[row, :100]).all()  # before launch: not a zero to train on
    assert panel.values[row, 100] == 4 and (panel.values[row, 101:] == 0).all()  # after: every day, 0 if unsold
    quiet = history[~((history["series_id"] == "S00") & (history["date"] > START + pd.Timedelta(days=90)))]
    assert (demand_panel(quiet, "D").values[0, 91:] == 0).all()


def promoted_history(days: int = 300, horizon: int = 14, series: int = 40, seed: int = 5
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Poisson sales that rise by 3 × the discount on promotion days (30% off, a week at a time),
    and the plan (price, on_promo) of the days ahead."""
    rng = np.random.default_rng(seed)
    rows, plan = [], []
    for i in range(series):
        level, depth = rng.uniform(1, 8), np.zeros(days + horizon)
        for first in rng.choice(days + horizon - 7, 6, replace=False):
            depth[first: first + 7] = 0.3
        for d in range(days + horizon):
            day = START + pd.Timedelta(days=d)
            if d < days:
                rows.append((f"S{i}", day, rng.poisson(level * (1 + 3 * depth[d])), 10 * (1 - depth[d]), depth[d]))
            else:
                plan.append((f"S{i}", day, 10 * (1 - depth[d]), depth[d]))
    return (pd.DataFrame(rows, columns=["series_id", "date", "units", "price", "on_promo"]),
            pd.DataFrame(plan, columns=["series_id", "date", "price", "on_promo"]))


def lean_pool() -> list:
    """The global model and one simple method: the plan reaches the former, and the test stays quick."""
    from models.global_gbm import GlobalGBM
    from models.pool import WindowAverage

    return [GlobalGBM(horizon=14), WindowAverage(28)]


def test_planned_promotions_lift_their_own_days():
    history, plan = promoted_history()
    forecast = fit_demand(history, horizon=14, future=plan, folds=2, members=lean_pool()).predict().merge(
        plan, on=["series_id", "date"])
    assert forecast["on_promo"].gt(0).sum() > 20
    per_series = forecast.groupby(["series_id", forecast["on_promo"] > 0])["p50"].mean().unstack().dropna()
    lift = (per_series[True] / per_series[False]).median()
    assert 1.5 < lift < 2.4, f"planted lift 1.9, forecast {lift:.2f}"
    # without the plan the drivers are not used: nothing to tell promotion days apart
    blind = fit_demand(history, horizon=14, folds=2, members=lean_pool()).predict().merge(plan, on=["series_id", "date"])
    per_series = blind.groupby(["series_id", blind["on_promo"] > 0])["p50"].mean().unstack().dropna()
    assert (per_series[True] / per_series[False]).median() < 1.2


def test_a_plan_for_an_unknown_series_is_refused():
    history, plan = promoted_history(days=60, series=2)
    with pytest.raises(ValueError, match="future names series 'NEW', which has no history"):
        fit_demand(history, horizon=7, future=pd.concat([plan, plan.head(1).assign(series_id="NEW")]))


def test_levels_add_up_and_are_scored_on_the_same_cells(fitted_daily):
    from models.level_scores import level_scores

    auto = fitted_daily[0].auto
    n = len(auto.panel.ids)
    scores, arrays = level_scores(auto, {"sku_store": np.arange(n), "chain": np.zeros(n, int)})
    assert set(scores["level"]) == {"sku_store", "chain"} and "ensemble" in set(scores["model"])
    series_actual = np.where(np.isfinite(auto.backtest.actual), auto.backtest.actual, 0).sum(axis=1)
    np.testing.assert_allclose(np.nan_to_num(arrays["chain:actual"][:, 0]), series_actual)
    np.testing.assert_allclose(np.nan_to_num(arrays["chain"][:, 0]),
                               np.where(np.isfinite(auto.backtest.actual), auto.blend, 0).sum(axis=1))
    chain = scores[scores["level"] == "chain"].set_index("model")
    assert chain.loc["ensemble", "rmsse"] < scores.set_index(["level", "model"]).loc[("sku_store", "ensemble"), "rmsse"]
    assert 0 <= chain.loc["ensemble", "coverage"] <= 1


def test_net_returns_do_not_turn_a_profile_upside_down():
    from models.pool import LevelTimesProfile

    history, _ = daily_history(days=120, series=3)
    returns = pd.DataFrame({"series_id": "RET", "date": [START + pd.Timedelta(days=d) for d in (100, 101)],
                            "units": [1, -2]})  # a sale, then more returned: negative net volume
    panel = demand_panel(pd.concat([history, returns]), "D")
    forecast = LevelTimesProfile().fit(panel).predict(14)["level_x_profile"]
    assert np.isfinite(forecast).all() and forecast.max() < 3 * np.nanmax(panel.values[:, -28:])


def test_holidays_and_retail_dates_are_read_from_the_history_and_applied_ahead():
    """Brazil's holidays sell half a normal day, Black Friday twice one, Christmas is closed (no row
    at all): the history's special days count as plain ones, and the next Christmas, All Souls' Day
    and Black Friday take the effect each had last time."""
    from models.pool import CalendarEffects
    from warehouse.calendar import public_holidays

    rng = np.random.default_rng(8)
    days = pd.date_range("2024-11-01", "2026-10-31")
    names = public_holidays(range(2024, 2027), "BR")
    black_fridays = {pd.Timestamp("2024-11-29"), pd.Timestamp("2025-11-28")}

    def mean(day: pd.Timestamp) -> float:
        return 30 * WEEKDAY[day.day_of_week] * (0.5 if day.date() in names else 2.0 if day in black_fridays else 1.0)

    rows = [(f"S{i}", day, rng.poisson(mean(day))) for i in range(4) for day in days
            if not (day.month == 12 and day.day == 25)]
    panel = demand_panel(pd.DataFrame(rows, columns=["series_id", "date", "units"]), "D", "BR")
    effects = CalendarEffects.read(panel)
    future = panel.future(56)  # to 26/12/2026
    ahead = pd.Series(effects.ahead(panel, 56), future)
    assert ahead[pd.Timestamp("2026-12-25")] == 0.0  # closed last Christmas
    assert 0.4 < ahead[pd.Timestamp("2026-11-02")] < 0.6  # Finados sold half last year
    assert 1.8 < ahead[pd.Timestamp("2026-11-27")] < 2.2  # Black Friday twice
    assert 0.85 < ahead[pd.Timestamp("2026-11-25")] < 1.15  # two days before it: as a plain day
    assert (ahead[[d for d in future if d.date() not in names and d.month != 12 and d.day not in (25, 26, 27)]]
            == 1.0).all()
    assert 0.4 < effects.usual < 0.6
    values = effects.adjust(panel)
    independence = panel.index.get_loc(pd.Timestamp("2026-09-07"))  # a Monday: level 30 a series
    assert 25 < values[:, independence].mean() < 35 and panel.values[:, independence].mean() < 20
    assert np.isnan(values[:, panel.index.get_loc(pd.Timestamp("2025-12-25"))]).all()
    one_store = panel.subset(np.array([0]))  # learnt on the whole panel, applied to part of it
    np.testing.assert_array_equal(effects.adjust(one_store), values[:1])
    nowhere = CalendarEffects.read(replace(panel, country=None))
    assert (nowhere.ahead(panel, 56) == 1.0).all() and np.array_equal(nowhere.adjust(panel), panel.values,
                                                                       equal_nan=True)


def test_the_trend_member_follows_a_rising_season():
    """Sales growing 0.4% a day: level × profile forecasts last month's level, the trend member
    the level ahead; a series of a few units takes the panel's growth, not its own noise."""
    from models.pool import LevelTimesProfile, LevelTimesProfileTrend

    rng = np.random.default_rng(9)
    days = pd.date_range("2026-01-05", periods=196)
    growth = np.exp(0.004 * np.arange(196 + 14))
    shape = WEEKDAY[days.day_of_week]
    rows = [(sid, day, rng.poisson(level * growth[d] * shape[d])) for sid, level in (("BIG", 80.0), ("TINY", 0.1))
            for d, day in enumerate(days)]
    panel = demand_panel(pd.DataFrame(rows, columns=["series_id", "date", "units"]), "D", None)
    truth = 80.0 * growth[196:] * WEEKDAY[panel.future(14).day_of_week]
    trend = LevelTimesProfileTrend().fit(panel).predict(14)["level_x_profile_trend"]
    plain = LevelTimesProfile().fit(panel).predict(14)["level_x_profile"]
    big, tiny = list(panel.ids).index("BIG"), list(panel.ids).index("TINY")
    assert abs(trend[big].sum() / truth.sum() - 1) < 0.04
    assert plain[big].sum() / truth.sum() < 0.93  # the level of the last 28 days lags the rise
    assert trend[tiny].sum() / plain[tiny].sum() == pytest.approx(trend[big].sum() / plain[big].sum(), rel=0.02)
    member = LevelTimesProfileTrend().fit(panel)  # a Spark executor forecasts a store's series alone
    alone = member.predict_for(panel.subset(np.array([tiny])), 14)["level_x_profile_trend"]
    np.testing.assert_allclose(alone[0], trend[tiny])


def test_weekly_data_keeps_its_weekday():
    rng = np.random.default_rng(4)
    wednesdays = pd.date_range("2023-01-04", periods=130, freq="7D")
    rows = [(f"D{i}", day, rng.poisson(20 + 10 * np.sin(2 * np.pi * k / 52)))
            for i in range(6) for k, day in enumerate(wednesdays)]
    fitted = fit_demand(pd.DataFrame(rows, columns=["series_id", "date", "units"]), freq="W", horizon=8)
    forecast = fitted.predict()
    assert (forecast["date"].dt.day_of_week == 2).all()
    assert forecast["date"].min() == wednesdays[-1] + pd.Timedelta(days=7)
    assert forecast.groupby("series_id").size().eq(8).all()


def test_weeks_with_two_years_known_are_forecast_from_the_same_weeks_of_both_years_too():
    """A weekly pool member for yearly seasons (a store × department's peak weeks): each week
    ahead is the mean of the same week one and two years back, so a planted year-end peak that
    grew from 40 to 60 is forecast at 50 where a recent average sees only the quiet weeks."""
    from models.global_gbm import GlobalGBM
    from models.pool import default_pool

    weeks = pd.date_range("2023-01-02", periods=3 * 52 - 8, freq="7D")  # origin: 8 weeks before the third peak
    in_year = np.arange(len(weeks)) % 52
    units = np.where(in_year >= 44, np.where(np.arange(len(weeks)) < 52, 40.0, 60.0), 10.0)
    panel = demand_panel(pd.DataFrame({"series_id": "dept", "date": weeks, "units": units}), "W", None)
    pool = {name: values[0] for member in default_pool(panel, 8) if not isinstance(member, GlobalGBM)
            for name, values in member.fit(panel).predict(8).items()}
    np.testing.assert_allclose(pool["seasonal_average_2"], 50.0)
    assert (pool["window_average_8"] == 10.0).all() and (pool["seasonal_naive"] == 60.0).all()


@pytest.mark.parametrize("change, message", [
    (lambda h: h.drop(columns="units"), "units"),
    (lambda h: h.assign(date=h["date"].astype(str).where(h.index != 5, "31/02/2025")), "row 5"),
    (lambda h: h.assign(units=h["units"].astype(object).where(h.index != 7, "many")), "row 7"),
    (lambda h: h.assign(series_id=h["series_id"].where(h.index != 3, None)), "row 3: series_id is missing"),
])
def test_bad_history_is_refused_with_the_row_or_column(change, message):
    history, _ = daily_history(days=60, series=2)
    with pytest.raises(ValueError, match=message):
        fit_demand(change(history), horizon=7)


def test_a_blank_count_is_read_as_no_record():
    """A dense export leaves NaN (or None) where nothing was recorded: the same as an absent row,
    where text that is not a number is refused (above)."""
    history, _ = daily_history(days=60, series=3)
    extra = pd.DataFrame({"series_id": ["S00", "S01", "S02"], "date": [START, START + pd.Timedelta(days=59), START],
                          "units": [np.nan, None, np.nan]})
    blanks = pd.concat([history, extra], ignore_index=True)
    plain, padded = demand_panel(history, "D"), demand_panel(blanks, "D")
    assert list(padded.ids) == list(plain.ids) and np.array_equal(padded.values, plain.values, equal_nan=True)
    assert np.array_equal(padded.open_periods, plain.open_periods)
    with pytest.raises(ValueError, match="every row's units is blank"):
        demand_panel(extra, "D")
    hours = pd.DataFrame({"store_id": "L1", "hour_start": pd.date_range(START, periods=48, freq="h"),
                          "tickets": np.where(np.arange(48) % 24 < 9, np.nan, 3.0)})
    panel = traffic_panel(hours)
    assert not panel.observed[0, :9].any() and panel.observed[0, 9:24].all()  # blank hours are closed ones


def test_an_unknown_country_is_refused():
    history, _ = daily_history(days=80, series=2)
    with pytest.raises(ValueError, match="country 'XX'"):
        fit_demand(history, horizon=7, country="XX")


def test_too_short_a_history_says_how_much_is_needed():
    history, _ = daily_history(days=10, series=2)
    with pytest.raises(ValueError, match="too little history to backtest: 10 periods, and 28 to forecast need at least 28"):
        fit_demand(history, horizon=28)
    history, _ = daily_history(days=40, series=2)
    with pytest.raises(ValueError, match="40 periods, and 41 to forecast need at least 41"):
        fit_demand(history, horizon=41)  # further ahead than the history reaches back


def test_a_history_shorter_than_a_horizon_plus_a_backtest_is_backtested_on_what_it_has():
    history, levels = daily_history(days=40, series=6)  # 40 days; 28 ahead and 14 to start from would need 42
    fitted = fit_demand(history, horizon=28)
    assert fitted.auto.backtest.actual.shape[-1] == 26  # the last 26 days are the backtest
    forecast = fitted.predict()
    assert forecast.groupby("series_id").size().eq(28).all()
    assert fitted.scores["rmsse"]["ensemble"] <= fitted.scores["rmsse"].drop("ensemble").min() + 1e-9
    open_days = forecast["date"].dt.day_of_week != 6
    truth = forecast["series_id"].map(levels) * WEEKDAY[forecast["date"].dt.day_of_week]
    wape = np.abs(forecast.loc[open_days, "p50"] - truth[open_days]).sum() / truth[open_days].sum()
    assert wape < 0.2, f"forecast strays {wape:.1%} from the planted mean"
    assert (forecast.loc[~open_days, "p50"] == 0).all()


PROFILE = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 6, 11, 5, 4, 5, 6, 8, 13, 6, 3, 0, 0, 0], float)  # peaks 18h, 12h, 17h


def test_fit_traffic_forecasts_open_hours_with_their_peaks():
    rng = np.random.default_rng(8)
    rows = []
    for store, size in (("L1", 1.0), ("L2", 2.5)):
        for d in range(10 * 7):
            day = START + pd.Timedelta(days=d)
            if day.day_of_week == 6:
                continue  # closed on Sundays
            for hour in np.flatnonzero(PROFILE):
                rows.append((store, day + pd.Timedelta(hours=int(hour)), rng.poisson(size * PROFILE[hour])))
    history = pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets"])
    fitted = fit_traffic(history, horizon_days=7, country="BR")
    forecast = fitted.predict()
    assert list(forecast.columns[:5]) == ["store_id", "hour_start", "p10", "p50", "p90"]
    assert set(forecast["hour_start"].dt.hour) == set(np.flatnonzero(PROFILE))  # open hours only
    assert (forecast["hour_start"].dt.day_of_week != 6).all()
    assert forecast.groupby("store_id").size().eq(6 * len(np.flatnonzero(PROFILE))).all()
    for _, day in forecast.groupby(["store_id", forecast["hour_start"].dt.date]):
        assert set(day.nlargest(2, "p50")["hour_start"].dt.hour) <= {12, 17, 18}
    assert not np.allclose(forecast["p50"], forecast["p50"].round())  # the expected value, not an integer median
    size = forecast["store_id"].map({"L1": 1.0, "L2": 2.5})
    truth = size * PROFILE[forecast["hour_start"].dt.hour]
    assert np.abs(forecast["p50"] - truth).sum() / truth.sum() < 0.12
    assert fitted.scores["wape"]["ensemble"] <= fitted.scores["wape"].drop("ensemble").min() + 1e-9


def test_a_shop_three_weeks_old_gets_its_two_weeks_ahead():
    rng = np.random.default_rng(9)
    days = [START + pd.Timedelta(days=d) for d in range(21) if (START + pd.Timedelta(days=d)).day_of_week != 6]
    rows = [("L1", day + pd.Timedelta(hours=int(hour)), rng.poisson(PROFILE[hour]))
            for day in days for hour in np.flatnonzero(PROFILE)]
    fitted = fit_traffic(pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets"]), horizon_days=14)
    forecast = fitted.predict()
    assert 0 < fitted.auto.backtest.actual.shape[-1] < 14 * 24  # backtested on the days after the first 14
    assert len(forecast) == 12 * len(np.flatnonzero(PROFILE))  # 14 days, two of them Sundays (closed)
    truth = PROFILE[forecast["hour_start"].dt.hour]
    assert np.abs(forecast["p50"] - truth).sum() / truth.sum() < 0.2


def test_a_day_spread_over_its_hours_keeps_the_weekday_level_and_skips_closed_hours():
    """Noise-free hours: every day has the same shape, weekdays their own totals, and Saturday
    closes at 14:00. The member gives back each hour exactly, nothing to Saturday afternoon."""
    from models.pool import DayTimesHourShape

    level = {0: 1.0, 1: 1.0, 2: 1.2, 3: 1.2, 4: 1.5, 5: 2.0}
    rows = []
    for d in range(8 * 7):
        day = START + pd.Timedelta(days=d)
        if day.day_of_week == 6:
            continue
        for hour in np.flatnonzero(PROFILE):
            if day.day_of_week == 5 and hour >= 14:
                continue
            rows.append(("L1", day + pd.Timedelta(hours=int(hour)), level[day.day_of_week] * PROFILE[hour]))
    panel = traffic_panel(pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets"]))
    forecast = DayTimesHourShape().fit(panel).predict(7 * 24)["day_x_hour_shape"][0]
    ahead = panel.future(7 * 24)
    saturday = ahead.day_of_week == 5
    open_saturday = saturday & (ahead.hour < 14) & (PROFILE[ahead.hour] > 0)
    weekdays = ~saturday & (ahead.day_of_week != 6)
    truth = np.array([level.get(t.day_of_week, 0.0) * PROFILE[t.hour] for t in ahead])
    np.testing.assert_allclose(forecast[weekdays], truth[weekdays], atol=1e-9)
    assert forecast[saturday & (ahead.hour >= 14)].sum() == 0 and forecast[ahead.day_of_week == 6].sum() == 0
    # Saturday keeps its whole total, spread over the hours it opens in the pooled shape's proportions
    assert forecast[saturday].sum() == pytest.approx(truth[open_saturday].sum())
    shares = forecast[open_saturday] / forecast[open_saturday].sum()
    np.testing.assert_allclose(shares, PROFILE[ahead.hour[open_saturday]] / PROFILE[ahead.hour[open_saturday]].sum())


def test_the_day_x_hour_shape_reads_holidays_off_the_stores_days_and_applies_them_ahead():
    """Noise-free hours, Brazil's holidays at half a day: the level of the weeks that held holidays
    (7/9 and 12/10, Mondays) is the plain one, and the next holiday (2/11, not seen on an open day
    before: the median effect seen) is forecast at half. Told no country, the holidays pull the
    Monday level down and the holiday ahead is a plain Monday."""
    from models.pool import DayTimesHourShape
    from warehouse.calendar import public_holidays

    holidays = public_holidays(range(2025, 2027), "BR")
    level = np.array([1.0, 1.0, 1.2, 1.2, 1.5, 2.0, 0.0])
    rows = [(store, day + pd.Timedelta(hours=int(hour)), size * level[day.day_of_week] * PROFILE[hour]
             * (0.5 if day.date() in holidays else 1.0))
            for store, size in (("L1", 1.0), ("L2", 3.0)) for day in pd.date_range("2025-08-04", "2026-10-31")
            if day.day_of_week != 6 for hour in np.flatnonzero(PROFILE)]
    history = pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets"])
    ahead = pd.date_range("2026-11-01", periods=14 * 24, freq="h")
    truth = np.array([[size * level[t.day_of_week] * PROFILE[t.hour] * (0.5 if t.date() in holidays else 1.0)
                       for t in ahead] for size in (1.0, 3.0)])
    in_brazil = DayTimesHourShape().fit(traffic_panel(history, "BR")).predict(len(ahead))["day_x_hour_shape"]
    nowhere = DayTimesHourShape().fit(traffic_panel(history, None)).predict(len(ahead))["day_x_hour_shape"]
    np.testing.assert_allclose(in_brazil, truth, rtol=1e-6, atol=1e-9)
    souls = ahead.normalize() == pd.Timestamp("2026-11-02")
    mondays = (ahead.day_of_week == 0) & ~souls
    assert nowhere[:, souls].sum() == pytest.approx(nowhere[:, mondays].sum())  # read as a plain Monday
    assert nowhere[:, mondays].sum() < 0.9 * truth[:, mondays].sum()  # 7/9 and 12/10, Mondays, pulled it down


def test_saturdays_lean_to_the_afternoon_in_every_store_whatever_its_own_hours():
    """Noise-free hours: three stores with their own hour shapes, and on Saturdays every store
    leans to the afternoon (mornings × 0.6). The factors give each store's Saturday hours back
    exactly, while the weekdays keep the store's own shape; the member, whose tilt is shrunk
    towards none by 50 tickets, within 1% on these 4,000-ticket days."""
    from models.pool import DayTimesHourShape, day_hour_factors

    morning = PROFILE.copy()
    morning[9:14], morning[17:20] = morning[9:14] * 3, morning[17:20] / 3
    shapes = {"L1": PROFILE, "L2": morning, "L3": np.r_[PROFILE[:9], np.full(12, 5.0), PROFILE[21:]]}
    tilt = np.where(np.arange(24) < 14, 0.6, 1.0)

    def tickets(store: str, at: pd.Timestamp) -> float:
        hours = shapes[store] * (tilt if at.day_of_week == 5 else 1.0)
        return 4000 * (1.5 if at.day_of_week == 5 else 1.0) * hours[at.hour] / hours.sum()

    days = [day for day in pd.date_range(START, periods=12 * 7) if day.day_of_week != 6]
    rows = [(store, day + pd.Timedelta(hours=int(hour)), tickets(store, day + pd.Timedelta(hours=int(hour))))
            for store in shapes for day in days for hour in np.flatnonzero(shapes[store])]
    panel = traffic_panel(pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets"]))
    hours = [day + pd.Timedelta(hours=h) for day in pd.date_range(START, periods=12 * 7) for h in range(24)]
    opened = np.array([[shapes[store][at.hour] > 0 and at.day_of_week != 6 for at in hours] for store in shapes])
    counts = np.array([[tickets(store, at) for at in hours] for store in shapes]) * opened
    shape, weekday_tilt = day_hour_factors(counts.reshape(3, -1, 24), opened.reshape(3, -1, 24), 10, prior=0.0)
    # START is a Monday: place 5 is Saturday. Saturday leans from Friday as planted; a weekday's
    # shape × tilt is the store's own shape
    lean = weekday_tilt[5, 9:21] / weekday_tilt[4, 9:21]
    np.testing.assert_allclose(lean / lean[0], tilt[9:21] / tilt[9], rtol=1e-6)
    for k, own in enumerate(shapes.values()):
        product = shape[k] * weekday_tilt[2]
        np.testing.assert_allclose(product / product.sum(), own / own.sum(), rtol=1e-6, atol=1e-12)

    forecast = DayTimesHourShape().fit(panel).predict(7 * 24)["day_x_hour_shape"]
    ahead = panel.future(7 * 24)
    truth = np.array([[tickets(store, at) if shapes[store][at.hour] > 0 and at.day_of_week != 6 else 0.0
                       for at in ahead] for store in panel.ids])
    np.testing.assert_allclose(forecast, truth, rtol=0.01, atol=1e-9)


def test_the_long_member_follows_the_season_as_it_moved_a_year_before():
    """Noise-free hours over two years of a yearly season (± 20%, low in June, high in December):
    on an origin in the season's climb, the 8-week level lags it; moved as the season moved 52
    weeks earlier, the forecast is within 1% of the truth. Told less than a year plus the level's
    weeks, the long member leaves the level where it is."""
    from models.pool import DayTimesHourShape, season_a_year_ago

    days = pd.date_range("2024-10-01", "2026-09-30")
    season = 1 + 0.2 * np.cos(2 * np.pi * (days.day_of_year - 350) / 365.25)
    weekday = np.array([1.0, 1.0, 1.1, 1.1, 1.3, 1.6, 0.0])
    daily = pd.Series(50 * season * weekday[days.day_of_week], days)
    rows = [("L1", day + pd.Timedelta(hours=int(hour)), daily[day] * PROFILE[hour] / PROFILE.sum())
            for day in days if daily[day] > 0 for hour in np.flatnonzero(PROFILE)]
    panel = traffic_panel(pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets"]))
    ahead = panel.future(14 * 24)
    later = pd.date_range("2026-10-01", periods=14)
    truth = 50 * (1 + 0.2 * np.cos(2 * np.pi * (later.day_of_year.to_numpy() - 350) / 365.25)) * weekday[later.day_of_week]
    long = DayTimesHourShape(pooled=0.5, yearly=True, label="long").fit(panel).predict(len(ahead))["long"]
    plain = DayTimesHourShape().fit(panel).predict(len(ahead))["day_x_hour_shape"]
    assert long.sum() == pytest.approx(truth.sum(), rel=0.01)
    assert plain.sum() < 0.96 * truth.sum()
    short = traffic_panel(pd.DataFrame([r for r in rows if r[1] >= pd.Timestamp("2025-09-01")],
                                       columns=["store_id", "hour_start", "tickets"]))
    np.testing.assert_allclose(DayTimesHourShape(yearly=True).fit(short).predict(48)["day_x_hour_shape"],
                               DayTimesHourShape().fit(short).predict(48)["day_x_hour_shape"])
    assert (season_a_year_ago(np.ones((1, 400)), 56, 14) == 1).all()


def test_pooled_weekday_levels_keep_each_stores_mean_day_and_its_closed_days():
    """The chain's weekday pattern, weighted by volume, redraws each store's weekday levels; a store
    closed on Sundays stays closed, and its mean open day is kept."""
    from models.pool import weekday_pattern

    level = np.array([[1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0],
                      [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0]])
    pooled = weekday_pattern(level)
    assert pooled[1, 6] == 0 and pooled[1, :6].mean() == pytest.approx(3.0)
    assert pooled[0].mean() == pytest.approx(level[0].mean())
    assert pooled[0, 5] / pooled[0, 0] == pytest.approx(pooled[1, 5] / pooled[1, 0])  # one pattern, shared
    assert 1.0 < pooled[1, 5] / pooled[1, 0] < 2.0  # between the two stores' own


@pytest.fixture(scope="module")
def fitted_stores():
    """The daily history split into two stores of twelve series each."""
    history, levels = daily_history(seed=8)
    store = np.where(history["series_id"].str[1:].astype(int) < 12, "A", "B")
    return fit_demand(history.assign(store_id=store), freq="D", horizon=14), levels


def test_store_and_chain_totals_add_up_and_get_their_own_calibrated_intervals(fitted_stores):
    fitted, levels = fitted_stores
    series, totals = fitted.predict(), fitted.levels()
    assert set(totals["level"]) == {"store", "chain"} and set(totals["group"]) == {"A", "B", "all"}
    store = np.where(series["series_id"].str[1:].astype(int) < 12, "A", "B")
    summed = series.groupby([store, "date"])["p50"].sum()
    by_store = totals[totals["level"] == "store"].set_index(["group", "date"])["p50"]
    np.testing.assert_allclose(by_store.loc[summed.index].to_numpy(), summed.to_numpy(), rtol=1e-9)
    chain = totals[totals["level"] == "chain"].set_index("date")
    np.testing.assert_allclose(chain["p50"].to_numpy(), series.groupby("date")["p50"].sum().to_numpy(), rtol=1e-9)
    # the planted mean of each store's total, and fresh draws of it: the total's own P10–P90 holds ~80%
    weekday = WEEKDAY[totals["date"].dt.day_of_week]
    planted = {"A": sum(v for k, v in levels.items() if int(k[1:]) < 12), "all": sum(levels.values())}
    planted["B"] = planted["all"] - planted["A"]
    mean = totals["group"].map(planted) * weekday
    open_days = weekday > 0
    error = np.abs(totals.loc[open_days, "p50"] - mean[open_days]).sum() / mean[open_days].sum()
    assert error < 0.08, f"totals stray {error:.1%} from the planted mean"
    draws = np.random.default_rng(4).poisson(np.repeat(mean[open_days].to_numpy()[None], 50, axis=0))
    inside = (draws >= totals.loc[open_days, "p10"].to_numpy()) & (draws <= totals.loc[open_days, "p90"].to_numpy())
    assert 0.6 <= inside.mean() <= 0.97, f"store and chain P10–P90 hold {inside.mean():.0%} of fresh totals"


def test_the_reconciliation_is_chosen_by_the_backtest_and_never_costs_the_series(fitted_stores):
    reconciliation = fitted_stores[0].auto.reconciliation
    table = reconciliation.candidates
    assert {"bottom_up", "store 50%", "store 100%", "chain 50%", "chain 100%", "store 50% > chain 50%",
            "store 50% > chain 100%", "store 100% > chain 50%", "store 100% > chain 100%"} == set(table.index)
    assert list(table.columns) == ["series", "store", "chain"]
    chosen = table.loc[reconciliation.choice]
    assert chosen["series"] <= table.loc["bottom_up", "series"]
    eligible = table[table["series"] <= table.loc["bottom_up", "series"]]
    relative = (eligible[["store", "chain"]] / table.loc["bottom_up", ["store", "chain"]]).mean(axis=1)
    assert relative.loc[reconciliation.choice] == relative.min()
    # the ensemble's backtest and score are the reconciled ones: what the level scores and the gate read
    assert fitted_stores[0].scores.loc["ensemble", "rmsse"] == pytest.approx(chosen["series"])


def test_scaling_to_a_total_keeps_each_series_share():
    from models.reconcile import scaled

    series = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 0.0]])  # series × step
    groups = np.array([0, 0, 1])
    total = np.array([[8.0, 8.0], [30.0, 3.0]])  # group × step
    out = scaled(series, groups, total, weight=1.0)
    np.testing.assert_allclose(out[:2].sum(axis=0), [8.0, 8.0])
    np.testing.assert_allclose(out[0] / out[1], series[0] / series[1])
    # a group forecast at 0 stays 0 (no share to scale); ×4 at most when the total is far above
    np.testing.assert_allclose(out[2], [20.0, 0.0])
    half = scaled(series, groups, total, weight=0.5)
    np.testing.assert_allclose(half[:2].sum(axis=0), [6.0, 6.0])


def test_a_member_that_cannot_fit_the_history_is_left_out_and_the_rest_forecast():
    """Twenty weeks of one series (a store's total, say) are too few rows for the global LightGBM:
    the pool goes on without it, and says so, rather than failing the whole fit."""
    rng = np.random.default_rng(1)
    history = pd.DataFrame({"series_id": "A", "date": pd.date_range("2025-01-06", periods=20, freq="7D"),
                            "units": rng.poisson(20, 20)})
    with pytest.warns(UserWarning, match="global gbm .* left out of the pool: too little history"):
        fitted = fit_demand(history, freq="W", horizon=4)
    assert "lightgbm" not in fitted.scores.index and "window_average_4" in fitted.scores.index
    forecast = fitted.predict()
    assert len(forecast) == 4 and forecast["p50"].between(12, 28).all()


def test_series_that_never_varied_are_forecast_at_zero_instead_of_failing_the_fit():
    """RMSSE scales each series by how much it varied before the origin, so a SKU exported with
    nothing but zeros has no scale. Among selling series it is simply forecast at 0; a panel of
    nothing but such series (a store's first, empty export) compares the members on their plain
    squared error instead of stopping on an all-NaN score."""
    from models.pool import WindowAverage

    history, _ = daily_history(days=120, series=3)
    dead = history[history["series_id"] == "S00"].assign(series_id="DEAD", units=0)
    members = [WindowAverage(7), WindowAverage(28)]
    forecast = fit_demand(pd.concat([history, dead]), horizon=14, members=members).predict()
    assert forecast.groupby("series_id").size().eq(14).all() and forecast["series_id"].nunique() == 4
    assert (forecast.loc[forecast["series_id"] == "DEAD", ["p10", "p50", "p90"]] == 0).all().all()
    only_dead = fit_demand(dead, horizon=14, members=members).predict()
    assert len(only_dead) == 14 and (only_dead[["p10", "p50", "p90"]] == 0).all().all()


def test_forecasts_come_back_in_the_time_zone_the_history_came_in():
    """A merge of the forecast with tz-aware actuals needs tz-aware dates. The hours stay the
    store's local ones, also across the night the clocks go forward (Lisbon, 30 March 2025)."""
    from models.pool import DayTimesHourShape, WindowAverage

    days = pd.date_range("2025-02-03", "2025-03-27", freq="D")
    rows = [("L1", day + pd.Timedelta(hours=int(hour)), 3 * PROFILE[hour]) for day in days if day.day_of_week != 6
            for hour in np.flatnonzero(PROFILE)]
    history = pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets"])
    history["hour_start"] = history["hour_start"].dt.tz_localize("Europe/Lisbon")
    forecast = fit_traffic(history, horizon_days=7, members=[DayTimesHourShape()]).predict()
    assert str(forecast["hour_start"].dt.tz) == "Europe/Lisbon"
    assert set(forecast["hour_start"].dt.hour) == set(np.flatnonzero(PROFILE))
    assert forecast["hour_start"].min() == pd.Timestamp("2025-03-28 09:00", tz="Europe/Lisbon")

    daily, _ = daily_history(days=90, series=2)
    demand = fit_demand(daily.assign(date=daily["date"].dt.tz_localize("UTC")), horizon=7,
                        members=[WindowAverage(7)]).predict()
    assert str(demand["date"].dt.tz) == "UTC" and demand["date"].min() == (
        daily["date"].max() + pd.Timedelta(days=1)).tz_localize("UTC")


def test_text_times_with_utc_offsets_keep_their_local_hours():
    """Exports often write local times with their UTC offset, and a year of them mixes two offsets
    (summer time): each row is read at its own wall clock. Text with one offset throughout gets
    that offset back on the forecast's dates."""
    from models.pool import DayTimesHourShape, WindowAverage

    days = pd.date_range("2025-03-03", "2025-04-20", freq="D")  # Lisbon: +00:00, then +01:00 from 30 March
    rows = [("L1", day + pd.Timedelta(hours=int(hour)), 3 * PROFILE[hour]) for day in days if day.day_of_week != 6
            for hour in np.flatnonzero(PROFILE)]
    history = pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets"])
    history["hour_start"] = history["hour_start"].dt.tz_localize("Europe/Lisbon").dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    assert set(history["hour_start"].str[-5:]) == {"+0000", "+0100"}
    forecast = fit_traffic(history, horizon_days=7, members=[DayTimesHourShape()]).predict()
    assert forecast["hour_start"].dt.tz is None
    assert set(forecast["hour_start"].dt.hour) == set(np.flatnonzero(PROFILE))
    assert forecast["hour_start"].min() == pd.Timestamp("2025-04-21 09:00")

    daily, _ = daily_history(days=90, series=2)
    demand = fit_demand(daily.assign(date=daily["date"].dt.strftime("%Y-%m-%dT00:00:00-03:00")), horizon=7,
                        members=[WindowAverage(7)]).predict()
    assert demand["date"].min() == (daily["date"].max() + pd.Timedelta(days=1)).tz_localize("-03:00")
    assert demand["date"].dt.tz.utcoffset(None) == pd.Timedelta(hours=-3)


@pytest.mark.parametrize("chosen, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_openmp_threads_wait_passively_unless_the_caller_chose(chosen, expected):
    """Spinning OpenMP threads stall LightGBM on a busy machine (see models/__init__.py): the
    policy is set before LightGBM loads its runtime, and a caller's own choice is kept."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | ({"OMP_WAIT_POLICY": chosen} if chosen else {})
    script = ("import os, models.global_gbm, lightgbm; "
              "print(os.environ['OMP_WAIT_POLICY'], any('libgomp' in line for line in open('/proc/self/maps')))")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.stdout.split() == [expected, "True"], out.stderr[-2000:]

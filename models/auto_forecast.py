"""vitrine's forecasters on plain DataFrames: ``fit_demand`` and ``fit_traffic``.

A data scientist fits them on any panel, with no warehouse and no Spark::

    from models import fit_demand, fit_traffic
    demand = fit_demand(history, freq="D", horizon=28, country="BR")
    demand.predict()        # series_id, date, p10, p50, p90 (and mean)
    demand.scores           # each member's backtest loss, the ensemble's, and their seconds
    demand.weights          # the blend chosen per segment

Both run the pool (``models.pool``) through the rolling backtest and the greedy blend
(``models.ensemble``): the methods that win on *this* data get the weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import pandas as pd

from models.ensemble import AutoForecast
from models.panel import Panel, demand_panel, local_times, traffic_panel
from models.pool import Forecaster, default_pool
from models.reconcile import Reconciliation


@dataclass
class FittedForecast:
    """A fitted pool: ``predict()`` gives the next periods' P10/P50/P90 (P50 = the expected value)."""

    auto: AutoForecast
    id_column: str
    time_column: str
    tz: tzinfo | None = None  # the input's time zone: the forecast's dates carry it back (a merge needs like with like)

    @property
    def scores(self) -> pd.DataFrame:
        """Backtest loss (RMSSE for demand, WAPE for traffic) of each member and of the ensemble."""
        return self.auto.scores

    @property
    def weights(self) -> dict[str, dict[str, float]]:
        """The blend per segment: member → weight."""
        return self.auto.weights

    @property
    def panel(self) -> Panel:
        return self.auto.panel

    def predict(self) -> pd.DataFrame:
        panel, horizon = self.auto.panel, self.auto.horizon
        mean, low, high = self.auto.predict()
        periods = self.periods()
        frame = pd.DataFrame({
            self.id_column: np.repeat(panel.ids, horizon),
            self.time_column: np.tile(periods, len(panel.ids)),
            "p10": low.ravel(), "p50": mean.ravel(), "p90": high.ravel(), "mean": mean.ravel(),
        })
        return frame

    def periods(self) -> pd.DatetimeIndex:
        """The periods ahead, in the input's time zone when it had one: the panel works on local
        wall-clock time, so an hour a DST change skips or repeats takes the later offset."""
        periods = self.auto.panel.future(self.auto.horizon)
        if self.tz is None:
            return periods
        return periods.tz_localize(self.tz, ambiguous=np.zeros(len(periods), bool), nonexistent="shift_forward")

    def levels(self) -> pd.DataFrame:
        """``level, group, date, p10, p50, p90, mean`` for each aggregate level's totals (``group``:
        the store_id, or "all" for the chain): the sums of the reconciled series, with their own
        calibrated intervals. Empty when there was nothing to aggregate."""
        reconciliation = self.auto.reconciliation
        if reconciliation is None:
            return pd.DataFrame(columns=["level", "group", "date", "p10", "p50", "p90", "mean"])
        mean = self.auto.predict()[0]
        periods = self.periods()
        parts = []
        for level in reconciliation.levels:
            total, low, high = reconciliation.level_forecast(level, mean)
            names = reconciliation.group_names[level]
            parts.append(pd.DataFrame({
                "level": level, "group": np.repeat(names, len(periods)), "date": np.tile(periods, len(total)),
                "p10": low.ravel(), "p50": total.ravel(), "p90": high.ravel(), "mean": total.ravel()}))
        return pd.concat(parts, ignore_index=True)


def fit_demand(history: pd.DataFrame, freq: str = "D", horizon: int = 28, country: str | None = "BR",
               folds: int = 3, members: list[Forecaster] | None = None, future: pd.DataFrame | None = None,
               on_step: Callable[[str], None] | None = None) -> FittedForecast:
    """Fit the demand pool on ``history`` (``series_id, date, units``; optional ``store_id`` groups
    the series into stores, ``sku`` and ``category`` are ignored, ``price`` and ``on_promo`` are
    read when ``future`` plans them too) and forecast ``horizon`` periods. The series are
    reconciled with forecasts of the stores' and the whole panel's totals, chosen by the backtest
    (``levels()`` gives those totals' forecasts).

    A date missing for one series (or its units blank: NaN, None) means it sold nothing; a date
    missing for every series is a closed day, forecast as 0 when that weekday was closed in each
    of the last 8 weeks. Weekly data keeps its weekday. Periods are calendar days (``freq="D"``)
    or weeks (``"W"``).
    ``country``: an ISO 3166 code whose public holidays and retail dates the global model sees
    (``None``: no holiday calendar). ``future``: ``series_id, date, price, on_promo`` for the
    periods ahead (the planned prices and promotions; ``on_promo`` 1/0 or the discount's depth
    as a fraction). ``on_step`` hears each backtest fold and member as it starts.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 period, got {horizon}")
    panel = demand_panel(history, freq, country, future)
    fitted = fit_demand_panel(panel, horizon, folds, members, on_step, demand_levels(history, panel.ids))
    fitted.tz = local_times(history["date"])[1]
    return fitted


def fit_demand_panel(panel: Panel, horizon: int, folds: int = 3, members: list[Forecaster] | None = None,
                     on_step: Callable[[str], None] | None = None,
                     levels: dict[str, np.ndarray] | None = None) -> FittedForecast:
    """The demand pool on a ready panel: what ``fit_demand`` and ``vitrine train forecast`` both run.

    ``levels``: aggregate level → the group of each series (e.g. its store_id; the chain is one
    group of every series). The pool is fitted on those totals too and the series reconciled with
    them (models/reconcile.py), so the levels add up and are each forecast well.
    """
    pool = members if members is not None else default_pool(panel, horizon)
    auto = AutoForecast(panel, pool, horizon, metric="rmsse", folds=folds, intermittent_split=True,
                        on_step=on_step).fit()
    if levels:
        make_pool = default_pool if members is None else (lambda _panel, _horizon: members)
        Reconciliation.fit(auto, levels, make_pool, on_step)
    return FittedForecast(auto, "series_id", "date")


def demand_levels(history: pd.DataFrame, ids: np.ndarray) -> dict[str, np.ndarray]:
    """The aggregate levels of a demand history's series (``ids`` in the panel's order): see
    :func:`store_and_chain`, with each series' store read from ``store_id`` when it is given."""
    stores = None
    if "store_id" in history.columns:
        store = history.drop_duplicates("series_id").set_index("series_id")["store_id"].astype(str)
        stores = store.reindex(ids).fillna("").to_numpy()
    return store_and_chain(stores, len(ids))


def store_and_chain(stores: np.ndarray | None, n_series: int) -> dict[str, np.ndarray]:
    """The levels the series are reconciled with: ``store`` (each series' store, when there are
    several stores and they group the series) and ``chain`` (every series, as "all"); none for a
    single series."""
    if n_series < 2:
        return {}
    levels = {}
    if stores is not None and 1 < len(set(stores)) < n_series:
        levels["store"] = stores
    levels["chain"] = np.full(n_series, "all")
    return levels


@dataclass
class FittedTraffic(FittedForecast):
    """Hourly tickets; ``predict()`` lists only the hours each store is expected to open."""

    def predict(self) -> pd.DataFrame:
        frame = super().predict()
        open_ahead = self.auto.panel.open_ahead(self.auto.horizon).ravel()
        return frame[open_ahead].reset_index(drop=True)


def fit_traffic(history: pd.DataFrame, horizon_days: int = 14, country: str | None = "BR", folds: int = 3,
                members: list[Forecaster] | None = None, on_step: Callable[[str], None] | None = None) -> FittedTraffic:
    """Fit the traffic pool on ``history`` (``store_id, hour_start, tickets``; closed hours absent,
    or their tickets blank) and forecast the next ``horizon_days`` days, hour by hour, for the
    hours each store opens.
    ``on_step`` hears each backtest fold and member as it starts."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    panel = traffic_panel(history, country)
    horizon = horizon_days * 24
    pool = members if members is not None else default_pool(panel, horizon)
    auto = AutoForecast(panel, pool, horizon, metric="wape", folds=folds, intermittent_split=False,
                        on_step=on_step).fit()
    return FittedTraffic(auto, "store_id", "hour_start", local_times(history["hour_start"])[1])

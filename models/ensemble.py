"""Choose and blend the pool's members on the retailer's own data: a rolling backtest, greedy
ensemble selection per segment, and calibrated intervals from the held-out errors.

1. **Backtest.** ``folds`` origins, each ``horizon`` periods apart, the last one ``horizon``
   periods before the end of the data (fewer periods on a history too short for that). Every
   member is fitted on the history up to each origin and forecasts the next ``horizon`` periods;
   the forecasts are scored on what happened.
2. **Selection** (Caruana et al., 2004, as AutoGluon-TimeSeries does): start from the best single
   member, then repeatedly add (with replacement) the member whose addition lowers the backtest
   loss most; keep the best blend seen. Done separately for smooth and intermittent series
   (Syntetos–Boylan: a sale on fewer than 1 period in 1.32) when each has enough series. The blend
   starts from the best member and only accepts improvements, so on the backtest it is never worse
   than the best single member.
3. **Intervals**: split-conformal. The blend's held-out errors, standardised by a count-data
   spread ``sqrt(μ + φμ²)``, give the 10th and 90th percentiles per segment and horizon third; the
   same percentiles around a new forecast make its P10–P90.

The point forecast is the blend's expected value (what RMSSE and WAPE reward); P50 is reported
as that value, held between P10 and P90.
"""

from __future__ import annotations

import copy
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.panel import LEVEL_WINDOW, Panel, TooLittleHistory, naive_mse
from models.pool import Forecaster, Statistical, history_periods

if TYPE_CHECKING:
    from models.reconcile import Reconciliation

INTERMITTENT_ADI = 1.32
MIN_SEGMENT = 20  # series a segment needs for a blend of its own
ROUNDS = 25


@dataclass
class Backtest:
    """The members' held-out forecasts, and the truth they are scored against."""

    names: list[str]
    forecasts: np.ndarray  # member × fold × series × step
    actual: np.ndarray  # fold × series × step; NaN where not scored
    scale: np.ndarray  # fold × series: the naive's squared error at the origin (NaN: unscorable)
    origins: list[pd.Timestamp]
    seconds: dict[str, float]
    member_names: list[list[str]]  # per member of the pool, the forecasts it gives


def fold_origins(panel: Panel, horizon: int, folds: int) -> tuple[list[int], int]:
    """Origins (last period of history) of up to ``folds`` folds that leave each enough history,
    and the periods each fold scores: ``horizon``, or on a history shorter than one horizon plus
    that minimum, as many as it has after the minimum (a shop 3 weeks old forecast 14 days ahead
    is backtested on its last 7 days; its choice is rougher, but a forecast beats a refusal). A
    horizon longer than the whole history is refused (Amazon Forecast refuses one past a third)."""
    last = panel.values.shape[1] - 1
    need = max(2 * panel.season, LEVEL_WINDOW[panel.freq] // 2, 3)
    steps = min(horizon, last + 1 - need)
    if steps < 1 or horizon > last + 1:
        raise ValueError(f"too little history to backtest: {last + 1} periods, and {horizon} to forecast need "
                         f"at least {max(horizon, need + 1)}")
    origins = [last - steps * k for k in range(folds, 0, -1)]
    return [o for o in origins if o + 1 >= need], steps


def run_backtest(panel: Panel, members: list[Forecaster], horizon: int, folds: int,
                 on_step: Callable[[str], None] | None = None) -> Backtest:
    origins, steps = fold_origins(panel, horizon, folds)
    forecasts: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    actual, scale = [], []
    member_names: list[list[str]] = [[] for _ in members]
    unfit: set[int] = set()  # members that cannot fit this panel (too little history for them): left out
    for fold, origin in enumerate(origins, 1):
        seen = panel.upto(origin)
        open_ahead = seen.open_ahead(steps)
        for k, (member, produced) in enumerate(zip(members, member_names)):
            if k in unfit:
                continue
            if on_step:
                on_step(f"backtest fold {fold}/{len(origins)}, {member_label(member)}")
            started = time.perf_counter()
            try:
                predicted = member.fit(seen).predict(steps)
            except TooLittleHistory as exc:
                warnings.warn(f"{member_label(member)} left out of the pool: {exc}", stacklevel=2)
                unfit.add(k)
                for name in produced:
                    forecasts.pop(name, None)
                    seconds.pop(name, None)
                produced.clear()
                continue
            for name, forecast in predicted.items():
                if name not in produced:
                    produced.append(name)
                forecasts.setdefault(name, []).append(np.where(open_ahead, np.clip(forecast, 0, None), 0.0))
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        ahead = slice(origin + 1, origin + 1 + steps)
        actual.append(np.where(panel.observed[:, ahead], panel.values[:, ahead], np.nan))
        mse = naive_mse(panel.values, origin)
        scale.append(np.where(mse > 0, mse, np.nan))
    if not forecasts:
        raise ValueError("no member of the pool could fit this history")
    names = list(forecasts)
    return Backtest(names, np.stack([np.stack(forecasts[n]) for n in names]), np.stack(actual), np.stack(scale),
                    [panel.index[o] for o in origins], seconds, member_names)


def member_label(member: Forecaster) -> str:
    """A member's name for progress lines: its class in words and its whole-number settings
    (WindowAverage(28) → window average 28)."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(member).__name__).lower()
    numbers = [str(v) for k, v in vars(member).items() if isinstance(v, int) and not isinstance(v, bool)
               and k not in ("n_jobs", "rounds")]
    return " ".join([words, *numbers])


def loss(forecast: np.ndarray, actual: np.ndarray, scale: np.ndarray, metric: str) -> float:
    """Backtest loss of one forecast (fold × series × step): mean RMSSE over series, or pooled WAPE."""
    error = forecast - actual
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if metric == "rmsse":
            per_fold = np.nanmean(error**2, axis=2) / scale
            return float(np.nanmean(np.sqrt(np.nanmean(per_fold, axis=0))))
        if metric == "wape":
            return float(np.nansum(np.abs(error)) / max(np.nansum(np.abs(actual)), 1e-9))
    raise ValueError(f"unknown metric {metric!r}: use rmsse or wape")


def greedy_weights(forecasts: np.ndarray, actual: np.ndarray, scale: np.ndarray, metric: str,
                   rounds: int = ROUNDS) -> np.ndarray:
    """Member weights by greedy ensemble selection with replacement (see the module docstring)."""
    scores = [loss(f, actual, scale, metric) for f in forecasts]
    if not np.isfinite(scores).any():  # no series varied before its origins (all zeros, say): RMSSE has no
        scale = np.ones_like(scale)  # scale, so the members are compared on their squared error
        scores = [loss(f, actual, scale, metric) for f in forecasts]
    counts = np.zeros(len(forecasts))
    first = int(np.nanargmin(scores))
    counts[first] = 1
    total = forecasts[first].copy()
    best_counts, best_score = counts.copy(), scores[first]
    for _ in range(rounds - 1):
        n = counts.sum()
        trial = [loss((total + f) / (n + 1), actual, scale, metric) for f in forecasts]
        pick = int(np.nanargmin(trial))
        counts[pick] += 1
        total += forecasts[pick]
        if trial[pick] < best_score - 1e-12:
            best_counts, best_score = counts.copy(), trial[pick]
    return best_counts / best_counts.sum()


def segments(panel: Panel, intermittent_split: bool) -> dict[str, np.ndarray]:
    """Series positions per segment: ``intermittent`` (a sale on fewer than 1 period in 1.32 over
    the last year) and ``smooth``; one segment ``all`` when not split or a side is too small."""
    everyone = {"all": np.arange(len(panel.ids))}
    if not intermittent_split:
        return everyone
    split = intermittency_split(panel)
    if min(len(rows) for rows in split.values()) < MIN_SEGMENT:
        return everyone
    return split


def intermittency_split(panel: Panel) -> dict[str, np.ndarray]:
    """Series positions by each series' own intermittency over the last year (see :func:`segments`)."""
    recent = panel.values[:, -365:] if panel.freq == "D" else panel.values[:, -52:]
    alive = np.isfinite(recent).sum(axis=1)
    selling = (np.nan_to_num(recent) > 0).sum(axis=1)
    adi = alive / np.maximum(selling, 1)
    return {"intermittent": np.flatnonzero(adi >= INTERMITTENT_ADI), "smooth": np.flatnonzero(adi < INTERMITTENT_ADI)}


@dataclass
class Spread:
    """Conformal P10/P90 multipliers per horizon third, around ``sqrt(μ + φμ²)``."""

    dispersion: float
    z: np.ndarray  # thirds × (z10, z90)

    @classmethod
    def fit(cls, forecast: np.ndarray, actual: np.ndarray) -> Spread:
        scored = np.isfinite(actual)
        mean, truth = forecast[scored], actual[scored]
        excess = np.sum((truth - mean) ** 2 - mean)
        dispersion = float(max(0.0, excess / max(np.sum(mean**2), 1e-12)))
        steps = forecast.shape[-1]
        z = []
        for part in np.array_split(np.arange(steps), 3):
            if len(part) == 0:
                z.append(z[-1] if z else (-1.28, 1.28))
                continue
            m, a = forecast[..., part], actual[..., part]
            ok = np.isfinite(a)
            standardised = (a[ok] - m[ok]) / np.sqrt(m[ok] + dispersion * m[ok] ** 2 + 1e-9)
            z.append(tuple(np.quantile(standardised, [0.1, 0.9])) if standardised.size >= 30 else (-1.28, 1.28))
        return cls(dispersion, np.array(z))

    def bounds(self, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P10, P90) for a series × step forecast."""
        steps = mean.shape[-1]
        third = np.zeros(steps, int)
        for k, part in enumerate(np.array_split(np.arange(steps), 3)):
            third[part] = k
        spread = np.sqrt(mean + self.dispersion * mean**2)
        low = np.clip(mean + self.z[third, 0] * spread, 0, None)
        high = np.clip(mean + self.z[third, 1] * spread, 0, None)
        return np.minimum(low, mean), np.maximum(high, mean)


@dataclass
class Choice:
    """What the backtest chose, apart from the data it chose on: the members the blends use, the
    weights and the intervals per segment. :meth:`blend` applies it to other series of the same
    data (a store's, on a Spark executor): each local member is fitted on them, a global member
    (one with ``predict_for``) predicts with the model it learnt, and each series is blended with
    the weights of its own segment. Small enough to ship to every executor."""

    members: list[Forecaster]
    weights: dict[str, dict[str, float]]
    spreads: dict[str, Spread]
    horizon: int

    def blend(self, panel: Panel) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(the blend per series × step, 0 where the period is expected closed; segment → rows)."""
        forecasts: dict[str, np.ndarray] = {}
        for member in self.members:
            if hasattr(member, "predict_for"):
                forecasts.update(member.predict_for(panel, self.horizon))
            else:
                forecasts.update(member.fit(panel).predict(self.horizon))
        rows = {"all": np.arange(len(panel.ids))} if set(self.weights) == {"all"} else intermittency_split(panel)
        mean = np.zeros((len(panel.ids), self.horizon))
        for segment, where in rows.items():
            mean[where] = np.clip(sum(w * forecasts[name][where] for name, w in self.weights[segment].items()), 0, None)
        return np.where(panel.open_ahead(self.horizon), mean, 0.0), rows

    def bounds(self, mean: np.ndarray, rows: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(P10, P90) per series × step around ``mean``, from each series' segment."""
        return segment_bounds(self.spreads, mean, rows)


def segment_bounds(spreads: dict[str, Spread], mean: np.ndarray, rows: dict[str, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(P10, P90) around ``mean`` (… × series × step), each segment's series by its own spread."""
    low, high = np.zeros_like(mean), np.zeros_like(mean)
    for segment, where in rows.items():
        low[..., where, :], high[..., where, :] = spreads[segment].bounds(mean[..., where, :])
    return low, high


@dataclass
class AutoForecast:
    """A pool fitted on a panel: backtest, blend per segment, intervals, final fits (see module doc)."""

    panel: Panel
    members: list[Forecaster]
    horizon: int
    metric: str = "rmsse"
    folds: int = 3
    intermittent_split: bool = True
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    spreads: dict[str, Spread] = field(default_factory=dict)
    scores: pd.DataFrame | None = None
    backtest: Backtest | None = None
    segment_rows: dict[str, np.ndarray] = field(default_factory=dict)
    blend: np.ndarray | None = None  # the ensemble's backtest forecasts, fold × series × step
    on_step: Callable[[str], None] | None = None
    reconciliation: Reconciliation | None = None  # set by models.reconcile when levels are reconciled

    def fit(self) -> AutoForecast:
        bt = self.backtest = run_backtest(self.panel, self.members, self.horizon, self.folds, self.on_step)
        self.segment_rows = segments(self.panel, self.intermittent_split)
        blend = np.zeros_like(bt.actual)
        for segment, rows in self.segment_rows.items():
            weights = greedy_weights(bt.forecasts[:, :, rows], bt.actual[:, rows], bt.scale[:, rows], self.metric)
            self.weights[segment] = {n: float(w) for n, w in zip(bt.names, weights) if w > 0}
            blend[:, rows] = np.tensordot(weights, bt.forecasts[:, :, rows], axes=1)
        scores = {n: loss(f, bt.actual, bt.scale, self.metric) for n, f in zip(bt.names, bt.forecasts)}
        self.scores = pd.Series(scores, name=self.metric).to_frame()
        self.scores["seconds"] = pd.Series(bt.seconds)
        self.replace_blend(blend)
        self._final()
        return self

    def replace_blend(self, blend: np.ndarray) -> None:
        """Make ``blend`` (fold × series × step) the ensemble's backtest forecast: its intervals are
        calibrated on it and its score is its own (the reconciliation replaces the plain blend)."""
        bt = self.backtest
        self.blend = blend
        for segment, rows in self.segment_rows.items():
            self.spreads[segment] = Spread.fit(blend[:, rows], bt.actual[:, rows])
        self.scores.loc["ensemble", self.metric] = loss(blend, bt.actual, bt.scale, self.metric)
        self.scores = self.scores.sort_values(self.metric)

    def _final(self) -> None:
        """Fit the members the blends use on the whole history and keep their forecasts."""
        used = {name for weights in self.weights.values() for name in weights}
        self.forecasts: dict[str, np.ndarray] = {}
        for member, names in zip(self.members, self.backtest.member_names):
            if not used & set(names):
                continue
            if self.on_step:
                self.on_step(f"final fit, {member_label(member)}")
            self.forecasts.update(member.fit(self.panel).predict(self.horizon))

    def choice(self) -> Choice:
        """The blend as chosen, to forecast other series with (see :class:`Choice`). Each member
        goes without the panel it was fitted on; the statistical ones keep the history window
        they were scored with, and fit one process each (the executors run in parallel)."""
        used = {name for weights in self.weights.values() for name in weights}
        members = []
        for member, names in zip(self.members, self.backtest.member_names):
            if not used & set(names):
                continue
            shipped = copy.copy(member)
            shipped.panel = None
            if isinstance(shipped, Statistical):
                shipped.periods, shipped.n_jobs = history_periods(len(self.panel.ids), self.panel.freq), 1
            members.append(shipped)
        return Choice(members, self.weights, self.spreads, self.horizon)

    def backtest_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The blend's P10 and P90 on every backtest cell (fold × series × step), from each
        segment's calibrated spread."""
        return segment_bounds(self.spreads, self.blend, self.segment_rows)

    @property
    def member_seconds(self) -> dict[str, float]:
        """Backtest seconds of each member's forecasts (members fitted together share theirs)."""
        return {name: float(s) for name, s in self.scores["seconds"].dropna().items()}

    def predict(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, P10, P90) per series × step; 0 on periods expected closed."""
        open_ahead = self.panel.open_ahead(self.horizon)
        mean = np.zeros((len(self.panel.ids), self.horizon))
        for segment, rows in self.segment_rows.items():
            mean[rows] = np.clip(sum(w * self.forecasts[name][rows] for name, w in self.weights[segment].items()), 0, None)
        if self.reconciliation is not None:
            mean = self.reconciliation.adjust(np.where(open_ahead, mean, 0.0))
        low, high = segment_bounds(self.spreads, mean, self.segment_rows)
        return (np.where(open_ahead, mean, 0.0), np.where(open_ahead, low, 0.0), np.where(open_ahead, high, 0.0))

"""Forecast accuracy measures shared by every model and baseline (stock, staffing).

Scaled errors follow the M5 competition: the forecast's error is divided by the in-sample error of
a naive forecast on the series' own history, so series of different volumes can be averaged and
"1.0" means "as good as naive". Everything takes plain arrays; a mismatch is a ValueError that
says which arrays and which lengths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def _arrays(**named: ArrayLike) -> dict[str, np.ndarray]:
    arrays = {name: np.asarray(values, dtype=float) for name, values in named.items()}
    lengths = {name: a.shape for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arrays must have the same length: {', '.join(f'{n}={s[0]}' for n, s in lengths.items())}")
    if next(iter(arrays.values())).size == 0:
        raise ValueError(f"no values to score ({', '.join(arrays)} are empty)")
    return arrays


def _naive_scale(history: ArrayLike, season: int, power: int) -> float:
    h = np.asarray(history, dtype=float)
    if h.size <= season:
        raise ValueError(f"history has {h.size} values; a seasonal naive scale with season {season} needs more")
    return float(np.mean(np.abs(h[season:] - h[:-season]) ** power))


def rmsse(actual: ArrayLike, forecast: ArrayLike, history: ArrayLike, season: int = 1) -> float:
    """Root mean squared scaled error; NaN when the history never changes (no scale to divide by)."""
    a = _arrays(actual=actual, forecast=forecast)
    scale = _naive_scale(history, season, 2)
    if scale == 0:
        return float("nan")
    return float(np.sqrt(np.mean((a["actual"] - a["forecast"]) ** 2) / scale))


def mase(actual: ArrayLike, forecast: ArrayLike, history: ArrayLike, season: int = 1) -> float:
    """Mean absolute scaled error; NaN when the history never changes."""
    a = _arrays(actual=actual, forecast=forecast)
    scale = _naive_scale(history, season, 1)
    if scale == 0:
        return float("nan")
    return float(np.mean(np.abs(a["actual"] - a["forecast"])) / scale)


def wape(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Weighted absolute percentage error: total absolute error over total actual volume."""
    a = _arrays(actual=actual, forecast=forecast)
    total = np.sum(np.abs(a["actual"]))
    return float(np.sum(np.abs(a["actual"] - a["forecast"])) / total) if total else float("nan")


def bias(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Total over-forecast as a share of actual volume (+0.1 = 10% too high, -0.1 = 10% too low)."""
    a = _arrays(actual=actual, forecast=forecast)
    total = np.sum(a["actual"])
    return float(np.sum(a["forecast"] - a["actual"]) / total) if total else float("nan")


def coverage(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of actuals inside ``[lower, upper]`` (P10–P90 should cover about 80%)."""
    a = _arrays(actual=actual, lower=lower, upper=upper)
    if np.any(a["lower"] > a["upper"]):
        raise ValueError("lower bound above upper bound for some values")
    return float(np.mean((a["actual"] >= a["lower"]) & (a["actual"] <= a["upper"])))


def pinball(actual: ArrayLike, quantile_forecast: ArrayLike, q: float) -> float:
    """Mean quantile (pinball) loss of the ``q`` quantile forecast."""
    if not 0 < q < 1:
        raise ValueError(f"quantile must be in (0, 1), got {q}")
    a = _arrays(actual=actual, quantile_forecast=quantile_forecast)
    diff = a["actual"] - a["quantile_forecast"]
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def naive_scales(history: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per series (indexed by ``keys``): the in-sample one-step naive's mean squared (``sq``) and
    absolute (``ab``) error over ``history`` (``keys``, ``date``, ``units``, dense): the
    denominators of :func:`rmsse` and :func:`mase`, computed once for many series."""
    if not keys:
        raise ValueError("name the key columns of the series (a single series: add a constant column)")
    ordered = history.sort_values([*keys, "date"])
    step = ordered.groupby(keys, observed=True, sort=False)["units"].diff()
    return ordered[keys].assign(sq=step ** 2, ab=step.abs()).groupby(keys, observed=True).mean()


def scaled_errors(forecasts: pd.DataFrame, scales: pd.DataFrame, keys: list[str], forecast: str = "mean"
                  ) -> pd.DataFrame:
    """RMSSE and MASE of many series at once (what :func:`rmsse` and :func:`mase` give one by one).

    ``forecasts``: ``keys``, ``actual`` and the ``forecast`` column; ``scales``: from
    :func:`naive_scales`. One row per series; a series whose history never changes has NaN (no
    scale), as with the single-series functions.
    """
    miss = forecasts["actual"] - forecasts[forecast]
    errors = forecasts[keys].assign(sq_err=miss ** 2, abs_err=miss.abs()).groupby(keys, observed=True).mean()
    joined = errors.join(scales, how="left")
    return pd.DataFrame({
        "rmsse": np.sqrt(joined["sq_err"] / joined["sq"].where(joined["sq"] > 0)),
        "mase": joined["abs_err"] / joined["ab"].where(joined["ab"] > 0),
    })

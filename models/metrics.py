"""Forecast accuracy measures on plain arrays (the staffing backtest's WAPE, bias and coverage).

A mismatch is a ValueError that says which arrays and which lengths. The pool's own losses
(RMSSE over many series at once, pooled WAPE) live with the backtest, in models/ensemble.py.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _arrays(**named: ArrayLike) -> dict[str, np.ndarray]:
    arrays = {name: np.asarray(values, dtype=float) for name, values in named.items()}
    lengths = {name: a.shape for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arrays must have the same length: {', '.join(f'{n}={s[0]}' for n, s in lengths.items())}")
    if next(iter(arrays.values())).size == 0:
        raise ValueError(f"no values to score ({', '.join(arrays)} are empty)")
    return arrays


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

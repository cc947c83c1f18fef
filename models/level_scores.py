"""The pool's backtest read at the levels a store manager plans on: SKU × store, store, chain.

The pool forecasts SKU × store series; a store's or the chain's forecast is their sum, so the
levels add up. When the series were reconciled with the pool fitted on the totals
(models/reconcile.py), that pool's members are scored too, as ``<member>_on_totals``. Each level
is scored on the same folds as the series: RMSSE against the naive of the aggregate's own history,
WAPE, bias, and the P10–P90 coverage of the ensemble. At a reconciled aggregate the interval is the
one calibrated on that level's own errors; otherwise it is the sum's normal approximation (series
taken as independent, the variance read from each series' calibrated P10–P90), so its coverage
says how far that independence holds.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from models.ensemble import AutoForecast, loss
from models.panel import naive_mse

Z_10_90 = 2 * NormalDist().inv_cdf(0.9)  # P90 − P10 of a normal, in standard deviations


def aggregate(cells: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum ``cells`` (… × series × step) into ``n_groups`` groups along the series axis."""
    moved = np.moveaxis(cells, -2, 0)
    out = np.zeros((n_groups, *moved.shape[1:]))
    np.add.at(out, groups, moved)
    return np.moveaxis(out, 0, -2)


def level_scores(auto: AutoForecast, levels: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Scores per level and model (``level, model, rmsse, wape, bias, coverage``), and the
    ensemble's backtest at each level (``{level: fold × group × step}`` arrays under keys
    ``level``, ``level:actual``, ``level:p10``, ``level:p90``).

    ``levels``: level name → the group of each series (0…n−1), e.g. every series in group 0 for
    the chain, each its own group for the series level.
    """
    bt = auto.backtest
    scored = np.isfinite(bt.actual)
    low, high = auto.backtest_bounds()
    sd = np.where(scored, (high - low) / Z_10_90, 0.0)
    models = {**dict(zip(bt.names, bt.forecasts)), "ensemble": auto.blend}
    reconciled = auto.reconciliation
    rows, arrays = [], {}
    for level, groups in levels.items():
        n = int(groups.max()) + 1
        truth, scale = level_truth(auto, groups)
        summed_models = {name: summed_forecast(forecast, scored, groups, truth) for name, forecast in models.items()}
        if reconciled is not None and np.array_equal(reconciled.levels.get(level, []), groups):
            own = reconciled.pools[level].backtest  # the members fitted on this level's totals
            summed_models.update({f"{name}_on_totals": np.where(np.isfinite(truth), forecast, np.nan)
                                  for name, forecast in zip(own.names, own.forecasts)})
        for name, summed in summed_models.items():
            error = np.nansum(summed - truth)
            row = {"level": level, "model": name, "rmsse": loss(summed, truth, scale, "rmsse"),
                   "wape": loss(summed, truth, scale, "wape"), "bias": float(error / max(np.nansum(truth), 1e-9)),
                   "coverage": np.nan}
            if name == "ensemble":
                spread = np.sqrt(aggregate(sd**2, groups, n))
                p10, p90 = np.clip(summed - Z_10_90 / 2 * spread, 0, None), summed + Z_10_90 / 2 * spread
                if n == len(groups):  # the series themselves: their own calibrated bounds
                    p10, p90 = np.where(scored, low, np.nan), np.where(scored, high, np.nan)
                elif reconciled is not None and level in reconciled.spreads:  # calibrated at this level
                    p10, p90 = reconciled.spreads[level].bounds(summed)
                row["coverage"] = float(np.nanmean(((truth >= p10) & (truth <= p90))[np.isfinite(truth)]))
                arrays.update({level: summed, f"{level}:actual": truth, f"{level}:p10": p10, f"{level}:p90": p90})
            rows.append(row)
    return pd.DataFrame(rows), arrays


def level_truth(auto: AutoForecast, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What happened at a level on the backtest (fold × group × step; NaN where no series of the
    group was scored) and its RMSSE scale (fold × group: the aggregate's own naive at each origin)."""
    bt, panel = auto.backtest, auto.panel
    n = int(groups.max()) + 1
    scored = np.isfinite(bt.actual)
    counted = aggregate(scored.astype(float), groups, n) > 0
    truth = np.where(counted, aggregate(np.where(scored, bt.actual, 0.0), groups, n), np.nan)
    totals = aggregate(np.nan_to_num(panel.values)[None, :, :], groups, n)[0]
    scale = np.stack([naive_mse(totals, panel.index.get_loc(o)) for o in bt.origins])
    return truth, np.where(scale > 0, scale, np.nan)


def summed_forecast(forecast: np.ndarray, scored: np.ndarray, groups: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """A series-level backtest forecast summed to a level over the cells that are scored, NaN where
    the level's ``truth`` (:func:`level_truth`) is: where none of a group's series is scored."""
    summed = aggregate(np.where(scored, forecast, 0.0), groups, truth.shape[-2])
    return np.where(np.isfinite(truth), summed, np.nan)

"""The backtest pictures logged with every forecaster run (matplotlib, no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def forecast_plot(curves: pd.DataFrame, per_level: int = 2) -> Figure:
    """Actual vs the ensemble (with P10–P90), last fold, for the busiest series of each level."""
    levels = ["chain", "store", "sku_store"]
    last = curves[curves["fold"] == curves["fold"].max()]
    fig, axes = plt.subplots(len(levels), per_level, figsize=(6 * per_level, 3 * len(levels)), squeeze=False)
    for row, level in enumerate(levels):
        ours = last[last["level"] == level]
        busiest = ours.groupby("series")["actual"].sum().nlargest(per_level).index
        for col in range(per_level):
            ax = axes[row][col]
            if col >= len(busiest):
                ax.axis("off")
                continue
            series = ours[ours["series"] == busiest[col]].sort_values("date")
            ax.plot(series["date"], series["actual"], color="black", label="actual")
            ax.plot(series["date"], series["mean"], color="tab:blue", label="ensemble")
            ax.fill_between(series["date"], series["p10"], series["p90"], color="tab:blue", alpha=0.2, label="P10–P90")
            ax.set_title(f"{level}: {busiest[col]}", fontsize=9)
            ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def importance_plot(importance: pd.Series, top: int = 20) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 6))
    importance.head(top)[::-1].plot.barh(ax=ax, color="tab:blue")
    ax.set_xlabel("share of total gain")
    ax.set_title("Global LightGBM feature importance (its last fit)")
    fig.tight_layout()
    return fig


def coverage_plot(summary: pd.DataFrame) -> Figure:
    """P10–P90 coverage per level (the ensemble's), against the 80% it should have."""
    rows = summary.dropna(subset=["coverage"])
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [f"{r.level}\n{r.model}" for r in rows.itertuples()]
    ax.bar(labels, rows["coverage"], color="tab:blue")
    ax.axhline(0.8, color="black", linestyle="--", label="target 80%")
    ax.axhspan(0.75, 0.85, color="green", alpha=0.1, label="75–85%")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of actuals inside P10–P90")
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def traffic_plot(forecasts: pd.DataFrame, served: str, stores: int = 3) -> Figure:
    """Hourly tickets of the last fold's first week: actual vs the served model (P10–P90) and the
    same-hour-last-week member, for the busiest stores."""
    last = forecasts[forecasts["fold"] == forecasts["fold"].max()]
    week = last[last["date"] < last["date"].min() + pd.Timedelta(days=7)]
    busiest = week.groupby("store_id")["actual"].sum().nlargest(stores).index
    fig, axes = plt.subplots(len(busiest), 1, figsize=(12, 3 * max(len(busiest), 1)), squeeze=False)
    for ax, store in zip(axes[:, 0], busiest):
        rows = week[week["store_id"] == store]
        ours = rows[rows["model"] == served].sort_values(["date", "hour"])
        naive = rows[rows["model"] == "seasonal_naive"].sort_values(["date", "hour"])
        x = range(len(ours))
        ax.plot(x, ours["actual"], color="black", label="actual")
        ax.plot(x, ours["point"], color="tab:blue", label=served)
        ax.fill_between(x, ours["p10"], ours["p90"], color="tab:blue", alpha=0.2, label="P10–P90")
        ax.plot(x, naive["point"], color="tab:gray", linestyle=":", label="last week")
        ax.set_title(f"store {store}: tickets per open hour")
        ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig

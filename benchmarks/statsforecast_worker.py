"""statsforecast peers for the benchmarks, each run in a process of its own.

Usage: python statsforecast_worker.py autoets|mstl IN.parquet OUT.parquet HORIZON [SEASON ...]
IN: unique_id, ds, y (each series' history; ds dates for autoets, integer positions for mstl);
OUT: unique_id, ds, mean.
autoets: AutoETS with a weekly season on daily series (Naive where ETS cannot fit a series of a
few days: statsforecast raises "tiny datasets"). mstl: MSTL with the given season lengths (e.g.
hours per day and per week) on a regular hourly grid, AutoETS on the trend.
"""

import sys

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import MSTL, AutoETS, Naive

kind, source, target, horizon = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
history = pd.read_parquet(source)
if kind == "autoets":
    forecaster = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=-1, fallback_model=Naive())
else:
    seasons = [int(s) for s in sys.argv[5:]]
    forecaster = StatsForecast(models=[MSTL(season_length=seasons)], freq=1, n_jobs=-1, fallback_model=Naive())
out = forecaster.forecast(df=history, h=horizon)
out = out.reset_index() if "unique_id" not in out.columns else out
name = "AutoETS" if kind == "autoets" else "MSTL"
out.rename(columns={name: "mean"})[["unique_id", "ds", "mean"]].to_parquet(target)

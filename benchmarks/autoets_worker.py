"""AutoETS forecasts for the forecast benchmark, run in its own venv (statsforecast needs pandas < 3).

Usage: python autoets_worker.py IN.parquet OUT.parquet HORIZON
IN: unique_id, ds, y (each series' history); OUT: unique_id, ds, mean.
"""

import sys

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, Naive

history = pd.read_parquet(sys.argv[1])
horizon = int(sys.argv[3])
# Naive where ETS cannot fit (a series of a few days: statsforecast raises "tiny datasets")
forecaster = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=-1, fallback_model=Naive())
out = forecaster.forecast(df=history, h=horizon)
out = out.reset_index() if "unique_id" not in out.columns else out
out.rename(columns={"AutoETS": "mean"})[["unique_id", "ds", "mean"]].to_parquet(sys.argv[2])

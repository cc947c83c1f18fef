"""The global demand model: one LightGBM over every store × SKU series, direct multi-horizon.

**Direct, not recursive.** A training example is (series, origin, horizon h): the series' history
features as they stood at the origin (the last day of history), the *known-ahead* features of the
day being predicted (calendar, planned price and promotion, same day last year; see
``Feature.known_ahead``), ``h`` itself, and the units sold that day as the target. One model
serves every horizon, so nothing predicted is fed back as if it had been observed: errors do not
compound over 28 days, and a promotion planned for day 20 moves day 20 alone. Recursive models
would need the Spark feature pipeline re-run per forecast day; direct needs the features once.

**Objective.** Tweedie (variance power 1.3): daily SKU sales are mostly zeros with a long right
tail, and the Tweedie log-link predicts the mean, which is what RMSSE rewards.

**Quantiles** come from the mean, not from more models: a negative-binomial spread
``var = μ + φ·μ²`` (φ fitted by moments on held-out forecasts) and the empirical 10th/90th
percentiles of the standardised held-out errors ``(y − μ)/√var``, per level (see
:class:`Spread`). That is split-conformal calibration: it needs a fold of forecasts the model did
not train on, which the rolling backtest provides, and it holds the P10–P90 coverage near 80% by
construction. Sums of independent series add means and variances, so the same spread serves
aggregate levels.

**Censored days.** A day that ended out of stock sold less than its demand; such days are not
training targets.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.definitions import FeatureSet

KEYS = ["store_id", "sku"]
ORIGIN_UNITS = "units_at_origin"  # units sold on the origin day itself: the freshest observation


@dataclass(frozen=True)
class Columns:
    """How a demand feature set's columns split for a direct forecast."""

    history: list[str]  # read at the origin
    ahead: list[str]  # read on the predicted day
    categorical: list[str]

    @classmethod
    def of(cls, features: FeatureSet) -> Columns:
        return cls(history=[f.name for f in features.features if not f.known_ahead],
                   ahead=[f.name for f in features.features if f.known_ahead],
                   categorical=[*features.categorical, "store_id"])

    @property
    def model_inputs(self) -> list[str]:
        return [*self.history, ORIGIN_UNITS, *self.ahead, "horizon", "store_id"]


def examples(origin_rows: pd.DataFrame, target_rows: pd.DataFrame, columns: Columns, period_days: int = 1
             ) -> pd.DataFrame:
    """Join each series' row at its origin with the rows of the days it predicts.

    ``origin_rows``: one row per series and origin (``date`` = the origin), history columns and
    ``units``. ``target_rows``: rows for predicted days (``date``), ahead columns, and ``units`` /
    ``stockout_days`` when known. Returns one row per (series, origin, predicted day) with
    ``origin``, ``horizon`` (in periods, from 1) and the model inputs.
    """
    origins = origin_rows[[*KEYS, "date", "units", *columns.history]].rename(
        columns={"date": "origin", "units": ORIGIN_UNITS})
    wanted = [c for c in [*KEYS, "date", *columns.ahead, "units", "stockout_days"] if c in target_rows.columns]
    joined = origins.merge(target_rows[wanted], on=KEYS, how="inner")
    joined["horizon"] = (joined["date"] - joined["origin"]).dt.days // period_days
    return joined[joined["horizon"] >= 1].reset_index(drop=True)


@dataclass
class DemandModel:
    """A fitted LightGBM mean model and the columns it reads."""

    columns: Columns
    params: dict = field(default_factory=lambda: dict(PARAMS))
    booster: lgb.Booster | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, train: pd.DataFrame, rounds: int = 300) -> DemandModel:
        usable = train[train.get("stockout_days", 0).fillna(0) == 0] if "stockout_days" in train else train
        if usable.empty:
            raise ValueError("no training examples: every predicted day was censored or the history is too short")
        self.categories = {c: sorted(usable[c].dropna().astype(str).unique()) for c in self.columns.categorical}
        data = lgb.Dataset(self._inputs(usable), label=usable["units"].clip(lower=0).to_numpy(dtype=float),
                           categorical_feature=self.columns.categorical, free_raw_data=True)
        self.booster = lgb.train(self.params, data, num_boost_round=rounds)
        return self

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """Expected units for each example row."""
        if self.booster is None:
            raise RuntimeError("the model is not fitted")
        return np.clip(self.booster.predict(self._inputs(rows)), 0, None)

    def importance(self) -> pd.Series:
        gain = self.booster.feature_importance("gain")
        return pd.Series(gain / gain.sum(), index=self.booster.feature_name()).sort_values(ascending=False)

    def save(self, folder: Path) -> None:
        """The booster as LightGBM's text model, the columns and category levels as JSON."""
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "booster.txt"))
        (folder / "columns.json").write_text(json.dumps({"columns": asdict(self.columns), "categories": self.categories}))

    @classmethod
    def load(cls, folder: Path) -> DemandModel:
        meta = json.loads((folder / "columns.json").read_text())
        return cls(Columns(**meta["columns"]), booster=lgb.Booster(model_file=str(folder / "booster.txt")),
                   categories=meta["categories"])

    def _inputs(self, rows: pd.DataFrame) -> pd.DataFrame:
        inputs = rows[self.columns.model_inputs].copy()
        for column in self.columns.categorical:
            inputs[column] = pd.Categorical(inputs[column].astype("string"), categories=self.categories[column])
        return inputs


PARAMS = {
    "objective": "tweedie", "tweedie_variance_power": 1.3, "learning_rate": 0.05, "num_leaves": 63,
    "min_data_in_leaf": 200, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
    "lambda_l2": 1.0, "cat_smooth": 20, "max_bin": 127, "verbose": -1, "num_threads": 0, "seed": 7,
}


@dataclass
class Spread:
    """Calibrated P10/P90 around a mean forecast (see the module docstring)."""

    dispersion: float = 0.0  # φ in var = μ + φ μ²
    z: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # level -> (z10, z50, z90)

    @staticmethod
    def fit_dispersion(actual: np.ndarray, mean: np.ndarray) -> float:
        """φ by moments: E[(y − μ)² − μ] = φ E[μ²], never below 0 (Poisson)."""
        excess = np.sum((actual - mean) ** 2 - mean)
        return float(max(0.0, excess / max(np.sum(mean ** 2), 1e-12)))

    def to_json(self) -> str:
        return json.dumps({"dispersion": self.dispersion, "z": self.z})

    @classmethod
    def from_json(cls, text: str) -> Spread:
        data = json.loads(text)
        return cls(data["dispersion"], {level: tuple(z) for level, z in data["z"].items()})

    def variance(self, mean: np.ndarray) -> np.ndarray:
        return mean + self.dispersion * mean ** 2

    def calibrate(self, level: str, actual: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> None:
        """Record the 10th/50th/90th percentiles of the standardised held-out errors at ``level``."""
        scale = np.sqrt(np.maximum(variance, 1e-12))
        z = (np.asarray(actual, float) - mean) / scale
        self.z[level] = tuple(float(q) for q in np.quantile(z, [0.1, 0.5, 0.9]))

    def quantiles(self, level: str, mean: np.ndarray, variance: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P10, P50, P90) for each mean, ordered and never below 0.

        P50 is the median, below the mean for skewed slow sellers; the mean stays the point forecast.
        """
        if level not in self.z:
            raise KeyError(f"no calibration for level {level!r}: calibrated are {sorted(self.z)}")
        z10, z50, z90 = self.z[level]
        scale = np.sqrt(np.maximum(variance, 0))
        p10, p50, p90 = (np.clip(mean + z * scale, 0, None) for z in (z10, z50, z90))
        return p10, np.maximum(p50, p10), np.maximum(p90, np.maximum(p50, p10))


def daily_forecast(model: DemandModel, spread: Spread, inputs: pd.DataFrame) -> pd.DataFrame:
    """Daily mean, variance and P10/P50/P90 per store × SKU from prepared model inputs."""
    mean = model.predict(inputs)
    variance = spread.variance(mean)
    p10, p50, p90 = spread.quantiles("sku_store", mean, variance)
    return pd.DataFrame({"store_id": inputs["store_id"].astype(str), "sku": inputs["sku"].astype(str),
                         "date": inputs["date"], "mean": mean, "var": variance, "p10": p10, "p50": p50, "p90": p90})

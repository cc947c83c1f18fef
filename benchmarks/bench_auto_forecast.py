"""The public forecasting API (``fit_demand``, ``fit_traffic``) against every single member of its
pool, out of sample, on data it was not shaped on.

Datasets: Online Retail (``../shared/datasets``; daily units of its 500 busiest SKUs, country GB;
invoices per hour of the UK and of every other country as two "stores") and the generator at two
scales (a sample of 500 store × SKU series, the stores' daily totals, hourly tickets per store).

Task ``weekly``: weeks from Monday, 8 weeks ahead (``month``: origins on the last week before a
month's 1st): Online Retail's 500 SKUs, the generator's store × category totals (a store ×
department panel; ``large`` has three years, so the yearly season is known at every origin).

Task ``levels``: store × SKU series given with their ``store_id`` (Online Retail: its 6 busiest
countries as stores × its 300 busiest SKUs; the generator: every series of 5 stores);
``levels_weekly``: the same summed to weeks from Monday, 8 weeks ahead (``month``: the last week
before a month's 1st). The reconciled ensemble is scored at the series, the stores' totals and the chain's total, against
every single member both summed bottom-up and fitted on those totals directly.

Protocols: ``rolling`` (three origins ``horizon`` apart, the last one ending the data) and
``month`` (origins on the eve of the 1st of the last three months that leave a full horizon).
At each test origin, ``fit_demand``/``fit_traffic`` see only the history up to it (their own
backtest runs inside that history); every member of the pool is also fitted alone on the same
history. Printed: RMSSE (demand) or WAPE and peak top-3 hit rate (traffic), bias (total forecast
over total actual, − 1), P10–P90 coverage, and the ratio of the ensemble to the best single member
on the test.

Usage: python benchmarks/bench_auto_forecast.py [--datasets online_retail,small,medium] [--origins 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models.auto_forecast import fit_demand, fit_traffic
from models.ensemble import loss
from models.panel import Panel, demand_panel, naive_mse, traffic_panel
from models.pool import default_pool

ORACLE = "oracle: the generator's means (not a member)"
ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"


def online_retail() -> dict[str, tuple]:
    raw = pd.read_csv(ONLINE_RETAIL, dtype={"StockCode": str, "InvoiceNo": str})
    raw = raw[~raw["InvoiceNo"].str.startswith("C") & (raw["Quantity"] > 0)]
    at = pd.to_datetime(raw["InvoiceDate"])
    top = raw["StockCode"].value_counts().index[:500]
    daily = (raw.assign(date=at.dt.normalize())[raw["StockCode"].isin(top)]
             .groupby(["StockCode", "date"], as_index=False)["Quantity"].sum()
             .set_axis(["series_id", "date", "units"], axis=1))
    hourly = (raw.assign(hour_start=at.dt.floor("h"), store_id=np.where(raw["Country"] == "United Kingdom", "UK", "other"))
              .groupby(["store_id", "hour_start"])["InvoiceNo"].nunique().rename("tickets").reset_index())
    countries = raw["Country"].value_counts().index[:6]
    in_top = raw["Country"].isin(countries) & raw["StockCode"].isin(top[:300])
    by_country = (raw[in_top].assign(date=at.dt.normalize()).groupby(["Country", "StockCode", "date"], as_index=False)
                  ["Quantity"].sum().set_axis(["store_id", "sku", "date", "units"], axis=1))
    by_country["series_id"] = by_country["store_id"] + "/" + by_country["sku"]
    weekly = daily.assign(date=week_start(daily["date"])).groupby(["series_id", "date"], as_index=False)["units"].sum()
    return {"sku": (daily, "GB"), "weekly": (weekly, "GB"), "levels": (by_country, "GB"),
            "levels_weekly": (by_country, "GB"), "traffic": (hourly, "GB")}


def generated(scale: str) -> dict[str, tuple]:
    from warehouse.generator import generate

    with tempfile.TemporaryDirectory() as folder:
        generate(scale, 11, Path(folder))
        sales = pd.read_csv(Path(folder) / "vendas.csv", usecols=["cod_transacao", "cod_loja", "cod_prod",
                                                                   "quantidade", "data_venda"])
        category = pd.read_csv(Path(folder) / "produtos.csv", usecols=["cod_prod", "categoria"])
        truth = json.loads((Path(folder) / "verdade.json").read_text(encoding="utf-8"))
    at = pd.to_datetime(sales["data_venda"])
    sales = sales.assign(date=at.dt.normalize(), series_id=sales["cod_loja"] + "/" + sales["cod_prod"])
    rng = np.random.default_rng(5)
    last = sales["date"].max()
    recent = sales.loc[sales["date"] > last - pd.Timedelta(days=90), "series_id"].unique()
    chosen = rng.choice(np.sort(recent), size=min(500, len(recent)), replace=False)
    sku = (sales[sales["series_id"].isin(chosen)].groupby(["series_id", "date"], as_index=False)["quantidade"].sum()
           .rename(columns={"quantidade": "units"}))
    store = (sales.groupby(["cod_loja", "date"], as_index=False)["quantidade"].sum()
             .set_axis(["series_id", "date", "units"], axis=1))
    tickets = (sales[sales["quantidade"] > 0].assign(hour_start=at.dt.floor("h"))
               .groupby(["cod_loja", "hour_start"])["cod_transacao"].nunique())
    # every trading hour of a day the store opened, an hour without a customer as 0 (as the
    # warehouse's traffic_hour): absent, it would read as closed and go unscored
    open_days = tickets.index.to_frame(index=False).assign(day=lambda f: f["hour_start"].dt.normalize())
    open_days = open_days.drop_duplicates(["cod_loja", "day"])
    trading = trading_hours(truth)
    grid = pd.MultiIndex.from_arrays([np.repeat(open_days["cod_loja"].to_numpy(), len(trading)),
                                      (open_days["day"].to_numpy()[:, None] + trading).ravel()],
                                     names=["store_id", "hour_start"])
    traffic = tickets.reindex(grid, fill_value=0).rename("tickets").reset_index()
    traffic.attrs["true_mean"] = true_tickets(truth)  # scored beside the members as the oracle
    stores = np.sort(sales["cod_loja"].unique())[:5]
    levels = (sales[sales["cod_loja"].isin(stores)].groupby(["cod_loja", "series_id", "date"], as_index=False)
              ["quantidade"].sum().set_axis(["store_id", "series_id", "date", "units"], axis=1))
    levels.attrs["true_mean"] = calendar_oracle(truth, levels, category)
    by_category = sales.merge(category, on="cod_prod")
    weekly = (by_category.assign(date=week_start(by_category["date"]),
                                 series_id=by_category["cod_loja"] + "/" + by_category["categoria"])
              .groupby(["series_id", "date"], as_index=False)["quantidade"].sum().rename(columns={"quantidade": "units"}))
    return {"sku": (sku, "BR"), "store": (store, "BR"), "weekly": (weekly, "BR"), "levels": (levels, "BR"),
            "levels_weekly": (levels, "BR"), "traffic": (traffic, "BR")}


def trading_hours(truth: dict) -> np.ndarray:
    """The generator's trading hours as offsets from midnight (10:00 to 21:00)."""
    spec = truth["hourly_traffic"]
    return pd.to_timedelta(spec["open_hour"] + np.arange(len(spec["saturday_tilt"])), unit="h").to_numpy()


def true_tickets(truth: dict) -> pd.Series:
    """The generator's expected tickets per store and hour (its ``verdade.json``): the store-day's
    Poisson mean (base × store size × day factor) times the hour's share of the store's profile
    (Saturdays tilted to the afternoon). Each hour's count is Poisson around it, so this is the
    forecast no model can beat but by luck: its WAPE is the noise floor, its peak hit rate the ceiling."""
    spec = truth["hourly_traffic"]
    days = pd.date_range(truth["start"], truth["end"], freq="D")
    saturday = (days.dayofweek == 5)[:, None]
    parts = []
    for store, size in spec["store_size"].items():
        share = np.asarray(spec["profiles"][truth["store_profiles"][store]], float)
        tilted = share * np.asarray(spec["saturday_tilt"])
        shares = np.where(saturday, tilted / tilted.sum(), share / share.sum())
        mean = spec["tickets_per_store_day"] * size * np.asarray(spec["day_factor"])[:, None] * shares
        hours = days.values[:, None] + trading_hours(truth)
        parts.append(pd.Series(mean.ravel(), pd.MultiIndex.from_arrays([np.full(mean.size, store), hours.ravel()])))
    return pd.concat(parts)


def calendar_oracle(truth: dict, units: pd.DataFrame, category: pd.DataFrame) -> pd.Series:
    """Expected units per series and day as the generator plants them, as far as they are known
    ahead: each day's factor (weekday, season, retail dates, holidays, closures) × its category's
    season, times the series' popularity, read on the whole data (the test window included: an
    oracle knows it). Stock-outs, promotions and planted pairs are left out, so a model that knew
    them could beat it, but none in the pool is told them."""
    days = pd.date_range(truth["start"], truth["end"], freq="D")
    factor = np.asarray(truth["hourly_traffic"]["day_factor"])
    lifts = {name: np.where(days.month.isin(spec["months"]), spec["lift"], 1.0)
             for name, spec in truth["category_season"].items()}
    series = units.groupby("series_id")["units"].sum().to_frame("units")
    series["first"] = days.get_indexer(pd.to_datetime(units.groupby("series_id")["date"].min()).reindex(series.index))
    sku = series.index.str.split("/").str[1]
    series["category"] = category.set_index("cod_prod")["categoria"].reindex(sku).to_numpy()
    shape = np.stack([factor * lifts.get(c, 1.0) for c in series["category"]])
    shape[np.arange(len(days))[None, :] < series["first"].to_numpy()[:, None]] = 0.0
    mean = series["units"].to_numpy()[:, None] / np.maximum(shape.sum(axis=1, keepdims=True), 1e-9) * shape
    return pd.Series(mean.ravel(), pd.MultiIndex.from_product([series.index, days]))


def oracle(true_mean: pd.Series, history: pd.DataFrame, ids: np.ndarray, periods: pd.DatetimeIndex) -> np.ndarray:
    """The true mean of each store and hour ahead, times the share of the generated tickets the
    traffic counts (a ticket whose every line went out of stock, or that drew none, has no sale):
    that share read on the history, so the oracle knows the shape and the level, not the future's noise."""
    hours = true_mean.index.get_level_values(1)
    past = (hours >= history["hour_start"].min()) & (hours <= history["hour_start"].max())
    counted = history["tickets"].sum() / true_mean[past].sum()
    return counted * on_grid(true_mean, ids, periods)


def on_grid(true_mean: pd.Series, ids: np.ndarray, periods: pd.DatetimeIndex) -> np.ndarray:
    """``true_mean`` (by series and period) as series × periods, 0 where it has none."""
    grid = pd.MultiIndex.from_product([ids, periods])
    return true_mean.reindex(grid).fillna(0.0).to_numpy().reshape(len(ids), len(periods))


def week_start(dates: pd.Series) -> pd.Series:
    """Each date's Monday: the weeks the weekly tasks sum to."""
    dates = pd.to_datetime(dates)
    return dates - pd.to_timedelta(dates.dt.dayofweek, unit="D")


def test_origins(index: pd.DatetimeIndex, steps: int, per_day: int, protocol: str, count: int) -> list[int]:
    """Positions of the last period of history at each test origin."""
    last = len(index) - 1
    if protocol == "rolling":
        return [last - steps * k for k in range(count, 0, -1)]
    if len(index) > 1 and index[1] - index[0] == pd.Timedelta(weeks=1):  # weeks: the last one before a new month
        eves = [i for i in range(len(index) - 1) if index[i + 1].month != index[i].month and i + steps <= last]
    else:
        eves = [i for i in range(len(index) - 1) if index[i + 1].day == 1 and index[i + 1].hour == 0
                and i % per_day == per_day - 1 and i + steps <= last]
    return eves[-count:]


def peak_hit_rate(frame: pd.DataFrame, forecast: str) -> tuple[float, float]:
    """Of each store-day's 3 busiest forecast hours, the share among its 3 busiest actual hours:
    (the mean over store-days, the squared standard error of that mean)."""
    hits = []
    for _, day in frame.groupby(["store", frame["period"].dt.normalize()]):
        if len(day) < 6:
            continue
        top_f = set(day.nlargest(3, forecast)["period"])
        top_a = set(day.nlargest(3, "actual")["period"])
        hits.append(len(top_f & top_a) / 3)
    if len(hits) < 2:
        return float(np.mean(hits)) if hits else float("nan"), float("nan")
    return float(np.mean(hits)), float(np.var(hits, ddof=1) / len(hits))


def evaluate(name: str, frame: pd.DataFrame, country: str, protocol: str, count: int, folds: int = 3) -> list[dict]:
    traffic = "hour_start" in frame
    freq = "h" if traffic else "W" if name.endswith("weekly") else "D"
    panel: Panel = traffic_panel(frame, country) if traffic else demand_panel(frame, freq, country)
    steps, per_day = {"h": (14 * 24, 24), "D": (28, 1), "W": (8, 1)}[freq]
    metric = "wape" if traffic else "rmsse"
    results = []
    for origin in test_origins(panel.index, steps, per_day, protocol, count):
        seen = panel.upto(origin)
        cut = panel.index[origin] + panel.step
        history = frame[pd.to_datetime(frame["hour_start" if traffic else "date"]) < cut]
        ahead = slice(origin + 1, origin + 1 + steps)
        actual = np.where(panel.observed[:, ahead], panel.values[:, ahead], np.nan)[None]
        mse = naive_mse(panel.values, origin)
        scale = np.where(mse > 0, mse, np.nan)[None]
        open_ahead = seen.open_ahead(steps)
        forecasts = {}
        for member in default_pool(seen, steps):
            started = time.perf_counter()
            for label, values in member.fit(seen).predict(steps).items():
                forecasts[label] = (np.where(open_ahead, values, 0.0), time.perf_counter() - started)
        started = time.perf_counter()
        fitted = (fit_traffic(history, 14, country, folds=folds) if traffic
                  else fit_demand(history, freq, steps, country, folds=folds))
        seconds = time.perf_counter() - started
        # series born after the origin are unknown to the fit: 0, as every member forecasts them
        position = {sid: k for k, sid in enumerate(panel.ids)}
        rows = np.array([position[sid] for sid in fitted.panel.ids])
        mean, low, high = (np.zeros((len(panel.ids), steps)) for _ in range(3))
        mean[rows], low[rows], high[rows] = fitted.auto.predict()
        forecasts["ensemble"] = (mean, seconds)
        if "true_mean" in frame.attrs:
            forecasts[ORACLE] = (oracle(frame.attrs["true_mean"], history, panel.ids, panel.index[ahead]), 0.0)
        covered = np.isfinite(actual[0])
        coverage = float(np.mean((actual[0][covered] >= low[covered]) & (actual[0][covered] <= high[covered])))
        for label, (values, spent) in forecasts.items():
            row = {"data": name, "protocol": protocol, "origin": panel.index[origin], "model": label,
                   metric: loss(values[None], actual, scale, metric), "seconds": spent}
            if traffic:
                long = pd.DataFrame({"store": np.repeat(panel.ids, steps),
                                     "period": np.tile(panel.index[ahead], len(panel.ids)),
                                     "forecast": values.ravel(), "actual": actual[0].ravel()}).dropna()
                row["peak_hit"], row["peak_se2"] = peak_hit_rate(long, "forecast")
            scored = np.isfinite(actual[0])
            row["bias"] = float((values[scored] - actual[0][scored]).sum() / max(actual[0][scored].sum(), 1e-9))
            if label == "ensemble":
                row["coverage"] = coverage
            results.append(row)
    return results


def evaluate_levels(name: str, frame: pd.DataFrame, country: str, protocol: str, count: int,
                    folds: int = 3) -> list[dict]:
    """Store × SKU series with their stores: the reconciled ensemble scored at the series, store
    and chain levels, against every single member fitted on the series (summed bottom-up) and
    fitted on each level's totals directly."""
    from models.level_scores import aggregate
    from models.reconcile import aggregate_panel

    freq = "W" if name.endswith("weekly") else "D"
    if freq == "W":
        frame = frame.assign(date=week_start(frame["date"])).groupby(["store_id", "series_id", "date"],
                                                                      as_index=False)["units"].sum()
    panel = demand_panel(frame, freq, country)
    store_of = frame.drop_duplicates("series_id").set_index("series_id")["store_id"].astype(str).reindex(panel.ids)
    groups = {"series": np.arange(len(panel.ids)), "store": pd.factorize(store_of, sort=True)[0],
              "chain": np.zeros(len(panel.ids), int)}
    steps, results = (28 if freq == "D" else 8), []
    for origin in test_origins(panel.index, steps, 1, protocol, count):
        seen = panel.upto(origin)
        history = frame[pd.to_datetime(frame["date"]) <= panel.index[origin]]
        ahead = slice(origin + 1, origin + 1 + steps)
        started = time.perf_counter()
        fitted = fit_demand(history, freq, steps, country, folds=folds)
        seconds = time.perf_counter() - started
        position = {sid: k for k, sid in enumerate(panel.ids)}
        rows = np.array([position[sid] for sid in fitted.panel.ids])
        ensemble, low_series, high_series = (np.zeros((len(panel.ids), steps)) for _ in range(3))
        ensemble[rows], low_series[rows], high_series[rows] = fitted.auto.predict()
        reconciliation, fitted.auto.reconciliation = fitted.auto.reconciliation, None  # the blend before it
        unreconciled = np.zeros((len(panel.ids), steps))
        unreconciled[rows] = fitted.auto.predict()[0]
        fitted.auto.reconciliation = reconciliation
        bands = fitted.levels().set_index(["level", "group"])
        single = {}
        for member in default_pool(seen, steps):
            single.update(member.fit(seen).predict(steps))
        open_ahead = seen.open_ahead(steps)
        for level, codes in groups.items():
            n = int(codes.max()) + 1
            totals = aggregate_panel(panel, codes) if level != "series" else panel
            actual = np.where(totals.observed[:, ahead], totals.values[:, ahead], np.nan)[None]
            mse = naive_mse(totals.values, origin)
            scale = np.where(mse > 0, mse, np.nan)[None]
            series = {**single, "ensemble": ensemble, "ensemble unreconciled": unreconciled}
            if "true_mean" in frame.attrs and freq == "D":
                series[ORACLE] = on_grid(frame.attrs["true_mean"], panel.ids, panel.index[ahead])
            if level == "series":
                candidates = series
            else:
                candidates = {f"{label} (bottom-up)": aggregate(np.where(open_ahead, values, 0.0), codes, n)
                              for label, values in series.items()}
                candidates["ensemble"] = candidates.pop("ensemble (bottom-up)")
                if ORACLE in series:
                    candidates[ORACLE] = candidates.pop(f"{ORACLE} (bottom-up)")
                own = totals.upto(origin)
                for member in default_pool(own, steps):
                    for label, values in member.fit(own).predict(steps).items():
                        candidates[f"{label} (on totals)"] = np.where(own.open_ahead(steps), values, 0.0)
            for label, values in candidates.items():
                row = {"data": f"{name}:{level}", "protocol": protocol, "origin": panel.index[origin], "model": label,
                       "rmsse": loss(values[None], actual, scale, "rmsse"),
                       "seconds": seconds if label == "ensemble" else np.nan,
                       "bias": float(np.nansum(values[None] - actual) / max(np.nansum(actual), 1e-9))}
                if label == "ensemble":
                    low, high = low_series, high_series
                    if level != "series":
                        names = pd.factorize(store_of, sort=True)[1] if level == "store" else ["all"]
                        low = np.stack([bands.loc[(level, str(g)), "p10"].to_numpy() for g in names])
                        high = np.stack([bands.loc[(level, str(g)), "p90"].to_numpy() for g in names])
                    ok = np.isfinite(actual[0])
                    row["coverage"] = float(np.mean((actual[0][ok] >= low[ok]) & (actual[0][ok] <= high[ok])))
                results.append(row)
        print(f"    origin {panel.index[origin].date()}: reconciled as {fitted.auto.reconciliation.choice}", flush=True)
    return results


def summarise(results: pd.DataFrame) -> None:
    for (data, protocol), part in results.groupby(["data", "protocol"], sort=False):
        metric = "wape" if "wape" in part and part["wape"].notna().any() else "rmsse"
        columns = [c for c in [metric, "bias", "peak_hit", "peak_se2", "coverage", "seconds"] if c in part]
        table = part.groupby("model")[columns].mean()
        if "peak_se2" in table:  # the mean of the origins' rates: its standard error
            table["peak_se"] = np.sqrt(table.pop("peak_se2") / part["origin"].nunique())
        table = table.dropna(axis=1, how="all")
        table = table.sort_values(metric)
        singles = table.drop(index=[m for m in table.index if m.startswith("ensemble") or m == ORACLE])
        best_single, best_name = singles[metric].min(), singles[metric].idxmin()
        print(f"\n== {data} · {protocol} · {part['origin'].nunique()} origins ==")
        print(table.round(4).to_string())
        line = (f"ensemble {metric} {table.loc['ensemble', metric]:.4f} vs best single ({best_name}) {best_single:.4f}: "
                f"ratio {table.loc['ensemble', metric] / best_single:.3f}; bias {table.loc['ensemble', 'bias']:+.1%}")
        if "coverage" in table:
            line += f"; P10–P90 coverage {table.loc['ensemble', 'coverage']:.1%}"
        if "peak_hit" in table:
            line += (f"; peak hit {table.loc['ensemble', 'peak_hit']:.3f} ± {table.loc['ensemble', 'peak_se']:.3f} "
                     f"vs best single {singles['peak_hit'].max():.3f}")
        if ORACLE in table.index:  # the generator's own means: what no forecast beats but by luck
            floor, gap = table.loc[ORACLE, metric], best_single - table.loc[ORACLE, metric]
            line += (f"; the generator's means: {metric} {floor:.4f} ({floor / best_single:.3f} × the best single; gap closed: "
                     f"{(best_single - table.loc['ensemble', metric]) / gap if gap > 0 else float('nan'):.0%})")
            if "peak_hit" in table:
                line += f" and peak hit {table.loc[ORACLE, 'peak_hit']:.3f}"
        unreconciled = [m for m in table.index if m.startswith("ensemble unreconciled")]
        if unreconciled:
            line += f"; before reconciliation {table.loc[unreconciled[0], metric]:.4f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="online_retail,small,medium")
    parser.add_argument("--protocols", default="rolling,month")
    parser.add_argument("--origins", type=int, default=3)
    parser.add_argument("--tasks", default="sku,store,levels,traffic")
    parser.add_argument("--folds", type=int, default=3, help="backtest folds inside fit_demand / fit_traffic")
    args = parser.parse_args()
    rows = []
    for dataset in args.datasets.split(","):
        started = time.perf_counter()
        tasks = online_retail() if dataset == "online_retail" else generated(dataset)
        print(f"{dataset}: data ready in {time.perf_counter() - started:.0f} s", flush=True)
        for task, (frame, country) in tasks.items():
            if task not in args.tasks.split(","):
                continue
            for protocol in args.protocols.split(","):
                started = time.perf_counter()
                score = evaluate_levels if task.startswith("levels") else evaluate
                rows += score(f"{dataset}/{task}", frame, country, protocol, args.origins, args.folds)
                print(f"  {dataset}/{task} {protocol}: {time.perf_counter() - started:.0f} s", flush=True)
                summarise(pd.DataFrame([r for r in rows if r["data"].split(":")[0] == f"{dataset}/{task}"
                                        and r["protocol"] == protocol]))


if __name__ == "__main__":
    main()

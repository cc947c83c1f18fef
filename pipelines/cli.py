"""The ``vitrine`` command: generate data, ingest it, refresh gold, and run the whole pipeline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from features.definitions import DEFAULT_SETS
from pipelines.progress import clocked
from warehouse.local_files import keep_private, make_private
from warehouse.settings import Settings, java_version, load_settings

app = typer.Typer(help="vitrine: forecasts, staffing and cross-sell for retail stores.", no_args_is_help=True)
gold_app = typer.Typer(help="The gold layer.")
app.add_typer(gold_app, name="gold")
features_app = typer.Typer(help="Spark feature pipelines over the warehouse.")
app.add_typer(features_app, name="features")
train_app = typer.Typer(help="Train, backtest and register the models in MLflow.")
app.add_typer(train_app, name="train")
pipeline_app = typer.Typer(help="The whole pipeline: posted sales and new files in, models and figures out.")
app.add_typer(pipeline_app, name="pipeline")
users_app = typer.Typer(help="Who may use the service: tokens by role.")
app.add_typer(users_app, name="users")
console = Console()
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # its bars would bury the status lines


def quiet_libraries(settings: Settings) -> None:
    """MLflow's and Spark's chatter (model signatures, pickling warnings) goes to
    ``logs/libraries.log``, not between vitrine's own lines."""
    import logging

    import mlflow  # noqa: F401 - importing it sets its loggers up; they are replaced after

    path = (settings.logs_dir / "libraries.log").resolve()
    if any(getattr(h, "baseFilename", None) == str(path) for h in logging.getLogger("mlflow").handlers):
        return  # each training step asks; one open file serves every run of a scheduled `vitrine up`
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("mlflow", "py4j", "alembic"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False

@app.callback()
def private_files() -> None:
    """What vitrine writes is its user's only (tokens, audit, sales, models: 0600 files, 0700 folders)."""
    keep_private()


HomeOption = Annotated[Path | None, typer.Option("--home", help="Overrides VITRINE_HOME.")]
UrlOption = Annotated[str | None, typer.Option("--clickhouse-url", help="Overrides VITRINE_CLICKHOUSE_URL.")]


def _settings(home: Path | None, url: str | None) -> Settings:
    return load_settings(home=home, clickhouse_url=url)


def step_record(settings: Settings, job: str) -> Path:
    """Where a job's step times are kept, for the next run's estimate of the time left."""
    return settings.logs_dir / "steps" / f"{job}.json"


def _say_error(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)  # one line: the terminal wraps it, a grep finds it


def _fail(message: str) -> None:
    _say_error(message)
    raise typer.Exit(1)


@app.command()
def generate(
    scale: Annotated[str, typer.Option(help="tiny | small | medium | large | xlarge")] = "small",
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 42,
    out: Annotated[Path | None, typer.Option(help="Folder for the CSVs (default: VITRINE_HOME/data/SCALE).")] = None,
    home: HomeOption = None,
) -> None:
    """Write a synthetic CosmeticCo export (one CSV per table, plus verdade.json with the planted truth)."""
    from warehouse.generator import SCALES
    from warehouse.generator import generate as run_generate

    if scale not in SCALES:
        _fail(f"unknown scale {scale!r}: use one of {', '.join(SCALES)}")
    out = out or load_settings(home=home).data_dir / scale
    with clocked(console, f"Generating the {scale} dataset (seed {seed}) into {out}…"):
        started = time.perf_counter()
        rows = run_generate(scale, seed, out)
    console.print(f"Wrote {sum(rows.values()):,} rows in {len(rows)} files to {out} "
                  f"in {time.perf_counter() - started:.1f} s (sales lines: {rows['vendas']:,}).")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="CSV (plain or .gz) or Parquet files, or folders of them.")],
    mapping: Annotated[str, typer.Option(help="Built-in mapping name or a YAML file.")] = "cosmeticco",
    home: HomeOption = None,
    clickhouse_url: UrlOption = None,
) -> None:
    """Load export files into the warehouse: bronze, validated silver (bad rows quarantined), gold."""
    ingest_step(_settings(home, clickhouse_url), paths, mapping)


def ingest_step(settings: Settings, paths: list[Path], mapping: str) -> None:
    """Ingest files or folders with a mapping, showing progress, then print what was loaded."""
    from pipelines.report import print_ingest
    from warehouse.clickhouse import connect
    from warehouse.ingest import IngestError, expand_paths
    from warehouse.ingest import ingest as run_ingest
    from warehouse.mapping import MappingError, load_mapping

    try:
        chosen = load_mapping(mapping)
        files = expand_paths(paths)
        client = connect(settings)
        with clocked(console, f"Ingesting {len(files)} files…", step_record(settings, "ingest")) as step:
            done = [0]

            def advance(path: Path | None) -> None:
                if path is None:
                    step("Refreshing the gold tables of the months loaded…")
                    return
                done[0] += 1
                step(f"Ingesting {path.name} ({done[0]}/{len(files)} files)…")

            report = run_ingest(client, settings, files, chosen, progress=advance)
    except (IngestError, MappingError) as exc:
        _fail(str(exc))
    print_ingest(console, report)


@gold_app.command("refresh")
def gold_refresh(home: HomeOption = None, clickhouse_url: UrlOption = None) -> None:
    """Recompute every gold table from silver (after a manual fix, or to be sure)."""
    from warehouse import gold
    from warehouse.clickhouse import connect

    client = connect(_settings(home, clickhouse_url))
    done = gold.refresh(client, {table: {gold.ALL} for table in gold.BUILDERS})
    console.print(f"Refreshed: {', '.join(f'{t} ({n} partitions)' for t, n in done.items())}")


@features_app.command("build")
def features_build(
    sets: Annotated[str, typer.Option(help="Comma-separated feature sets (vitrine features list).")] =
        ",".join(DEFAULT_SETS),
    as_of: Annotated[str | None, typer.Option(help="Use only data before this day (YYYY-MM-DD); default: all.")] = None,
    home: HomeOption = None,
    clickhouse_url: UrlOption = None,
    spark_master: Annotated[str | None, typer.Option(help="Overrides VITRINE_SPARK_MASTER.")] = None,
) -> None:
    """Compute the feature sets in Spark from ClickHouse and record each run (meta.feature_runs)."""
    from datetime import date

    try:
        cut = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    features_step(load_settings(home=home, clickhouse_url=clickhouse_url, spark_master=spark_master),
                  tuple(s.strip() for s in sets.split(",") if s.strip()), cut)


def features_step(settings: Settings, sets: tuple[str, ...], as_of) -> None:
    """Build feature sets in Spark, showing each step, then print each run."""
    from features.build import FeatureInputError, build
    from features.spark import SparkSetupError, spark_tasks

    started = time.perf_counter()
    try:
        with clocked(console, "Starting Spark…", step_record(settings, "features"), detail=spark_tasks) as step:
            runs = build(settings, sets, as_of, on_step=lambda name: step(f"Building {name} in Spark ({settings.spark_master})…"))
    except (FeatureInputError, SparkSetupError, KeyError) as exc:
        _fail(str(exc).strip('"'))
    for r in runs:
        console.print(f"{r.feature_set}: {r.rows:,} rows in {r.seconds:.1f} s -> {r.path}")
    console.print(f"Features as of {runs[0].as_of} built in {time.perf_counter() - started:.1f} s.")


@features_app.command("list")
def features_list(name: Annotated[str, typer.Argument(help="A feature set.")] = "demand_day") -> None:
    """Print a feature set's keys, targets and features (the one list training and serving use)."""
    from features.definitions import feature_set

    try:
        chosen = feature_set(name)
    except KeyError as exc:
        _fail(str(exc).strip('"'))
    console.print(f"[bold]{chosen.name}[/bold]  keys: {', '.join(chosen.keys)}  targets: {', '.join(chosen.targets) or '-'}")
    for f in chosen.features:
        console.print(f"  {f.name:<32} {f.kind:<12} {f.description}")


@train_app.command("forecast")
def train_forecast_command(
    horizon: Annotated[int, typer.Option(help="Days to forecast.")] = 28,
    folds: Annotated[int, typer.Option(help="Rolling backtest origins the pool is chosen and blended on.")] = 3,
    lead_time_days: Annotated[int, typer.Option(help="Supplier lead time for the stock advice.")] = 7,
    review_days: Annotated[int, typer.Option(help="Days between orders.")] = 7,
    service_level: Annotated[float, typer.Option(help="Target chance of not running out before the next delivery.")] = 0.95,
    evaluate_only: Annotated[bool, typer.Option("--evaluate-only", help="Backtest and log only; register nothing.")]
        = False,
    home: HomeOption = None,
    clickhouse_url: UrlOption = None,
) -> None:
    """Backtest the forecasting pool, blend it, forecast every store × SKU, log it to MLflow, gate it."""
    from training.forecast import ForecastConfig, StockPolicy

    if horizon < 1 or folds < 1 or not 0 < service_level < 1:
        _fail("--horizon and --folds must be at least 1 and --service-level within (0, 1)")
    forecast_step(_settings(home, clickhouse_url), ForecastConfig(horizon=horizon, folds=folds),
                  StockPolicy(lead_time_days, review_days, service_level), evaluate_only)


def forecast_step(settings: Settings, config, policy, evaluate_only: bool = False) -> None:
    """Train the stock forecaster (training/forecast.py) and print what it did."""
    from pipelines.report import print_forecast_training
    from training.forecast import ForecastTrainingError, train_forecast

    quiet_libraries(settings)
    _training(settings, "Loading features…", "Forecaster", ForecastTrainingError, print_forecast_training,
              lambda on_step: train_forecast(settings, config, policy, on_step=on_step, evaluate_only=evaluate_only))


def _training(settings: Settings, first: str, label: str, errors: type[Exception], show, train) -> None:
    """Run ``train(on_step)`` under the progress clock naming each step, then show its result;
    a training error is a one-line message, not a traceback."""
    try:
        with clocked(console, first, step_record(settings, f"train-{label.lower().replace(' ', '-')}")) as step:
            result = train(lambda name: step(f"{label}: {name}…"))
    except errors as exc:
        _fail(str(exc))
    show(console, result)


@train_app.command("crosssell")
def train_crosssell_command(
    test_days: Annotated[int, typer.Option(help="Days of baskets held out as the test window.")] = 28,
    margin_weight: Annotated[float, typer.Option(help="Margin boost inside the relevant pool (0: off).")] = 0.2,
    max_per_group: Annotated[int, typer.Option(help="Suggestions per subcategory at most (0: no limit).")] = 2,
    evaluate_only: Annotated[bool, typer.Option("--evaluate-only", help="Choose and test only; register nothing.")]
        = False,
    home: HomeOption = None,
    clickhouse_url: UrlOption = None,
) -> None:
    """Choose the cross-sell blend on validation baskets, test it, fit the recommender, log it, gate it."""
    from models.crosssell import Rules
    from training.crosssell import CrossSellConfig

    if test_days < 1 or margin_weight < 0 or max_per_group < 0:
        _fail("--test-days must be at least 1; --margin-weight and --max-per-group not negative")
    crosssell_step(_settings(home, clickhouse_url), CrossSellConfig(test_days=test_days),
                   Rules(margin_weight=margin_weight, max_per_group=max_per_group), evaluate_only)


def crosssell_step(settings: Settings, config, rules, evaluate_only: bool = False) -> None:
    """Train the cross-sell recommender (training/crosssell.py) and print what it did."""
    from pipelines.report import print_crosssell_training
    from training.crosssell import CrossSellTrainingError, train_crosssell

    quiet_libraries(settings)
    _training(settings, "Loading baskets…", "Cross-sell", CrossSellTrainingError, print_crosssell_training,
              lambda on_step: train_crosssell(settings, config, rules, on_step=on_step, evaluate_only=evaluate_only))


@train_app.command("staffing")
def train_staffing_command(
    horizon: Annotated[int, typer.Option(help="Days of hourly traffic to forecast (1-2 weeks).")] = 14,
    folds: Annotated[int, typer.Option(help="Backtest folds (rolling origins).")] = 3,
    plan_on: Annotated[str, typer.Option(help="Traffic quantile the plan covers: p50 or p90.")] = "p90",
    answer_within: Annotated[float, typer.Option(help="Service target: minutes within which customers are attended.")]
        = 5.0,
    target_share: Annotated[float, typer.Option(help="Service target: share of customers attended in time.")] = 0.8,
    max_utilisation: Annotated[float, typer.Option(help="Most of an hour a seller may be busy.")] = 0.85,
    minimum_sellers: Annotated[int, typer.Option(help="Sellers in every open hour at least.")] = 1,
    evaluate_only: Annotated[bool, typer.Option("--evaluate-only", help="Backtest and log only; register nothing.")]
        = False,
    home: HomeOption = None,
    clickhouse_url: UrlOption = None,
) -> None:
    """Backtest the hourly traffic pool, blend it, plan sellers per hour, log to MLflow, gate."""
    from models.staffing import StaffingPolicy
    from training.staffing import StaffingConfig

    if horizon < 1 or horizon > 28 or folds < 1:
        _fail("--horizon must be within 1..28 days and --folds at least 1")
    try:
        policy = StaffingPolicy(answer_within_minutes=answer_within, target_share=target_share,
                                max_utilisation=max_utilisation, minimum_sellers=minimum_sellers, plan_on=plan_on)
    except ValueError as exc:
        _fail(str(exc))
    staffing_step(_settings(home, clickhouse_url), StaffingConfig(horizon=horizon, folds=folds),
                  policy, evaluate_only)


def staffing_step(settings: Settings, config, policy, evaluate_only: bool = False) -> None:
    """Train the staffing model (training/staffing.py) and print what it did."""
    from pipelines.report import print_staffing_training
    from training.staffing import StaffingTrainingError, train_staffing

    quiet_libraries(settings)
    _training(settings, "Loading hourly traffic…", "Staffing", StaffingTrainingError, print_staffing_training,
              lambda on_step: train_staffing(settings, config, policy, on_step=on_step, evaluate_only=evaluate_only))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Who the token is for.")],
    role: Annotated[str, typer.Option(help="seller | manager | analyst | admin | pos (a store's point of sale, "
                                           "the only role that posts sales)")],
    store: Annotated[str | None, typer.Option(help="Store id (sellers, managers and points of sale).")] = None,
    seller: Annotated[str | None, typer.Option(help="Seller id (sellers).")] = None,
    home: HomeOption = None,
) -> None:
    """Create a user and print their token once (only its hash is kept)."""
    from serving.auth import AuthError, add_user

    try:
        user, token = add_user(load_settings(home=home), name, role, store, seller)
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"User {user.user_id} ({user.name}, {user.role}). Token (shown once, keep it safe):")
    print(token)


@users_app.command("list")
def users_list(home: HomeOption = None) -> None:
    """Every user with role, store and whether revoked (never tokens)."""
    from rich.table import Table

    from serving.auth import users

    table = Table(title="Users")
    for column in ("id", "name", "role", "store", "seller", "created", "revoked"):
        table.add_column(column)
    for u in users(load_settings(home=home)):
        table.add_row(str(u["user_id"]), u["name"], u["role"], u["store_id"] or "", u["seller_id"] or "",
                      u["created_at"], u["revoked_at"] or "")
    console.print(table)


@users_app.command("revoke")
def users_revoke(user_id: Annotated[int, typer.Argument(help="The user's id (vitrine users list).")],
                 home: HomeOption = None) -> None:
    """Revoke a user's token at once."""
    from serving.auth import AuthError, revoke

    try:
        revoke(load_settings(home=home), user_id)
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"User {user_id} revoked.")


@users_app.command("link")
def users_link(user_id: Annotated[int, typer.Argument(help="The user's id (vitrine users list).")],
               minutes: Annotated[int, typer.Option(help="How long the code lives.")] = 24 * 60,
               home: HomeOption = None) -> None:
    """Print a one-time code that links a chat of the bot to the user (they send /start CODE)."""
    from serving.auth import AuthError, issue_link_code, user

    settings = load_settings(home=home)
    try:
        code, expires = issue_link_code(settings, user_id, None, minutes)
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"Code for {user(settings, user_id).name} (one use, until {expires:%Y-%m-%d %H:%M} UTC): "
                  f"send [bold]/start {code}[/bold] to the bot.")


@app.command()
def bot(console_mode: Annotated[bool, typer.Option("--console", help="Talk to the bot in this terminal (no Telegram).")] = False,
        home: HomeOption = None) -> None:
    """Run the sellers' and managers' assistant on Telegram (VITRINE_TELEGRAM_TOKEN), or in the terminal."""
    import logging

    from serving.api_client import VitrineApi
    from serving.bot.assistant import Assistant
    from serving.bot.chats import Chats

    settings = load_settings(home=home)
    assistant = Assistant(settings, VitrineApi(settings.api_url), Chats(settings))
    if console_mode:
        from serving.bot.console import run_console

        log_file = settings.bot_dir / "console.log"  # the terminal is the conversation's
        logging.basicConfig(filename=log_file, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        run_console(assistant)
        return
    if not settings.telegram_token:
        _fail("set VITRINE_TELEGRAM_TOKEN (a bot token from @BotFather), or try it here with `vitrine bot --console`")
    from serving.bot.telegram import build_application

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it would log every request URL, bot token included
    console.print(f"Bot polling {settings.telegram_api_url.split('/bot')[0]}; the API at {settings.api_url}.")
    build_application(assistant, settings.telegram_token, settings.telegram_api_url).run_polling()


@app.command()
def dashboard(port: Annotated[int | None, typer.Option(help="Overrides VITRINE_DASHBOARD_PORT.")] = None,
              home: HomeOption = None) -> None:
    """Run the managers' and analysts' dashboard (Streamlit) on 127.0.0.1; it talks only to the API."""
    settings = load_settings(home=home)
    chosen = port or settings.dashboard_port
    app_file = Path(__file__).resolve().parents[1] / "serving" / "dashboard" / "app.py"
    console.print(f"Dashboard on http://127.0.0.1:{chosen} (the API at {settings.api_url})…")
    raise typer.Exit(subprocess.call(
        [sys.executable, "-m", "streamlit", "run", str(app_file), "--server.headless", "true", "--server.address",
         "127.0.0.1", "--server.port", str(chosen), "--browser.gatherUsageStats", "false",
         "--client.toolbarMode", "viewer"],  # no Deploy button or developer menu for store teams
        env={**os.environ, "VITRINE_HOME": str(settings.home.resolve())}))


@app.command()
def serve(port: Annotated[int | None, typer.Option(help="Overrides VITRINE_SERVICE_PORT.")] = None,
          home: HomeOption = None) -> None:
    """Run the API (BentoML) on 127.0.0.1 with the registry's champion models."""
    settings = load_settings(home=home)
    env = {**os.environ, "VITRINE_HOME": str(settings.home.resolve()), "BENTOML_DO_NOT_TRACK": "true"}
    chosen = port or settings.service_port
    console.print(f"Serving on http://127.0.0.1:{chosen} (OpenAPI at /docs)…")
    bentoml = Path(sys.executable).parent / "bentoml"
    raise typer.Exit(subprocess.call([str(bentoml), "serve", "serving.service:Vitrine", "--host", "127.0.0.1",
                                      "--port", str(chosen)], env=env, cwd=Path(__file__).resolve().parents[1]))


@app.command()
def report(home: HomeOption = None, clickhouse_url: UrlOption = None) -> None:
    """Top stores and SKUs by net revenue."""
    from pipelines.report import print_warehouse
    from warehouse.clickhouse import connect

    print_warehouse(console, connect(_settings(home, clickhouse_url)))


@app.command()
def doctor() -> None:
    """Check what the pipeline needs on this machine (Java 17+ for Spark)."""
    version = java_version()
    if version is None or version < 17:
        _fail("Spark needs Java 17 or newer and " + ("none was found" if version is None else f"Java {version} was found")
              + ". Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17) "
              "or set JAVA_HOME.")
    console.print(f"Java {version}: ok. Python {sys.version.split()[0]}: ok.")


def publish_figures(settings: Settings) -> None:
    """Publish the figures the service's live endpoints read (warehouse/figures.py), and raise the
    alerts for products selling below their forecast (warehouse/expectations.py)."""
    from datetime import date

    from warehouse import expectations, figures, live_sales
    from warehouse.clickhouse import connect

    client = connect(settings)
    meta = figures.publish(client, settings, live_sales.exported_upto(settings))
    console.print(f"Published the sellers' and stores' figures (data through {meta['data_through']}, "
                  f"posted sales up to #{meta['live_upto']}) to {settings.figures_dir}")
    below = expectations.raise_below_forecast(client, settings, date.fromisoformat(meta["data_through"]))
    console.print(f"{below} new alert(s) for products selling below their forecast.")


def ingest_posted_sales(settings: Settings) -> None:
    """Hand the sales posted to the service since the last run to the warehouse (warehouse/live_sales.py)."""
    from warehouse import live_sales

    path, upto = live_sales.export_pending(settings, settings.data_dir / "posted")
    if path is None:
        console.print("No new sales posted to the service.")
        return
    ingest_step(settings, [path], "cosmeticco")
    live_sales.mark_exported(settings, upto, path)


def run_pipeline(settings: Settings, inputs: list[Path], mapping: str, quick: bool = False,
                 on_published: Callable[[], None] | None = None) -> None:
    """One pipeline run over one Settings: new files and posted sales in, features, the figures
    published, then the three models through their champion gates; the warehouse is closed
    afterwards for other processes. Plain functions, the same the commands call after reading their
    options. ``on_published`` runs once the figures are out (the main job starts serving there: the
    live figures need no model, and each champion is served as it lands)."""
    from features.spark import stop_spark
    from models.crosssell import Rules
    from models.staffing import StaffingPolicy
    from pipelines.memory import release_freed_memory
    from training.crosssell import CrossSellConfig
    from training.forecast import ForecastConfig, StockPolicy
    from training.staffing import StaffingConfig
    from warehouse.clickhouse import close_all

    try:
        with clocked(console, "Pipeline run: new sales in…", step_record(settings, "pipeline")) as step:
            if inputs:
                ingest_step(settings, inputs, mapping)
            ingest_posted_sales(settings)
            try:
                features_step(settings, DEFAULT_SETS, None)
            finally:
                stop_spark()  # its JVM would hold over a gigabyte through the serving hours that follow
            release_freed_memory()  # each step starts from what is live, not the last one's high-water mark
            step("Publishing the live figures…")
            publish_figures(settings)
            if on_published:
                on_published()
            release_freed_memory()
            try:
                forecast_step(settings, ForecastConfig(horizon=14 if quick else 28), StockPolicy())
            finally:
                stop_spark()  # at chain scale the forecaster scores every series on Spark
            release_freed_memory()
            crosssell_step(settings, CrossSellConfig(), Rules())
            release_freed_memory()
            staffing_step(settings, StaffingConfig(), StaffingPolicy())
    finally:
        close_all()
        make_private(settings.home.resolve())  # what MLflow and Spark wrote with their own modes


def _every(settings: Settings, hours: float, quick: bool) -> None:
    """Re-run the pipeline every ``hours``; a failed run is reported and the next one still comes."""
    while True:
        time.sleep(hours * 3600)
        try:
            run_pipeline(settings, [], "cosmeticco", quick)
        except Exception as exc:  # noqa: BLE001 - the schedule outlives one bad run (typer.Exit included)
            console.print(f"[red]the pipeline run failed:[/red] {exc!r}; the service keeps the last good models.")
        console.print(f"Next pipeline run in {hours:g} h (Ctrl-C stops).")


@pipeline_app.command("run")
def pipeline_run(
    inputs: Annotated[list[Path] | None, typer.Argument(help="New export files or folders to ingest first.")] = None,
    mapping: Annotated[str, typer.Option(help="Mapping for the input files.")] = "cosmeticco",
    every_hours: Annotated[float | None, typer.Option(help="Run again on this schedule (hours) until stopped.")] = None,
    quick: Annotated[bool, typer.Option(help="14-day forecasts and 4 search trials (a few months of data).")] = False,
    home: HomeOption = None,
    clickhouse_url: UrlOption = None,
) -> None:
    """Ingest new files and the sales posted to the service, build features, train the three models
    (champions move only when they win), and publish the live figures. Works while the service runs."""
    settings = _settings(home, clickhouse_url)
    run_pipeline(settings, list(inputs or []), mapping, quick)
    if every_hours:
        console.print(f"Next pipeline run in {every_hours:g} h (Ctrl-C stops).")
        _every(settings, every_hours, quick)


@app.command()
def run(
    scale: Annotated[str, typer.Option(help="Size of the generated dataset.")] = "small",
    seed: int = 42,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Leave the service up afterwards, "
                                              "re-running the pipeline every VITRINE_PIPELINE_EVERY_HOURS.")] = True,
    home: HomeOption = None,
    clickhouse_url: UrlOption = None,
) -> None:
    """The main job on the embedded defaults: generate a CosmeticCo dataset, ingest it, report, build features,
    train the stock forecaster, the cross-sell recommender and the staffing model, publish the figures; then
    serve the API and re-run the pipeline on its schedule."""
    settings = _settings(home, clickhouse_url)
    out = settings.data_dir / scale
    quick = scale == "tiny"

    def everything(serve: Callable[[], None] | None) -> None:
        """Data in and the pipeline through, under one clock: the estimate covers the whole job."""
        with clocked(console, "Starting…", step_record(settings, f"run-{scale}")):
            generate(scale=scale, seed=seed, out=out, home=home)
            ingest_step(settings, [out], "cosmeticco")
            report(home=home, clickhouse_url=clickhouse_url)
            run_pipeline(settings, [], "cosmeticco", quick, serve)

    if not serve_after:
        everything(None)
        return
    _serve_with_schedule(settings, quick, first=everything)


@app.command()
def up(quick: Annotated[bool, typer.Option(help="Scheduled runs as `pipeline run --quick`.")] = False,
       home: HomeOption = None) -> None:
    """Serve what the home holds (the API, the dashboard, and the bot when a token is set) and re-run
    the pipeline every VITRINE_PIPELINE_EVERY_HOURS: `vitrine run` without generating data again,
    e.g. after a restart. Ctrl-C or SIGTERM stops it all."""
    _serve_with_schedule(load_settings(home=home), quick)


def _serve_with_schedule(settings: Settings, quick: bool,
                         first: Callable[[Callable[[], None]], None] | None = None) -> None:
    """The API, the dashboard (and the Telegram bot when a token is set) up, the summary box with
    fresh demo link codes, and the pipeline again every VITRINE_PIPELINE_EVERY_HOURS. ``first`` is
    a pipeline run to do before the box, handed the function that starts serving (it calls it as
    soon as the figures are published). SIGTERM (or SIGHUP) is handled like Ctrl-C, so stopping
    this process stops each service's whole process tree (BentoML's and Streamlit's workers too)
    rather than leaving them serving."""
    def stop_on(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on)
    children: list[subprocess.Popen] = []
    started = time.monotonic()

    def serve() -> None:
        if children:
            return
        here = [sys.executable, "-m", "pipelines.cli"]
        services = {"api": "serve", "dashboard": "dashboard"} | ({"bot": "bot"} if settings.telegram_token else {})
        settings.logs_dir.mkdir(parents=True, exist_ok=True)
        for name, command in services.items():  # their own logs: the terminal keeps the pipeline's story
            with (settings.logs_dir / f"{name}.log").open("a") as log:
                children.append(subprocess.Popen([*here, command, "--home", str(settings.home)], stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True))
        console.print(f"Serving after {time.monotonic() - started:.0f} s: the API at {settings.api_url} and the "
                      f"dashboard at http://127.0.0.1:{settings.dashboard_port} answer with the live figures now; "
                      "each model is served as soon as it is trained.", soft_wrap=True)

    try:
        if first:
            first(serve)
        serve()
        summary_box(settings)
        _every(settings, settings.pipeline_every_hours, quick)
    except KeyboardInterrupt:
        console.print("Stopping the service, the dashboard and the bot…")
    finally:
        for child in children:
            stop_process_tree(child.pid)
            child.wait()


def stop_process_tree(pid: int, grace: float = 20.0) -> None:
    """SIGTERM to a process and every process below it, SIGKILL to those alive ``grace`` seconds
    later. The whole tree, not the group: BentoML's workers run in sessions of their own."""
    import psutil

    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in tree:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(tree, timeout=grace)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def summary_box(settings: Settings) -> None:
    """What to open and how to sign in, printed last so it does not scroll away: the URLs, the demo
    seller and manager (created once, for the first store) with fresh bot link codes, how to talk to
    the bot, the dashboard token, where the logs are. `vitrine up` prints it again, with new codes."""
    import pandas as pd
    from rich.panel import Panel

    from serving.auth import add_token, add_user, issue_link_code, users

    sellers_file = settings.figures_dir / "sellers.parquet"  # only the sellers: not every published table
    lines = [f"API        {settings.api_url}   (OpenAPI: {settings.api_url}/docs)",
             f"Dashboard  http://127.0.0.1:{settings.dashboard_port}"]
    if sellers_file.exists():
        seller = pd.read_parquet(sellers_file).sort_values(["store_id", "seller_id"]).iloc[0]
        existing = {u["name"]: u["user_id"] for u in users(settings) if not u["revoked_at"]}
        lines.append("")
        where = "on Telegram or in `vitrine bot --console`" if settings.telegram_token else "in `vitrine bot --console`"
        lines.append(f"Bot: send these {where} (each code works once, for 24 h):")
        for name, role, seller_id in (("Vendedora Demo", "seller", seller.seller_id), ("Gerente Demo", "manager", None)):
            if name not in existing:
                existing[name] = add_user(settings, name, role, seller.store_id, seller_id)[0].user_id
            code, _ = issue_link_code(settings, existing[name], None)
            lines.append(f"  /start {code}   {name} ({'vendedora' if role == 'seller' else 'gerente'}, "
                         f"loja {seller.store_id})")
        token = add_token(settings, existing["Gerente Demo"], "demo dashboard")
        lines += ["", "Dashboard sign-in for Gerente Demo (shown once):", f"  {token}"]
    else:
        lines += ["", "No figures published yet: `vitrine pipeline run` first, then `vitrine up`."]
    lines += ["", f"The pipeline runs again every {settings.pipeline_every_hours:g} h (VITRINE_PIPELINE_EVERY_HOURS).",
              f"Logs of the API, dashboard and bot: {settings.logs_dir}",
              "Ctrl-C stops everything; `vitrine up` starts it again with new codes."]
    console.print(Panel("\n".join(lines), title="vitrine is up", expand=False), soft_wrap=True)


def main() -> None:
    """The ``vitrine`` command. A warehouse that cannot be opened (another process holds the
    embedded one, a server down) is one line saying so, whichever command met it, not a traceback,
    and exit code 2: a script can tell "try again later" from a failed step (1)."""
    from warehouse.clickhouse import WarehouseError

    try:
        app()
    except WarehouseError as exc:
        _say_error(str(exc))  # outside the commands: typer.Exit would not be caught here
        sys.exit(2)


if __name__ == "__main__":
    main()

"""The one settings object: every path, URL and knob of vitrine.

Values come from ``VITRINE_*`` environment variables (and a ``.env`` file), and command-line flags
override them by passing keyword arguments to :func:`load_settings`. No other module reads the
environment.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; see README's configuration table for each variable."""

    model_config = SettingsConfigDict(env_prefix="VITRINE_", env_file=".env", extra="ignore")

    home: Path = Field(Path(".vitrine"), description="Where the embedded warehouse, MLflow and runs live.")
    clickhouse_url: str | None = Field(
        None, description="A ClickHouse server (http://user:pass@host:8123/); unset = embedded chDB under home."
    )
    timezone: str = Field("America/Sao_Paulo", description="Stores' local time zone.")
    country: str = Field("BR", description="The stores' country (ISO 3166 code): its public holidays and retail "
                         "dates (Mother's Day, Valentine's, Black Friday, Christmas) feed the forecasters.")
    spark_master: str = Field("local[*]", description="Spark master URL for feature pipelines.")
    spark_driver_memory: str = Field("6g", description="Spark driver memory (local mode: all of Spark's memory).")
    spark_shuffle_partitions: int = Field(16, description="Partitions after a Spark shuffle (AQE merges small ones).")
    forecast_engine: Literal["auto", "driver", "spark"] = Field(
        "auto", description="Where the forecaster scores the series: driver (one process), spark (the backtest on a "
        "sample, every series on the Spark executors), auto (spark beyond forecast_driver_series series).")
    forecast_driver_series: int = Field(
        10_000, ge=10, description="The most series the forecaster fits in one process; beyond it the backtest runs "
        "on a sample of this many, stratified by store and intermittency, and the executors score every series.")
    clickhouse_read_slices: int = Field(
        8, description="Parallel slices Spark reads ClickHouse in (by hash of the series key); the demand sets "
                       "take at least one per 2M rows of daily sales.")
    earliest_sale_date: str = Field("2000-01-01", description="Sales before this date are quarantined.")
    clock_skew_minutes: int = Field(10, ge=0, description="How far ahead of the stores' clock a sale's time may be "
                                    "(a till running fast); later ones are refused as in the future.")
    sale_max_quantity: int = Field(200, ge=1, description="The most units one sale line may hold (returns too); more "
                                   "is refused live and quarantined in files as implausible.")
    sale_price_band: float = Field(0.3, ge=0, le=1, description="How far a line's unit price may stray from the "
                                   "catalogue: up to (1 + band) x the list price, down to (1 - band) x the promotional "
                                   "price of that day.")
    sale_limits_by_store: dict[str, dict[str, float]] = Field(
        default_factory=dict, description='Per-store bounds over the defaults, as JSON: '
        '{"L001": {"max_quantity": 500, "price_band": 0.5}}.')
    pseudonym_key: str | None = Field(
        None, description="Secret key for customer pseudonyms (LGPD); unset = HOME/pseudonym.key, created on first use.")
    today: date | None = Field(
        None, description="The business date live figures are for; unset = today in the stores' time zone "
        "(set it to replay a dataset that ends in the past).")
    pipeline_every_hours: float = Field(24.0, description="How often `vitrine run` re-runs the pipeline while serving.")
    service_port: int = Field(3000, description="Port `vitrine serve` listens on (127.0.0.1).")
    max_body_bytes: int = Field(1_000_000, ge=1_000, description="The largest request body the API reads; "
                                "a larger one is answered 413.")
    model_poll_seconds: int = Field(60, description="How often the service asks the registry for new champions.")
    service_url: str | None = Field(
        None, description="The API the bot and the dashboard call; unset = http://127.0.0.1:<service_port>.")
    dashboard_token: str | None = Field(
        None, description="Sign the dashboard in with this token, no login page (a back-office screen); unset = log in.")
    dashboard_port: int = Field(8501, description="Port `vitrine dashboard` listens on (127.0.0.1).")
    telegram_token: str | None = Field(None, description="The bot's token from @BotFather; unset = console mode only.")
    telegram_api_url: str = Field("https://api.telegram.org/bot", description="Bot API base URL (a local one in tests).")
    bot_report_time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                                 description="When the bot sends managers the daily report (stores' local time).")
    bot_check_seconds: float = Field(60.0, description="How often the bot looks for pushes due (report, new stock-outs).")
    bot_alert_seconds: float = Field(5.0, gt=0, description="How often the bot asks the service for new alerts "
                                     "(target milestones raised when a sale is posted).")
    ingest_reader: Literal["engine", "client"] = Field(
        "engine", description="engine: the embedded ClickHouse reads files itself; client: Python parses and streams "
        "them (always the case with a server, which cannot see this machine's files).")

    @property
    def warehouse_path(self) -> Path:
        """Data directory of the embedded warehouse (one process may open it at a time)."""
        return self.home.resolve() / "warehouse"

    @property
    def warehouse_url(self) -> str:
        """The clickhouse-connect DSN: the server's URL, or ``chdb:///<home>/warehouse``."""
        return self.clickhouse_url or f"chdb://{self.warehouse_path}"

    @property
    def is_embedded(self) -> bool:
        return self.clickhouse_url is None

    @property
    def data_dir(self) -> Path:
        """Where generated datasets go by default."""
        return self.home.resolve() / "data"

    # every path under the home, named once here (the layout README's "VITRINE_HOME" section shows)
    @property
    def mlflow_db(self) -> Path:
        """MLflow's tracking and registry store when no MLFLOW_TRACKING_URI is set."""
        return self.home.resolve() / "mlflow.db"

    @property
    def mlruns_dir(self) -> Path:
        """MLflow's artifacts (the models) with the local store."""
        return self.home.resolve() / "mlruns"

    @property
    def pseudonym_key_file(self) -> Path:
        return self.home.resolve() / "pseudonym.key"

    @property
    def features_dir(self) -> Path:
        """The feature runs (Parquet), one folder per feature set and run."""
        return self.home.resolve() / "features"

    @property
    def handoff_dir(self) -> Path:
        """Where Spark hands rows to ClickHouse and back, one folder per build."""
        return self.home.resolve() / "handoff"

    @property
    def serving_dir(self) -> Path:
        """The service's copies of the champions and the figures published for it."""
        return self.home.resolve() / "serving"

    @property
    def figures_dir(self) -> Path:
        return self.serving_dir / "figures"

    @property
    def live_sales_db(self) -> Path:
        return self.home.resolve() / "live_sales.db"

    @property
    def service_db(self) -> Path:
        """Users, token hashes, link codes and the audit trail."""
        return self.home.resolve() / "service.db"

    @property
    def alerts_db(self) -> Path:
        """The alerts raised on the live path (warehouse/alerts.py)."""
        return self.home.resolve() / "alerts.db"

    @property
    def dashboard_db(self) -> Path:
        """The dashboard's sign-ins, so a refresh keeps the user signed in (serving/dashboard/sessions.py)."""
        return self.home.resolve() / "dashboard.db"

    @property
    def bot_dir(self) -> Path:
        """The bot's chats (``bot.db``, with each chat's token) and the console's log."""
        return self.home.resolve() / "bot"

    @property
    def logs_dir(self) -> Path:
        """What the API, the dashboard and the bot print when the main job runs them."""
        return self.home.resolve() / "logs"

    @property
    def pipeline_runs_dir(self) -> Path:
        """The runs started from the dashboard: their logs and how they ended."""
        return self.home.resolve() / "pipeline-runs"

    @property
    def api_url(self) -> str:
        return self.service_url or f"http://127.0.0.1:{self.service_port}"

    def spark_environment(self) -> dict[str, str]:
        """Variables Spark workers need so they run this interpreter (the venv), not system python."""
        return {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with non-None ``overrides`` (CLI flags) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def java_version() -> int | None:
    """Major version of the ``java`` on PATH (or JAVA_HOME), or None when there is none."""
    import re
    import shutil
    import subprocess

    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major

"""The Spark session every feature pipeline runs in: master and memory from settings.

Local mode (``local[*]``) by default; any master (standalone, YARN, Kubernetes) through
``VITRINE_SPARK_MASTER``. Spark's Python workers must run this interpreter (the venv), so the
session exports ``PYSPARK_PYTHON`` before the JVM starts.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from pyspark.sql import SparkSession

from pipelines.settings import Settings, java_version


class SparkSetupError(RuntimeError):
    """Spark cannot start here; the message says what to install or set."""


def spark_session(settings: Settings, app: str = "vitrine-features") -> SparkSession:
    """The process's Spark session (created on first use, shared afterwards)."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    version = java_version()
    if version is None or version < 17:
        found = f"Java {version}" if version else "no Java"
        raise SparkSetupError(f"Spark needs Java 17 or newer and found {found}: install it "
                              "(apt-get install openjdk-17-jre-headless, brew install openjdk@17) or set JAVA_HOME.")
    os.environ.update(settings.spark_environment())
    builder = SparkSession.builder.appName(app)
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit, whose --master and memory rule
        log_config = Path(__file__).with_name("log4j2.properties")
        builder = builder.master(settings.spark_master).config("spark.driver.memory", settings.spark_driver_memory) \
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_config}")
    # pyspark warns on every pandas conversion that pandas 3 is not fully supported; we use only
    # the parts that work (plain DataFrames, Arrow conversion; see STACK.md), so say it once here.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    spark = (
        builder.config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark

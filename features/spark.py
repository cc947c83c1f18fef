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

from warehouse.settings import Settings, java_version


class SparkSetupError(RuntimeError):
    """Spark cannot start here; the message says what to install or set."""


# Below this many rows of daily sales a feature build is over before the JVM's optimising compiler
# (C2) pays off, so the driver's JVM (all of Spark in local mode; on a cluster it only plans) compiles
# with C1 only: the tiny build took 43-46 s instead of 49-58 s (2 cores), and on 108,000 rows the
# second, warm build was no slower (6.7 s against 7.0 s).
SHORT_JOBS_ROWS = 200_000


def spark_session(settings: Settings, app: str = "vitrine-features", short_jobs: bool = False) -> SparkSession:
    """The process's Spark session (created on first use, shared afterwards). ``short_jobs``: the
    data is small (``SHORT_JOBS_ROWS``); it matters only to the session that starts the JVM."""
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
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_config}"
                    + (" -XX:TieredStopAtLevel=1" if short_jobs else ""))
    # pyspark warns on every pandas conversion that pandas 3 is not fully supported; we use only
    # the parts that work (plain DataFrames, Arrow conversion; see STACK.md), so say it once here.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    spark = (
        builder.config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.hadoop.fs.permissions.umask-mode", "077")  # features hold sales: the home is private
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_tasks() -> str:
    """Where the running Spark stages are ("Spark: 37/200 tasks"), for a progress line; "" when
    no stage runs or no Spark was started here."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return ""
    try:
        tracker = context.statusTracker()
        stages = [tracker.getStageInfo(stage) for stage in tracker.getActiveStageIds()]
    except Exception:  # noqa: BLE001 - the JVM going away mid-call only costs the detail
        return ""
    stages = [s for s in stages if s is not None and s.numTasks]
    if not stages:
        return ""
    done, total = sum(s.numCompletedTasks for s in stages), sum(s.numTasks for s in stages)
    return f"Spark: {done}/{total} tasks"


def stop_spark() -> None:
    """Stop this process's Spark session and the JVM it started (over a gigabyte): the pipeline
    needs Spark for the features only, and `vitrine run` then serves for hours. Under spark-submit
    the JVM is not ours to stop. The next :func:`spark_session` starts afresh."""
    from pyspark import SparkContext

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    gateway = SparkContext._gateway
    if gateway is None or "PYSPARK_GATEWAY_PORT" in os.environ:
        return
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    SparkContext._gateway = SparkContext._jvm = None
    if process is not None:
        process.terminate()
        process.wait(timeout=60)

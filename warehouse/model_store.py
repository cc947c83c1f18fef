"""Where vitrine's models live: MLflow's tracking and registry store, and the ``champion`` alias
the service serves. The bottom layer, because training writes the store and the service reads it.

The store defaults to SQLite under ``VITRINE_HOME`` (``mlflow.db``, artifacts in ``mlruns``); a set
``MLFLOW_TRACKING_URI`` (any MLflow server) wins.
"""

from __future__ import annotations

import os

from warehouse.settings import Settings

CHAMPION = "champion"


_LOCAL_URIS: set[str] = set()  # home stores this process pointed MLflow at (which exports them to the environment)


def server_uri() -> str | None:
    """The ``MLFLOW_TRACKING_URI`` the user set; not one MLflow exported when this process used a home
    before (a process that works with two homes, like the tests, must not write into the first)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    return None if uri in _LOCAL_URIS else uri


def tracking_uri(settings: Settings) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else SQLite under VITRINE_HOME."""
    return server_uri() or f"sqlite:///{settings.mlflow_db}"


def use_store(settings: Settings) -> str:
    """Point MLflow's tracking and registry (``models:/`` downloads included) at vitrine's store."""
    import mlflow

    uri = tracking_uri(settings)
    if uri != server_uri():
        _LOCAL_URIS.add(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri

"""What the analysts' page shows about the models: each registered model's versions, which one is
the champion, the gate's decision on each, the champion run's metrics and its plots (read from the
MLflow registry the pipeline writes)."""

from __future__ import annotations

from pathlib import Path

from serving.champions import MODELS
from warehouse.settings import Settings


def overview(settings: Settings, versions: int = 10) -> list[dict]:
    """Per model: champion version, its run's metrics and plot paths, and the latest ``versions`` versions."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from warehouse.model_store import CHAMPION, use_store

    use_store(settings)
    client = MlflowClient()
    found = []
    for name in MODELS:
        try:
            listed = client.search_model_versions(f"name = '{name}'", order_by=["version_number DESC"],
                                                  max_results=versions)
        except MlflowException:
            listed = []
        try:
            champion = str(client.get_model_version_by_alias(name, CHAMPION).version)
        except MlflowException:
            champion = None
        history = [{"version": str(v.version), "created_at": v.creation_timestamp, "run_id": v.run_id,
                    "decision": v.tags.get("gate.decision"), "reason": v.tags.get("gate.reason"),
                    "champion": str(v.version) == champion} for v in listed]
        metrics, plots = {}, []
        chosen = next((v for v in history if v["champion"]), None)
        if chosen is not None:
            run = client.get_run(chosen["run_id"])
            metrics = dict(sorted(run.data.metrics.items()))
            plots = [a.path for a in client.list_artifacts(chosen["run_id"], "plots") if a.path.endswith(".png")]
        found.append({"name": name, "champion": champion, "metrics": metrics, "plots": plots, "versions": history})
    return found


def plot(settings: Settings, name: str, version: str, path: str) -> bytes:
    """The PNG ``path`` (under ``plots/``) of the run behind ``name`` version ``version``."""
    import mlflow
    from mlflow import MlflowClient

    from warehouse.model_store import use_store

    if not path.startswith("plots/") or not path.endswith(".png") or ".." in path:
        raise ValueError("path: a plots/….png artifact")
    use_store(settings)
    run_id = MlflowClient().get_model_version(name, version).run_id
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path)
    return Path(local).read_bytes()

"""MLflow conventions every vitrine model follows when it is trained: experiments, and the champion gate.

Where the store lives (SQLite under ``VITRINE_HOME`` unless ``MLFLOW_TRACKING_URI`` is set) is
warehouse/model_store.py, which the service reads too. The alias ``champion`` of a registered
model moves to a new version only through :func:`champion_gate`, which compares the candidate
with the current champion scored on the *same* backtest and records its decision on the version.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from warehouse.model_store import CHAMPION, server_uri, use_store
from warehouse.settings import Settings


def configure(settings: Settings, experiment: str) -> str:
    """Point MLflow at vitrine's store and select ``experiment`` (created with a local artifact folder)."""
    import mlflow

    uri = use_store(settings)
    if mlflow.get_experiment_by_name(experiment) is None:
        artifacts = None if server_uri() else settings.mlruns_dir.as_uri()
        mlflow.create_experiment(experiment, artifact_location=artifacts)
    mlflow.set_experiment(experiment)
    return uri


@dataclass(frozen=True)
class GateDecision:
    model: str
    version: str
    metric: str
    candidate: float
    champion: float | None
    promoted: bool
    reason: str


def champion_gate(model: str, version: str, metric: str, candidate: float, champion: float | None,
                  lower_is_better: bool = True, blockers: Sequence[str] = (), same_config: bool = False,
                  unscorable: bool = False) -> GateDecision:
    """Move ``champion`` to ``version`` if it beats the champion's score on the same backtest.

    The rule: promote when there is no champion yet, or when the candidate is strictly better on
    ``metric``; a tie keeps the champion (no churn for nothing). A NaN candidate never wins, nor
    does one with ``blockers`` (reasons found by the caller, e.g. "does not beat the baselines").
    ``same_config``: the champion is this very method fitted on older data; scored on the same
    backtest it would tie, so the fresher fit is promoted. ``unscorable``: the champion's method
    cannot run on this backtest (a model from an older engine); the candidate replaces it. The
    decision is written on the version
    as tags (``gate.decision``, ``gate.reason``).
    """
    from mlflow import MlflowClient

    if math.isnan(candidate):
        promoted, reason = False, f"candidate {metric} is not a number"
    elif blockers:
        promoted, reason = False, "; ".join(blockers)
    elif same_config:
        promoted, reason = True, "same configuration as the champion, fitted on newer data"
    elif unscorable:
        promoted, reason = True, "the champion's method cannot be scored on this backtest: replaced"
    elif champion is None:
        promoted, reason = True, "no champion yet"
    else:
        better = candidate < champion if lower_is_better else candidate > champion
        direction = "lower" if lower_is_better else "higher"
        promoted = better
        reason = (f"{metric} {candidate:.4f} vs champion {champion:.4f}: "
                  + (f"{direction} is better, promoted" if better else "not better, champion kept"))
    client = MlflowClient()
    if promoted:
        client.set_registered_model_alias(model, CHAMPION, version)
    client.set_model_version_tag(model, version, "gate.decision", "promoted" if promoted else "rejected")
    client.set_model_version_tag(model, version, "gate.reason", reason)
    return GateDecision(model, version, metric, candidate, champion, promoted, reason)


def champion_version(model: str) -> str | None:
    """The version the ``champion`` alias points at, or None when there is none."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return str(MlflowClient().get_model_version_by_alias(model, CHAMPION).version)
    except MlflowException:
        return None


def champion_run(model: str):
    """The MLflow run that produced the ``champion`` version, or None when there is no champion."""
    from mlflow import MlflowClient

    version = champion_version(model)
    if version is None:
        return None
    client = MlflowClient()
    return client.get_run(client.get_model_version(model, version).run_id)


CONFIG_TAG = "config.hash"  # what makes two candidates the same method
BACKTEST_TAG = "backtest.key"  # which backtest (features and folds) a run was scored on


def method_hash(method: dict) -> str:
    """A short hash of a method's settings: two runs with the same one are the same method."""
    return hashlib.sha256(json.dumps(method, sort_keys=True, default=str).encode()).hexdigest()[:12]


def tag_backtest(config_hash: str, backtest_key: str) -> None:
    """Tag the active run with its method and its backtest, for the next run's gate."""
    import mlflow

    mlflow.set_tags({CONFIG_TAG: config_hash, BACKTEST_TAG: backtest_key})


def gate_against_champion(model: str, version: str, metric: str, candidate: float, config_hash: str,
                          backtest_key: str, rescore: Callable[[object], float | None], lower_is_better: bool = True,
                          blockers: Sequence[str] = ()) -> GateDecision:
    """The one gate every model goes through. The champion is scored on this very backtest: its own
    score when it ran on the same one, ``rescore(champion_run)`` otherwise (None: its method cannot
    run here); this very method fitted on older data needs no score (the fresher fit wins). Then
    :func:`champion_gate` decides, and the decision is tagged on the active run as well as on the
    version."""
    import mlflow

    run = champion_run(model)
    same = False
    if run is None:
        champion = None
    elif run.data.tags.get(CONFIG_TAG) == config_hash:
        champion, same = candidate, True
    elif run.data.tags.get(BACKTEST_TAG) == backtest_key and metric in run.data.metrics:
        champion = run.data.metrics[metric]
    else:
        champion = rescore(run)
    unscorable = run is not None and champion is None
    decision = champion_gate(model, version, metric, candidate, champion, lower_is_better, blockers, same, unscorable)
    mlflow.set_tags({"gate.decision": "promoted" if decision.promoted else "rejected", "gate.reason": decision.reason})
    return decision

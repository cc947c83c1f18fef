"""The champion gate on a real MLflow registry (SQLite under a temporary VITRINE_HOME)."""

from __future__ import annotations

import mlflow
import pytest

from training.tracking import champion_gate, champion_version, configure
from warehouse.model_store import tracking_uri
from warehouse.settings import load_settings


class Constant(mlflow.pyfunc.PythonModel):
    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, context, model_input):
        return [self.value] * len(model_input)


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = configure(load_settings(home=tmp_path / "home"), "gate-test")
    assert uri.startswith("sqlite:///") and uri.endswith("home/mlflow.db")
    yield
    mlflow.set_tracking_uri(None)


def register(value: float) -> str:
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=Constant(value), pip_requirements=[],
                                       registered_model_name="gate-model")
    return str(info.registered_model_version)


def test_gate_promotes_only_a_better_candidate(registry):
    first = register(1.0)
    decision = champion_gate("gate-model", first, "rmsse", 0.9, None)
    assert decision.promoted and decision.reason == "no champion yet"
    assert champion_version("gate-model") == first

    worse = register(2.0)
    decision = champion_gate("gate-model", worse, "rmsse", 0.95, 0.9)
    assert not decision.promoted and "not better, champion kept" in decision.reason
    assert champion_version("gate-model") == first
    tied = register(2.5)
    assert not champion_gate("gate-model", tied, "rmsse", 0.9, 0.9).promoted  # a tie keeps the champion

    better = register(3.0)
    assert champion_gate("gate-model", better, "rmsse", 0.7, 0.9).promoted
    assert champion_version("gate-model") == better
    loaded = mlflow.pyfunc.load_model("models:/gate-model@champion")
    assert list(loaded.predict([[0], [0]])) == [3.0, 3.0]
    tags = mlflow.MlflowClient().get_model_version("gate-model", worse).tags
    assert tags["gate.decision"] == "rejected" and "0.9500 vs champion 0.9000" in tags["gate.reason"]


def test_higher_is_better_metrics_and_nan_candidates(registry):
    first = register(1.0)
    champion_gate("gate-model", first, "hit_rate_at_10", 0.30, None, lower_is_better=False)
    nan = register(2.0)
    assert not champion_gate("gate-model", nan, "hit_rate_at_10", float("nan"), 0.30, lower_is_better=False).promoted
    higher = register(3.0)
    assert champion_gate("gate-model", higher, "hit_rate_at_10", 0.35, 0.30, lower_is_better=False).promoted
    assert champion_version("gate-model") == higher


def test_a_second_home_gets_its_own_store_but_a_users_server_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    first = configure(load_settings(home=tmp_path / "a"), "gate-test")
    second = configure(load_settings(home=tmp_path / "b"), "gate-test")  # mlflow exported the first one's URI
    assert first.endswith("/a/mlflow.db") and second.endswith("/b/mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking_uri(load_settings(home=tmp_path / "c")) == "http://mlflow.example:5000"
    mlflow.set_tracking_uri(None)

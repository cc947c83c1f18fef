"""The models the service answers with: each registered model's ``champion``, and a local copy of it.

At start-up and on every refresh, the champion version of each model is asked from the registry;
a version not loaded yet is downloaded into ``VITRINE_HOME/serving/<model>`` (written aside, then
swapped in, so a crash mid-download never spoils the last good copy) and loaded. When the registry
cannot be reached, the service keeps what it has, or starts from the last good copies, and says
so: readiness is then ``degraded``, never a crash.
"""

from __future__ import annotations

import json
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

# The service runs every champion with the models package it ships with (the bento includes models/),
# imported before any champion loads: MLflow only prepends each model's code snapshot to sys.path, so
# otherwise the first snapshot loaded would serve every model, and a new champion would run stale code.
import models.crosssell_pyfunc  # noqa: F401
import models.forecast_pyfunc  # noqa: F401
import models.staffing_pyfunc  # noqa: F401
from warehouse.local_files import make_private, replace_folder
from warehouse.settings import Settings

MODELS = ("stock-forecaster", "cross-sell", "staffing")


@dataclass
class Served:
    name: str
    version: str
    model: object  # an mlflow pyfunc
    source: str  # registry | last good copy


@dataclass
class Champions:
    settings: Settings
    served: dict[str, Served] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def folder(self) -> Path:
        return self.settings.serving_dir

    def refresh(self) -> list[str]:
        """Load every champion that changed; returns the models (re)loaded. Never raises."""
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        from warehouse.model_store import CHAMPION, use_store

        changed = []
        try:
            use_store(self.settings)  # models:/ downloads resolve through the global registry URI
            client = MlflowClient()
        except Exception as exc:  # noqa: BLE001 - any failure to reach the registry degrades, it must not crash
            return self._fall_back(f"registry unreachable: {exc}")
        for name in MODELS:
            try:
                version = client.get_model_version_by_alias(name, CHAMPION)
            except MlflowException as exc:
                reason = "no champion yet" if exc.error_code == "RESOURCE_DOES_NOT_EXIST" else f"registry: {exc}"
                self._keep_or_copy(name, reason)
                continue
            except Exception as exc:  # noqa: BLE001
                self._keep_or_copy(name, f"registry unreachable: {exc}")
                continue
            current = self.served.get(name)
            if current and current.version == str(version.version) and current.source == "registry":
                with self.lock:
                    self.errors.pop(name, None)  # reachable again: a past hiccup is no longer news
                continue
            try:
                local = self._download(name, str(version.version), version.run_id)
                loaded = self._load(name, local, "registry")
            except Exception as exc:  # noqa: BLE001
                self._keep_or_copy(name, f"could not load version {version.version}: {exc}")
                continue
            with self.lock:
                self.served[name] = loaded
                self.errors.pop(name, None)
            changed.append(name)
        return changed

    def _fall_back(self, reason: str) -> list[str]:
        for name in MODELS:
            self._keep_or_copy(name, reason)
        return []

    def _keep_or_copy(self, name: str, reason: str) -> None:
        with self.lock:
            self.errors[name] = reason
        if name in self.served:
            return
        local = self.folder / name
        if (local / "version.json").exists():
            try:
                loaded = self._load(name, local, "last good copy")
            except Exception as exc:  # noqa: BLE001
                self.errors[name] = f"{reason}; the last good copy does not load either: {exc}"
                return
            with self.lock:
                self.served[name] = loaded

    def _download(self, name: str, version: str, run_id: str) -> Path:
        import mlflow

        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.folder))
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(staging / "model"))
        (staging / "version.json").write_text(json.dumps({"name": name, "version": version, "run_id": run_id}))
        make_private(staging)
        target = self.folder / name
        replace_folder(staging, target)
        return target

    @staticmethod
    def _load(name: str, local: Path, source: str) -> Served:
        import mlflow

        version = json.loads((local / "version.json").read_text())["version"]
        model = mlflow.pyfunc.load_model(str(local / "model"))
        return Served(name, version, model, source)

    def status(self) -> dict:
        """``ready`` (every champion from the registry), ``degraded`` (some from a last good copy or
        missing) or ``not ready`` (none); per model: version, source and the last error."""
        with self.lock:
            models = {name: {"version": s.version if (s := self.served.get(name)) else None,
                             "source": s.source if s else None, "error": self.errors.get(name)} for name in MODELS}
        fresh = [m for m in models.values() if m["source"] == "registry" and not m["error"]]
        state = "ready" if len(fresh) == len(MODELS) else ("not ready" if not self.served else "degraded")
        return {"status": state, "models": models}

    def get(self, name: str) -> Served | None:
        with self.lock:
            return self.served.get(name)

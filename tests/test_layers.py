"""One direction for the code: each package imports only the layers below it, so a newcomer follows
a sale from a CSV to a bot reply down one staircase. Read from the source (ast), imports inside
functions included, so the rule holds however an import is written."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

# bottom to top (README, "The layers")
LAYERS = ["warehouse", "features", "models", "training", "serving", "pipelines"]


def imported_packages(path: Path) -> set[str]:
    """The vitrine packages a file imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def arrows() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) package pairs, each with the files behind it."""
    out: dict[tuple[str, str], list[str]] = {}
    for package in LAYERS:
        for path in sorted((REPO / package).rglob("*.py")):
            for imported in imported_packages(path) - {package}:
                out.setdefault((package, imported), []).append(str(path.relative_to(REPO)))
    return out


def test_no_package_imports_a_layer_above_it():
    rank = {package: i for i, package in enumerate(LAYERS)}
    upward = {pair: files for pair, files in arrows().items() if rank[pair[1]] > rank[pair[0]]}
    assert not upward, f"imports that climb back up: {upward}"


def test_the_rule_is_read_from_real_imports():
    """The reader sees the imports that exist (a reader that saw none would pass the test above)."""
    pairs = set(arrows())
    assert {("features", "warehouse"), ("training", "features"), ("serving", "warehouse"),
            ("pipelines", "serving"), ("pipelines", "training")} <= pairs
    assert imported_packages(REPO / "features" / "build.py") >= {"features", "warehouse"}


def test_models_are_pure_model_code():
    """models/ fits and predicts on DataFrames: it queries no warehouse and registers nothing (the
    registry is training's job), so a data scientist can use it anywhere."""
    querying = [str(path.relative_to(REPO)) for path in (REPO / "models").rglob("*.py")
                if "clickhouse" in path.read_text(encoding="utf-8")]
    assert not querying, f"models/ queries the warehouse: {querying}"
    registering = [str(path.relative_to(REPO)) for path in (REPO / "models").rglob("*.py")
                   if any(isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {"log_model", "register_model"}
                          for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))]
    assert not registering, f"models/ registers models itself: {registering}"
    assert (REPO / "training" / "registration.py").read_text(encoding="utf-8").count("log_model(") == 1

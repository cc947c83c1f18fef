"""Column mappings: how a retailer's export files become canonical tables.

A mapping (YAML) lists file-name patterns; each pattern feeds one or more canonical tables, naming
for every canonical column either a source column (``columns``) or a ClickHouse SQL expression over
the source columns and ``_line`` (``expressions``). ``decimal: ","`` reads numbers written the
Brazilian way (``1.234,56``; a number without a comma is read as it is). Two mappings ship: ``cosmeticco`` (the default)
and ``online_retail``; a user passes their own file with ``--mapping``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from warehouse.schema import TABLES


class MappingError(ValueError):
    """A mapping file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class TableMapping:
    table: str
    columns: dict[str, str]  # canonical <- source column
    expressions: dict[str, str]  # canonical <- SQL over source columns
    formats: dict[str, str]  # canonical <- parseDateTime format
    one_row_per_key: bool = False  # a dimension read from a fact file: keep the last row per key
    decimal: str = "."  # the decimal mark of the file's numbers: "," reads 1.234,56 as 1234.56

    @property
    def source_columns(self) -> set[str]:
        return set(self.columns.values())


@dataclass(frozen=True)
class FileMapping:
    patterns: tuple[str, ...]
    tables: tuple[TableMapping, ...]

    def matches(self, file_name: str) -> bool:
        name = file_name.lower()
        return any(fnmatch.fnmatch(name, p.lower()) for p in self.patterns)


@dataclass(frozen=True)
class Mapping:
    name: str
    source: str
    files: tuple[FileMapping, ...]

    def for_file(self, path: Path) -> FileMapping | None:
        """The entry whose pattern matches the file's name (first one wins)."""
        return next((f for f in self.files if f.matches(path.name)), None)


def builtin_mappings() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in resources.files("warehouse.mappings").iterdir()
                  if p.name.endswith(".yaml"))


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A built-in mapping by name (``cosmeticco``, ``online_retail``) or a YAML file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise MappingError(f"mapping file {path} does not exist")
        text, source = path.read_text(encoding="utf-8"), str(path)
    elif str(name_or_path) in builtin_mappings():
        res = resources.files("warehouse.mappings") / f"{name_or_path}.yaml"
        text, source = res.read_text(encoding="utf-8"), f"built-in mapping {name_or_path}"
    else:
        raise MappingError(f"unknown mapping {name_or_path!r}: use one of {builtin_mappings()} or a YAML file path")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{source}: not valid YAML: {exc}") from exc
    return parse_mapping(doc, source)


def parse_mapping(doc: object, source: str) -> Mapping:
    """Check a mapping document against the canonical model and build it."""
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise MappingError(f"{source}: expected a mapping with a 'files' list")
    decimal = str(doc.get("decimal", "."))
    if decimal not in (".", ","):
        raise MappingError(f"{source}: decimal: expected \".\" or \",\", got {decimal!r}")
    files = []
    for i, entry in enumerate(doc["files"]):
        where = f"{source}: files[{i}]"
        patterns = entry.get("match")
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if not patterns or not isinstance(entry.get("tables"), dict):
            raise MappingError(f"{where}: needs 'match' (file name patterns) and 'tables'")
        tables = []
        for table, spec in entry["tables"].items():
            if table not in TABLES:
                raise MappingError(f"{where}: unknown table {table!r}; canonical tables are {sorted(TABLES)}")
            spec = spec or {}
            columns = {str(k): str(v) for k, v in (spec.get("columns") or {}).items()}
            expressions = {str(k): str(v) for k, v in (spec.get("expressions") or {}).items()}
            known = set(TABLES[table].column_names)
            for col in [*columns, *expressions]:
                if col not in known:
                    raise MappingError(f"{where}.tables.{table}: unknown column {col!r}; {table} has {sorted(known)}")
            missing = [c.name for c in TABLES[table].columns
                       if c.required and c.name not in columns and c.name not in expressions]
            if missing:
                raise MappingError(f"{where}.tables.{table}: required column(s) {missing} are not mapped")
            tables.append(TableMapping(table, columns, expressions, dict(spec.get("formats") or {}),
                                       bool(spec.get("one_row_per_key", False)), decimal))
        files.append(FileMapping(tuple(patterns), tuple(tables)))
    return Mapping(str(doc.get("name", source)), source, tuple(files))

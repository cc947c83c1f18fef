"""Ingestion: export files -> bronze (raw) -> silver (typed, validated) + quarantine, one batch a file.

Each file is one batch, and a batch becomes visible only when its row lands in
``meta.ingest_files`` (the commit): silver views show committed batches only, so a crash or a file
rejected as a whole leaves nothing visible, and the next run deletes what it left behind. A file
whose sha256 is already committed is skipped, and rows identical to stored ones are quarantined as
duplicates, so ingesting the same data again adds nothing. Every rejected row lands in
``meta.quarantine`` with file, line, column, value and reason: accepted + quarantined = rows read.

All row work runs inside ClickHouse. With the embedded engine it reads the file itself
(``file()``); with a server the client streams the file into a staging table first.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clickhouse_connect.driver.client import Client

from warehouse import sale_rules
from warehouse.clickhouse import COMMITTED, quoted
from warehouse.mapping import FileMapping, Mapping, TableMapping
from warehouse.privacy import pseudonym_key, pseudonymise_sql
from warehouse.schema import TABLES, Table, load_order
from warehouse.settings import Settings
from warehouse.validation import rules, typed_columns, verdict_sql

SUPPORTED = (".csv", ".csv.gz", ".parquet")


class IngestError(ValueError):
    """A file was rejected as a whole; the message names the file (and line/column when known)."""


@dataclass
class TableResult:
    table: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class FileResult:
    path: Path
    batch_id: str = ""
    skipped: bool = False  # the same content was committed before
    tables: list[TableResult] = field(default_factory=list)
    months: dict[str, set[int]] = field(default_factory=dict)  # table -> YYYYMM months touched

    @property
    def read(self) -> int:
        return sum(t.read for t in self.tables)

    @property
    def accepted(self) -> int:
        return sum(t.accepted for t in self.tables)

    @property
    def quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named, and the supported files inside folders named, in a stable order."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(SUPPORTED)))
        elif path.exists():
            out.append(path)
        else:
            raise IngestError(f"{path}: no such file or folder")
    return out


def plan(paths: list[Path], mapping: Mapping) -> list[tuple[Path, FileMapping]]:
    """Each file with its mapping entry, ordered so referenced tables load first."""
    planned = []
    for path in paths:
        entry = mapping.for_file(path)
        if entry is None:
            raise IngestError(f"{path}: no entry of mapping {mapping.name!r} matches this file name "
                              f"(patterns: {[p for f in mapping.files for p in f.patterns]})")
        planned.append((path, entry))
    rank = {t: i for i, t in enumerate(load_order(set(TABLES)))}
    return sorted(planned, key=lambda pe: min(rank[t.table] for t in pe[1].tables))


def read_header(path: Path) -> list[str]:
    """Column names of a CSV (plain or gzip) or Parquet file."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: line 1: the header is not UTF-8 text ({exc.reason})") from exc
    except (OSError, EOFError) as exc:
        raise IngestError(f"{path}: cannot read the file: {exc}") from exc
    if not first.strip():
        raise IngestError(f"{path}: line 1: empty file, expected a header row")
    return [c.strip() for c in next(csv.reader(io.StringIO(first)))]


def recover(client: Client, settings: Settings) -> int:
    """Delete rows of batches that never committed (a crashed ingest) and its staging tables;
    returns tables cleaned.

    With the embedded engine this process owns the warehouse, so every uncommitted batch is dead.
    With a server another ingest may be running: only batches older than six hours are removed.
    """
    cleaned = 0
    targets = [(f"bronze.{t}", "ingested_at") for t in TABLES] + [(f"silver.{t}_all", "ingested_at") for t in TABLES]
    for table, stamp in [*targets, ("meta.quarantine", "quarantined_at")]:
        where = f"batch_id NOT IN {COMMITTED}"
        if not settings.is_embedded:
            where += f" AND {stamp} < now() - INTERVAL 6 HOUR"
        if client.query(f"SELECT count() FROM {table} WHERE {where}").result_rows[0][0]:
            client.command(f"ALTER TABLE {table} DELETE WHERE {where} SETTINGS mutations_sync = 2")
            cleaned += 1
    # a crashed ingest's staging tables are on disk (a file can be larger than memory): drop them
    stale = "" if settings.is_embedded else " AND metadata_modification_time < now() - INTERVAL 6 HOUR"
    for (name,) in client.query("SELECT name FROM system.tables WHERE database = 'meta' AND "
                                f"(startsWith(name, 'stage_') OR startsWith(name, 'validate_')){stale}").result_rows:
        client.command(f"DROP TABLE IF EXISTS meta.`{name}`")
        cleaned += 1
    return cleaned


def ingest_file(client: Client, settings: Settings, path: Path, entry: FileMapping, mapping_name: str) -> FileResult:
    """Load one file as one batch: bronze, then silver + quarantine per table, then commit."""
    result = FileResult(path=path)
    sha = file_sha256(path)
    if client.query("SELECT count() FROM meta.ingest_files WHERE sha256 = {s:String}",
                    parameters={"s": sha}).result_rows[0][0]:
        result.skipped = True
        return result
    header = read_header(path)
    needed = set().union(*(t.source_columns for t in entry.tables))
    missing = sorted(needed - set(header))
    if missing:
        raise IngestError(f"{path}: line 1: missing column(s) {missing} required by mapping {mapping_name!r} "
                          f"(the header has {header})")
    result.batch_id = batch = uuid.uuid4().hex
    stage, drop_stage = _stage_file(client, settings, path, header, batch)
    order = load_order({t.table for t in entry.tables})
    try:
        for table_mapping in sorted(entry.tables, key=lambda t: order.index(t.table)):
            _load_bronze(client, stage, header, table_mapping, path, batch, pseudonym_key(settings))
            loaded = _load_silver(client, settings, TABLES[table_mapping.table], table_mapping, batch)
            result.tables.append(_quarantine_malformed(client, stage, header, loaded, path, batch))
            month_col = TABLES[table_mapping.table].month_column
            if month_col:
                result.months[table_mapping.table] = {
                    r[0] for r in client.query(
                        f"SELECT DISTINCT toYYYYMM(`{month_col}`) FROM silver.{table_mapping.table}_all "
                        "WHERE batch_id = {b:String}", parameters={"b": batch}).result_rows}
            else:
                result.months[table_mapping.table] = set()
    finally:
        drop_stage()
    client.insert(
        "meta.ingest_files",
        [[batch, path.name, str(path.resolve()), sha, mapping_name, [t.table for t in result.tables],
          result.read, result.accepted, result.quarantined]],
        column_names=["batch_id", "file_name", "file_path", "sha256", "mapping", "tables",
                      "rows_read", "rows_accepted", "rows_quarantined"],
    )
    return result


def _stage_file(client: Client, settings: Settings, path: Path, header: list[str], batch: str):
    """A staging table holding the file's rows (every column as text, plus ``_extra`` and ``_line``)
    and its clean-up.

    The file is parsed once; every table the file feeds reads the staging table. The embedded
    engine reads the file itself; a server cannot see this machine's files, so the client parses
    them (pyarrow) and streams the rows. A row with the wrong number of fields does not sink the
    file: it is staged as malformed (see :func:`_malformed`) and quarantined with its line.
    """
    structure = ", ".join(f"`{_ident(c)}` Nullable(String)" for c in header)
    is_parquet = path.name.lower().endswith(".parquet")
    stage = f"meta.stage_{batch}"
    client.command(f"CREATE TABLE {stage} ({structure}, _extra Nullable(String), _line UInt64) ENGINE = Log")
    try:
        if settings.is_embedded and settings.ingest_reader == "engine":
            literal = quoted(str(path.resolve()))
            if is_parquet:  # the file's own types stay out of bronze: everything as text, like a CSV
                cols = ", ".join(f"toString(`{_ident(c)}`)" for c in header)
                client.command(f"INSERT INTO {stage} SELECT {cols}, NULL, _row_number + 1 FROM file({literal}, 'Parquet')")
            else:  # by position, one spare column: a long row fills _extra, a short one leaves its last column NULL
                client.command(f"INSERT INTO {stage} SELECT *, _row_number + 2 "
                               f"FROM file({literal}, 'CSV', '{structure}, _extra Nullable(String)') SETTINGS "
                               "input_format_csv_skip_first_lines = 1, input_format_csv_allow_variable_number_of_columns = 1, "
                               "input_format_csv_empty_as_default = 0")
        else:
            client.insert_arrow(stage, _read_arrow(path, header))
    except Exception as exc:
        client.command(f"DROP TABLE IF EXISTS {stage}")
        raise IngestError(f"{path}: cannot be parsed as {'Parquet' if is_parquet else 'CSV'}: "
                          f"{_engine_message(exc)}") from exc
    return stage, lambda: client.command(f"DROP TABLE IF EXISTS {stage}")


def _malformed(header: list[str]) -> str:
    """SQL true for a staged row with the wrong number of fields: more than the header (``_extra``
    holds the surplus, or the raw row from the client reader) or fewer (its last column missing)."""
    return f"(_extra IS NOT NULL OR `{_ident(header[-1])}` IS NULL)"


def _read_arrow(path: Path, header: list[str]):
    """The file's rows as an Arrow table of text columns plus ``_extra`` and ``_line`` (for a remote
    server); a row with the wrong number of fields comes as its raw text in ``_extra``."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.name.lower().endswith(".parquet"):
        table = pq.read_table(path)
        table = pa.table({c: table[c].cast(pa.string()) for c in header})
        lines = list(range(1, table.num_rows + 1))
        bad: list[tuple[int, str]] = []
    else:
        bad_texts: list[str] = []

        def keep_aside(row) -> str:
            bad_texts.append(row.text)
            return "skip"

        table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(invalid_row_handler=keep_aside),
                               convert_options=pacsv.ConvertOptions(column_types={c: pa.binary() for c in header},
                                                                    strings_can_be_null=False))
        bad = _line_numbers(path, bad_texts) if bad_texts else []
        skipped = {n for n, _ in bad}
        lines = [n for n in range(2, table.num_rows + len(bad) + 2) if n not in skipped]
    table = table.append_column("_extra", pa.nulls(table.num_rows, pa.string()))
    table = table.append_column("_line", pa.array(lines, pa.uint64()))
    if bad:
        rows = {c: pa.nulls(len(bad), table.schema.field(c).type) for c in header}
        rows["_extra"] = pa.array([text for _, text in bad], pa.string())
        rows["_line"] = pa.array([n for n, _ in bad], pa.uint64())
        table = pa.concat_tables([table, pa.table(rows, schema=table.schema)])
    return table


def _line_numbers(path: Path, texts: list[str]) -> list[tuple[int, str]]:
    """(file line, text) of each malformed row pyarrow set aside, found in order in the file."""
    found, wanted = [], iter(texts)
    target = next(wanted, None)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
        for number, text in enumerate(fh, 1):
            if target is not None and number > 1 and text.rstrip("\r\n") == target:
                found.append((number, target))
                target = next(wanted, None)
    return found


def _ident(name: str) -> str:
    return name.replace("`", "\\`")


def _load_bronze(client: Client, stage: str, header: list[str], mapping: TableMapping, path: Path, batch: str,
                 key: str) -> None:
    """Raw values under canonical names (personal ones pseudonymised), with file, line and a hash of the
    whole source row."""
    table = TABLES[mapping.table]
    exprs = {}
    for column in table.columns:
        col = column.name
        if col in mapping.columns:
            exprs[col] = f"`{_ident(mapping.columns[col])}`"
        elif col in mapping.expressions:
            exprs[col] = f"toString({mapping.expressions[col]})"
        else:
            exprs[col] = "NULL"
        if column.personal and exprs[col] != "NULL":  # checked for UTF-8 first: a byte that is not stays, so the
            # row is quarantined for its encoding, and the value is never stored as it came
            exprs[col] = f"if(isValidUTF8({exprs[col]}), {pseudonymise_sql(exprs[col])}, unhex('FF'))"
    row_hash = "cityHash64(" + ", ".join(f"`{_ident(c)}`" for c in header) + ")"
    select = ", ".join(f"{e} AS `{c}`" for c, e in exprs.items())
    query = (f"SELECT {{b:String}} AS batch_id, {{f:String}} AS source_file, _line AS source_line, "
             f"{row_hash} AS row_hash, {select} FROM {stage} WHERE NOT {_malformed(header)}")
    if mapping.one_row_per_key:
        key = ", ".join(f"`{k}`" for k in table.key)
        query = f"SELECT * FROM ({query}) ORDER BY source_line DESC LIMIT 1 BY {key}"
    cols = "batch_id, source_file, source_line, row_hash, " + ", ".join(f"`{c}`" for c in table.column_names)
    try:
        client.command(f"INSERT INTO bronze.{table.name} ({cols}) {query}", parameters={"b": batch, "f": path.name,
                                                                                     "pseudonym_key": key})
    except Exception as exc:
        raise IngestError(f"{path}: the mapping for table {table.name} does not apply to this file: "
                          f"{_engine_message(exc)}") from exc


def _quarantine_malformed(client: Client, stage: str, header: list[str], result: TableResult, path: Path,
                          batch: str) -> TableResult:
    """Quarantine the file's rows with the wrong number of fields for ``result``'s table, as their raw
    text with their line, and count them in."""
    fields = ", ".join(f"`{_ident(c)}`" for c in header)
    raw = f"toValidUTF8(if(`{_ident(header[-1])}` IS NULL AND _extra IS NOT NULL, _extra, " \
          f"arrayStringConcat(arrayFilter(x -> x IS NOT NULL, [{fields}, _extra]), ',')))"
    reason = f"wrong number of fields (expected {len(header)})"
    where = f"{_malformed(header)}"
    client.command(
        "INSERT INTO meta.quarantine (batch_id, table_name, source_file, source_line, column_name, value, reason, raw_row) "
        f"SELECT {{b:String}}, {{t:String}}, {{f:String}}, _line, '', substring({raw}, 1, 500), {{r:String}}, {raw} "
        f"FROM {stage} WHERE {where}", parameters={"b": batch, "t": result.table, "f": path.name, "r": reason})
    malformed = client.query(f"SELECT count() FROM {stage} WHERE {where}").result_rows[0][0]
    if malformed:
        result.read += malformed
        result.quarantined += malformed
        result.reasons[reason] = malformed
    return result


def _engine_message(exc: Exception) -> str:
    text = str(exc)
    start = text.find("DB::Exception:")
    return text[start + 14:].strip().split("\n")[0][:500] if start >= 0 else text[:500]


def _load_silver(client: Client, settings: Settings, table: Table, mapping: TableMapping, batch: str) -> TableResult:
    """Validate the batch's bronze rows: the good ones to silver, the others to quarantine."""
    typed_select = ", ".join(f"{expr} AS t_{name}" for name, expr in typed_columns(table, mapping).items())
    verdict = verdict_sql(rules(table, settings))
    raw_json = "toJSONString(map(" + ", ".join(f"'{c}', toValidUTF8(ifNull(`{c}`, ''))" for c in table.column_names) + "))"
    inner = f"SELECT *, {typed_select} FROM bronze.{table.name} WHERE batch_id = {{b:String}}"
    if table.name == "sales":
        inner = sale_rules.with_references(inner)
    stage = f"meta.validate_{batch}_{table.name}"
    client.command(f"DROP TABLE IF EXISTS {stage}")
    client.command(
        f"CREATE TABLE {stage} ENGINE = Log AS SELECT *, {verdict} AS verdict FROM ({inner})",
        parameters={"b": batch})
    try:
        cols = ", ".join(f"`{c}`" for c in table.column_names)
        typed_cols = ", ".join(f"t_{c}" for c in table.column_names)
        client.command(
            f"INSERT INTO silver.{table.name}_all (batch_id, source_file, source_line, row_hash, ingested_at, {cols}) "
            f"SELECT batch_id, source_file, source_line, row_hash, now64(3), {typed_cols} FROM {stage} "
            "WHERE verdict.1 = ''")
        client.command(
            "INSERT INTO meta.quarantine (batch_id, table_name, source_file, source_line, column_name, value, reason, raw_row) "
            f"SELECT batch_id, '{table.name}', source_file, source_line, verdict.2, verdict.3, verdict.1, {raw_json} "
            f"FROM {stage} WHERE verdict.1 != ''")
        counts = client.query(f"SELECT verdict.1, count() FROM {stage} GROUP BY verdict.1").result_rows
    finally:
        client.command(f"DROP TABLE IF EXISTS {stage}")
    result = TableResult(table.name)
    for reason, n in counts:
        result.read += n
        if reason:
            result.quarantined += n
            result.reasons[reason] = n
        else:
            result.accepted += n
    return result


@dataclass
class IngestReport:
    files: list[FileResult]
    gold_months: dict[str, int]
    recovered_tables: int
    load_seconds: float = 0.0  # bronze + validation + silver
    gold_seconds: float = 0.0

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    def reasons(self) -> dict[tuple[str, str], int]:
        """(table, reason) -> rows quarantined, over all files."""
        out: dict[tuple[str, str], int] = {}
        for f in self.files:
            for t in f.tables:
                for reason, n in t.reasons.items():
                    out[(t.table, reason)] = out.get((t.table, reason), 0) + n
        return out


def ingest(client: Client, settings: Settings, paths: list[Path], mapping: Mapping,
           progress: Callable[[Path | None], None] | None = None) -> IngestReport:
    """Ingest files (or folders of them) in dependency order, then refresh the gold months they touched.
    ``progress`` hears each file as it starts, then None as the gold refresh starts.

    A file rejected as a whole raises :class:`IngestError` after the files before it have
    committed; nothing of the rejected file is visible.
    """
    from warehouse import gold

    started = time.perf_counter()
    recovered = recover(client, settings)
    planned = plan(expand_paths(paths), mapping)
    pending = gold.pending_batches(client)  # from a run that crashed between commit and gold refresh
    results = []
    try:
        for path, entry in planned:
            if progress:
                progress(path)
            result = ingest_file(client, settings, path, entry, mapping.name)
            results.append(result)
            if not result.skipped:
                pending[result.batch_id] = result.months
    finally:
        loaded = time.perf_counter()
        todo: dict[str, set[int]] = {}
        for months_by_table in pending.values():
            for table, months in gold.affected(months_by_table).items():
                todo.setdefault(table, set()).update(months)
        if progress and todo:
            progress(None)
        done = gold.refresh(client, todo)
        gold.mark_refreshed(client, {b: set().union(*m.values()) if m else set() for b, m in pending.items()})
    return IngestReport(results, done, recovered, loaded - started, time.perf_counter() - loaded)

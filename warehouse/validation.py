"""Validation rules: which raw rows become silver, and the reason each other row is quarantined.

A row is judged by the rules in this order and the first that fails names its reason, column and
value: encoding (not UTF-8) -> missing required value -> type -> the column's own check (price > 0,
quantity != 0, ...) -> date out of range (facts) -> a sale's plausibility (warehouse/sale_rules.py:
quantity cap, discount within the line, price within the catalogue band) -> unknown store / seller /
product -> duplicate
line (same content as a stored row or an earlier line) -> duplicate key with different content.
Everything is SQL evaluated by ClickHouse over the batch's bronze rows, in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from warehouse import sale_rules
from warehouse.clickhouse import COMMITTED
from warehouse.mapping import TableMapping
from warehouse.schema import TABLES, Column, Table
from warehouse.settings import Settings


@dataclass(frozen=True)
class Rule:
    condition: str  # SQL over bronze columns and typed columns t_<name>; true = the row fails
    reason: str
    column: str


def _raw(col: Column) -> str:
    raw = f"ifNull(`{col.name}`, '')"
    return f"if(trimBoth({raw}) = '', '{col.default}', {raw})" if col.default is not None else raw


def typed_value(col: Column, raw: str, fmt: str | None, decimal: str = ".") -> str:
    """SQL that turns the raw text `raw` into the column's type, or NULL when it does not parse.
    With a decimal comma, a number holding a comma loses its thousands dots and the comma becomes
    the decimal point (``1.234,56`` -> ``1234.56``)."""
    t = col.type
    if decimal == "," and (t.startswith("Decimal") or t == "Float64"):
        raw = f"if(position({raw}, ',') > 0, replaceOne(replaceAll({raw}, '.', ''), ',', '.'), {raw})"
    if t == "String":
        return f"nullIf(trimBoth({raw}), '')"
    if t.startswith("DateTime"):
        return f"parseDateTimeOrNull({raw}, '{fmt}', 'UTC')" if fmt else f"parseDateTime64BestEffortOrNull({raw}, 0, 'UTC')"
    if t == "Date":
        inner = f"parseDateTimeOrNull({raw}, '{fmt}', 'UTC')" if fmt else f"parseDateTime64BestEffortOrNull({raw}, 0, 'UTC')"
        return f"toDate({inner})"
    if t.startswith("Decimal"):
        return f"toDecimal64OrNull({raw}, 4)"
    if t in ("Int32", "UInt32", "Float64"):
        return f"to{t}OrNull({raw})"
    raise ValueError(f"no parser for type {t}")


def typed_columns(table: Table, mapping: TableMapping) -> dict[str, str]:
    """Column name -> SQL giving its typed value (NULL when missing or unparseable)."""
    return {col.name: typed_value(col, _raw(col), mapping.formats.get(col.name), mapping.decimal) for col in table.columns}


def rules(table: Table, settings: Settings) -> list[Rule]:
    """The table's rules in judging order; ``{b:String}`` in them is the batch id."""
    checks: list[Rule] = [Rule(f"NOT isValidUTF8({_raw(col)})", "encoding error (not UTF-8)", col.name)
                          for col in table.columns]
    for col in table.columns:
        raw = f"trimBoth(ifNull(`{col.name}`, ''))"
        if col.required:
            checks.append(Rule(f"{raw} = ''", "missing required value", col.name))
        checks.append(Rule(f"{raw} != '' AND t_{col.name} IS NULL", f"not a valid {col.type.split('(')[0]}", col.name))
    for col in table.columns:
        if col.check:
            checks.append(Rule(f"t_{col.name} IS NOT NULL AND NOT ({col.check.format(v=f't_{col.name}')})",
                               col.check_reason, col.name))
    if table.name == "sales":  # the rules the live API applies too (warehouse/sale_rules.py)
        checks.extend(Rule(*rule) for rule in sale_rules.sql_rules(settings))
    elif table.append_only and table.month_column:
        m = f"t_{table.month_column}"
        checks.append(Rule(f"{m} IS NOT NULL AND ({m} < toDateTime('{settings.earliest_sale_date} 00:00:00', 'UTC') "
                           f"OR {m} > now('UTC') + INTERVAL 1 DAY)", "date out of range", table.month_column))
    for col in table.columns:
        if col.references:
            ref = TABLES[col.references]
            checks.append(Rule(f"t_{col.name} IS NOT NULL AND t_{col.name} NOT IN (SELECT `{ref.key[0]}` FROM "
                               f"silver.{ref.name}_all WHERE batch_id IN {COMMITTED} OR batch_id = {{b:String}})",
                               f"unknown {ref.name.removesuffix('s')}", col.name))
    if table.append_only:
        key = ", ".join(f"t_{k}" for k in table.key)
        stored_key = ", ".join(f"`{k}`" for k in table.key)
        raw_key = ", ".join(f"trimBoth(ifNull(`{k}`, ''))" for k in table.key)
        this_batch = f"FROM bronze.{table.name} WHERE batch_id = {{b:String}}"
        checks.append(Rule(f"row_hash IN (SELECT row_hash FROM silver.{table.name}_all WHERE batch_id IN {COMMITTED}) "
                           f"OR source_line NOT IN (SELECT min(source_line) {this_batch} GROUP BY row_hash)",
                           "duplicate line", table.key[0]))
        checks.append(Rule(f"({key}) IN (SELECT {stored_key} FROM silver.{table.name}_all WHERE batch_id IN {COMMITTED}) "
                           f"OR source_line NOT IN (SELECT min(source_line) {this_batch} GROUP BY {raw_key})",
                           "duplicate key with different content", table.key[0]))
    return checks


def verdict_sql(checks: list[Rule]) -> str:
    """SQL giving (reason, column, raw value) of the first failing rule, or ('', '', '') for a good row;
    the value as readable text (bytes that are not UTF-8 shown as U+FFFD, not as hex)."""
    return "multiIf(" + ", ".join(
        f"{r.condition}, ('{r.reason}', '{r.column}', toValidUTF8(ifNull(`{r.column}`, '')))" for r in checks
    ) + ", ('', '', ''))"

"""The canonical data model (DESIGN.md), named once: columns, types, keys and references.

Ingestion reads this to type and validate rows; the versioned DDL in ``warehouse/sql`` creates the
same columns (a test holds the two together). Types are ClickHouse types; ``sold_at`` and other
timestamps hold the store's local wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # ClickHouse type of the silver column (without Nullable)
    required: bool = False
    references: str | None = None  # canonical table whose key this column must name
    check: str | None = None  # SQL condition on the typed value `{v}` (e.g. "{v} > 0")
    check_reason: str = ""  # quarantine reason when `check` fails
    default: str | None = None  # raw value used when the column is absent or empty
    personal: bool = False  # identifies a person (LGPD): pseudonymised before it is stored, even in bronze


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    append_only: bool = False  # facts: a repeated key is a duplicate; otherwise a newer version
    month_column: str | None = None  # the date/time column gold partitions follow
    depends_on: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


MONEY = "Decimal(18, 4)"
POSITIVE = "{v} > 0"

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "stores",
            (
                Column("store_id", "String", required=True),
                Column("name", "String"),
                Column("city", "String"),
                Column("state", "String"),
                Column("region", "String"),
                Column("opened_on", "Date"),
            ),
            key=("store_id",),
        ),
        Table(
            "sellers",
            (
                Column("seller_id", "String", required=True),
                Column("store_id", "String", required=True, references="stores"),
                Column("name", "String"),
                Column("role", "String", default="seller", check="{v} IN ('seller', 'manager')",
                       check_reason="role must be seller or manager"),
                Column("hired_on", "Date"),
            ),
            key=("seller_id",),
            depends_on=("stores",),
        ),
        Table(
            "products",
            (
                Column("sku", "String", required=True),
                Column("short_name", "String"),
                Column("name", "String"),
                Column("category", "String"),
                Column("subcategory", "String"),
                Column("brand", "String"),
                Column("launched_on", "Date"),
            ),
            key=("sku",),
        ),
        Table(
            "prices",
            (
                Column("sku", "String", required=True, references="products"),
                Column("price", MONEY, required=True, check=POSITIVE, check_reason="price <= 0"),
                Column("valid_from", "Date", required=True),
                Column("valid_to", "Date"),
            ),
            key=("sku", "valid_from"),
            depends_on=("products",),
        ),
        Table(
            "costs",
            (
                Column("sku", "String", required=True, references="products"),
                Column("cost", MONEY, required=True, check="{v} >= 0", check_reason="cost < 0"),
                Column("valid_from", "Date", required=True),
                Column("valid_to", "Date"),
            ),
            key=("sku", "valid_from"),
            depends_on=("products",),
        ),
        Table(
            "sales",
            (
                Column("ticket_id", "String", required=True),
                Column("line", "UInt32", required=True),
                Column("store_id", "String", required=True, references="stores"),
                Column("seller_id", "String", required=True, references="sellers"),
                Column("customer_id", "String", personal=True),
                Column("sku", "String", required=True, references="products"),
                Column("quantity", "Int32", required=True, check="{v} != 0", check_reason="quantity is 0"),
                Column("unit_price", MONEY, required=True, check=POSITIVE, check_reason="price <= 0"),
                Column("discount", MONEY, default="0", check="{v} >= 0", check_reason="discount < 0"),
                Column("sold_at", "DateTime('UTC')", required=True),
            ),
            key=("ticket_id", "line"),
            append_only=True,
            month_column="sold_at",
            depends_on=("stores", "sellers", "products"),
        ),
        Table(
            "targets",
            (
                Column("seller_id", "String", required=True, references="sellers"),
                Column("month", "Date", required=True),
                Column("target_amount", MONEY, required=True, check="{v} >= 0", check_reason="target < 0"),
            ),
            key=("seller_id", "month"),
            month_column="month",
            depends_on=("sellers",),
        ),
        Table(
            "stock",
            (
                Column("store_id", "String", required=True, references="stores"),
                Column("sku", "String", required=True, references="products"),
                Column("date", "Date", required=True),
                Column("on_hand", "Int32", required=True),
            ),
            key=("store_id", "sku", "date"),
            month_column="date",
            depends_on=("stores", "products"),
        ),
        Table(
            "promotions",
            (
                Column("promo_id", "String", required=True),
                Column("sku", "String", required=True, references="products"),
                Column("store_id", "String", references="stores"),
                Column("starts_on", "Date", required=True),
                Column("ends_on", "Date", required=True),
                Column("discount_pct", "Float64", required=True, check="{v} > 0 AND {v} < 100",
                       check_reason="discount_pct outside (0, 100)"),
            ),
            key=("promo_id", "sku"),
            depends_on=("stores", "products"),
        ),
        Table(
            "commission_rules",
            (
                Column("rule_id", "String", required=True),
                Column("kind", "String", required=True, check="{v} IN ('category', 'tier')",
                       check_reason="kind must be category or tier"),
                Column("category", "String"),
                Column("min_attainment_pct", "Float64"),
                Column("rate", "Float64", required=True, check="{v} >= 0 AND {v} < 1",
                       check_reason="rate outside [0, 1)"),
            ),
            key=("rule_id",),
        ),
        Table(
            "schedules",
            (
                Column("store_id", "String", required=True, references="stores"),
                Column("seller_id", "String", required=True, references="sellers"),
                Column("shift_start", "DateTime('UTC')", required=True),
                Column("shift_end", "DateTime('UTC')", required=True),
            ),
            key=("seller_id", "shift_start"),
            month_column="shift_start",
            depends_on=("stores", "sellers"),
        ),
        Table(  # optional: customer satisfaction survey answers (NPS style, 0 to 10)
            "satisfaction",
            (
                Column("response_id", "String", required=True),
                Column("store_id", "String", required=True, references="stores"),
                Column("answered_on", "Date", required=True),
                Column("score", "Int32", required=True, check="{v} >= 0 AND {v} <= 10", check_reason="score outside 0-10"),
            ),
            key=("response_id",),
            append_only=True,
            month_column="answered_on",
            depends_on=("stores",),
        ),
    ]
}


def load_order(names: set[str]) -> list[str]:
    """``names`` ordered so that referenced tables load before the tables that reference them."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for dep in TABLES[name].depends_on:
            if dep in names:
                visit(dep)
        ordered.append(name)

    for name in sorted(names):
        visit(name)
    return ordered

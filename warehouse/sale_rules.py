"""What a sale line must obey to count, in one place for both doors a sale comes in by.

Files are judged in SQL inside ClickHouse (warehouse/validation.py asks :func:`sql_rules`); lines
posted live are judged in Python by :func:`problem` before the reply (serving/service.py). Both
read the same limits and the same reference data (the catalogue price valid on the sale's date and
the deepest promotion running for that store and product), so a line the API accepts is never
quarantined by the next pipeline run, and the live figures never count a sale the warehouse drops.
A test replays thousands of mixed lines through both and holds them to the same verdicts.

The rules, after the column checks (quantity ≠ 0, price > 0, discount ≥ 0):

- the sale's date lies between ``earliest_sale_date`` and now in the stores' time zone plus a
  small clock-skew allowance (a till's clock runs a little ahead);
- ``|quantity|`` is at most the store's cap;
- the discount is at most the line total (``|quantity| × unit price``);
- the unit price lies in the band around the catalogue: at most ``(1 + band)`` times the list
  price, at least ``(1 − band)`` times the promotional price. A product without a catalogue price
  on that date is not judged on price (a sales-only export has no price list).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from warehouse.clickhouse import quoted
from warehouse.settings import Settings

DATE_OUT_OF_RANGE = "date out of range"
QUANTITY_ABOVE_CAP = "quantity above the store cap"
DISCOUNT_ABOVE_LINE = "discount above the line total"
PRICE_OUTSIDE_BAND = "unit price outside the catalogue band"
OPEN_END = "toDate('2149-06-06')"  # a price valid "until further notice": ClickHouse's last Date


@dataclass(frozen=True)
class Limits:
    """One store's plausibility bounds."""
    max_quantity: int
    price_band: float


def limits(settings: Settings, store_id: str) -> Limits:
    """The store's bounds: its own entry of ``sale_limits_by_store``, else the chain's defaults."""
    own = settings.sale_limits_by_store.get(store_id, {})
    return Limits(int(own.get("max_quantity", settings.sale_max_quantity)),
                  float(own.get("price_band", settings.sale_price_band)))


def latest_sold_at(settings: Settings) -> datetime:
    """The latest acceptable sale time, as the stores' wall clock (how ``sold_at`` is stored)."""
    now = datetime.now(ZoneInfo(settings.timezone)).replace(tzinfo=None, microsecond=0)
    return now + timedelta(minutes=settings.clock_skew_minutes)


def earliest_sold_at(settings: Settings) -> datetime:
    return datetime.fromisoformat(f"{settings.earliest_sale_date}T00:00:00")


def problem(settings: Settings, store_id: str, quantity: int, unit_price: float, discount: float, sold_at: datetime,
            list_price: float | None, promo_pct: float, latest: datetime) -> tuple[str, str] | None:
    """(column, reason) of the first rule the line breaks, or None; ``latest`` from :func:`latest_sold_at`
    (taken once per request, as the SQL takes it once per file)."""
    if not earliest_sold_at(settings) <= sold_at <= latest:
        return "sold_at", DATE_OUT_OF_RANGE
    bounds = limits(settings, store_id)
    if abs(quantity) > bounds.max_quantity:
        return "quantity", QUANTITY_ABOVE_CAP
    if discount > abs(quantity) * unit_price:
        return "discount", DISCOUNT_ABOVE_LINE
    if list_price and not (list_price * (1 - promo_pct / 100) * (1 - bounds.price_band) <= unit_price
                           <= list_price * (1 + bounds.price_band)):
        return "unit_price", PRICE_OUTSIDE_BAND
    return None


def describe(settings: Settings, store_id: str, reason: str, list_price: float | None, promo_pct: float) -> str:
    """The reason with the bound that was crossed, for an error body or an alert."""
    bounds = limits(settings, store_id)
    if reason == QUANTITY_ABOVE_CAP:
        return f"{reason} ({bounds.max_quantity} units at {store_id})"
    if reason == PRICE_OUTSIDE_BAND and list_price:
        low = list_price * (1 - promo_pct / 100) * (1 - bounds.price_band)
        return f"{reason} ({low:.2f} to {list_price * (1 + bounds.price_band):.2f} at {store_id})"
    if reason == DATE_OUT_OF_RANGE:
        return f"{reason} ({settings.earliest_sale_date} to now, {settings.timezone})"
    return reason


def _per_store(settings: Settings, key: str, default: float) -> str:
    """SQL for a bound of the row's store: its own value, else the default."""
    stores = {s: v[key] for s, v in settings.sale_limits_by_store.items() if key in v}
    if not stores:
        return repr(float(default))
    names = ", ".join(quoted(s) for s in stores)
    values = ", ".join(repr(float(v)) for v in stores.values())
    return f"transform(ifNull(t_store_id, ''), [{names}], [{values}], {float(default)!r})"


def sql_rules(settings: Settings) -> list[tuple[str, str, str]]:
    """(condition, reason, column) for the sales table, in :func:`problem`'s order; a true condition
    quarantines the row. They read ``ref_price`` and ``ref_promo_pct`` from :func:`with_references`."""
    latest = latest_sold_at(settings).strftime("%Y-%m-%d %H:%M:%S")
    cap = _per_store(settings, "max_quantity", settings.sale_max_quantity)
    band = _per_store(settings, "price_band", settings.sale_price_band)
    price = "toFloat64(t_unit_price)"
    return [
        ((f"t_sold_at IS NOT NULL AND (t_sold_at < toDateTime('{settings.earliest_sale_date} 00:00:00', 'UTC') "
         f"OR t_sold_at > toDateTime('{latest}', 'UTC'))"), DATE_OUT_OF_RANGE, "sold_at"),
        (f"t_quantity IS NOT NULL AND abs(t_quantity) > {cap}", QUANTITY_ABOVE_CAP, "quantity"),
        ((f"t_discount IS NOT NULL AND t_quantity IS NOT NULL AND t_unit_price IS NOT NULL "
          f"AND toFloat64(t_discount) > abs(t_quantity) * {price}"), DISCOUNT_ABOVE_LINE, "discount"),
        ((f"ref_price > 0 AND t_unit_price IS NOT NULL AND ({price} > ref_price * (1 + {band}) "
          f"OR {price} < ref_price * (1 - ref_promo_pct / 100) * (1 - {band}))"), PRICE_OUTSIDE_BAND, "unit_price"),
    ]


def with_references(rows_sql: str) -> str:
    """``rows_sql`` (typed bronze rows) with ``ref_price``, the list price valid on the sale's date
    (0 when the catalogue has none), and ``ref_promo_pct``, the deepest promotion of that product
    running that day chain-wide or at the row's store (0 when none)."""
    day = "toDate(t_sold_at)"
    return f"""
        SELECT *,
               tupleElement(arrayFirst(x -> {day} >= x.1 AND {day} <= x.2, ref_periods), 3) AS ref_price,
               arrayMax(arrayConcat([0.], arrayMap(x -> if((x.1 = '' OR x.1 = ifNull(t_store_id, ''))
                                                           AND {day} >= x.2 AND {day} <= x.3, x.4, 0.), ref_promos)))
                   AS ref_promo_pct
        FROM ({rows_sql}) AS rows
        LEFT JOIN (SELECT sku AS ref_sku, arrayReverseSort(x -> x.1, groupArray(
                       (valid_from, ifNull(valid_to, {OPEN_END}), toFloat64(price)))) AS ref_periods
                   FROM silver.prices GROUP BY sku) AS prices ON ref_sku = t_sku
        LEFT JOIN (SELECT sku AS promo_sku, groupArray((ifNull(store_id, ''), starts_on, ends_on, toFloat64(discount_pct)))
                       AS ref_promos
                   FROM silver.promotions GROUP BY sku) AS promotions ON promo_sku = t_sku"""


# the reference data the service reads from the published figures (warehouse/figures.py)
PRICES_SQL = (f"SELECT sku, valid_from, ifNull(valid_to, {OPEN_END}) AS valid_to, toFloat64(price) AS price "
              "FROM silver.prices ORDER BY sku, valid_from DESC")
PROMOTIONS_SQL = ("SELECT sku, ifNull(store_id, '') AS store_id, starts_on, ends_on, toFloat64(discount_pct) AS pct "
                  "FROM silver.promotions")


class Catalogue:
    """The price list and the promotions, indexed by product, as :func:`with_references` reads them."""

    def __init__(self, prices: pd.DataFrame, promotions: pd.DataFrame) -> None:
        self._prices: dict[str, list[tuple]] = {}
        for row in prices.sort_values(["sku", "valid_from"], ascending=[True, False]).itertuples(index=False):
            self._prices.setdefault(row.sku, []).append((_day(row.valid_from), _day(row.valid_to), float(row.price)))
        self._promotions: dict[str, list[tuple]] = {}
        for row in promotions.itertuples(index=False):
            self._promotions.setdefault(row.sku, []).append((row.store_id or "", _day(row.starts_on), _day(row.ends_on),
                                                             float(row.pct)))

    def list_price(self, sku: str, day) -> float | None:
        """The price valid on ``day`` (the latest period that covers it), or None."""
        return next((price for start, end, price in self._prices.get(sku, ()) if start <= day <= end), None)

    def promo_pct(self, sku: str, store_id: str, day) -> float:
        """The deepest promotion of ``sku`` running on ``day`` chain-wide or at ``store_id`` (0 when none)."""
        return max((pct for store, start, end, pct in self._promotions.get(sku, ())
                    if store in ("", store_id) and start <= day <= end), default=0.0)


def _day(value):
    return pd.Timestamp(value).date()

"""Every feature vitrine computes, in one place: its name, kind and meaning.

The Spark pipelines select exactly these columns (and fail if they produced any other set), and
training and serving read the same lists, so there is no second hand-written feature list.
``vitrine features list`` prints them.

Point in time: a feature of the row for period ``d`` uses only data from before ``d``; what the
period itself reveals (its units, its stock-outs) is a *target*, never a feature. Prices and
promotions of ``d`` are features because they are planned, known before the day starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the CLI lists features without starting pyspark
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Literal["numeric", "categorical"]
    description: str
    # Known for a future period at forecast time (calendar, planned prices and promotions), so a
    # forecaster may read it from the day it predicts rather than from the forecast's origin.
    known_ahead: bool = False


@dataclass(frozen=True)
class Granularity:
    """The period demand is counted in; lags and windows are in periods of it."""

    name: Literal["day", "week"]
    period_days: int
    lags: tuple[int, ...]
    year_lag: int  # same period last year, keeping the weekday (364 days = 52 weeks)
    windows: tuple[int, ...]
    stock_window: int  # window of the stock-out share

    def unit(self) -> str:
        return "days" if self.name == "day" else "weeks"


GRANULARITIES: dict[str, Granularity] = {
    "day": Granularity("day", 1, lags=(1, 7, 14, 28), year_lag=364, windows=(7, 28, 91), stock_window=28),
    "week": Granularity("week", 7, lags=(1, 2, 4), year_lag=52, windows=(4, 13, 26), stock_window=4),
}


@dataclass(frozen=True)
class FeatureSet:
    """One feature table: its key columns, its targets (what the period revealed) and its features."""

    name: str
    keys: tuple[str, ...]
    targets: tuple[str, ...]
    features: tuple[Feature, ...]

    @property
    def columns(self) -> list[str]:
        """Keys, targets, then features; a key that is also a feature (hour) appears once."""
        return list(dict.fromkeys([*self.keys, *self.targets, *(f.name for f in self.features)]))

    @property
    def numeric(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    def select(self, df: DataFrame) -> DataFrame:
        """Exactly this set's columns of ``df``, in order; a missing column is a bug, said plainly."""
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise RuntimeError(f"{self.name}: the pipeline did not compute {', '.join(missing)}")
        return df.select(*self.columns)


def _num(name: str, description: str) -> Feature:
    return Feature(name, "numeric", description)


def _cat(name: str, description: str) -> Feature:
    return Feature(name, "categorical", description)


def _ahead(feature: Feature) -> Feature:
    return Feature(feature.name, feature.kind, feature.description, known_ahead=True)


CALENDAR = tuple(map(_ahead, (
    _num("holidays_in_period", "national holidays of Brazil falling in the period"),
    _num("retail_event_in_period", "1 when a retail date (Mães, Namorados, Black Friday, Natal) falls in the period"),
    _num("days_to_next_event", "days from the period's start to the next retail date"),
    _num("days_since_last_event", "days from the last retail date before the period's start"),
    _cat("next_event", "name of the next retail date"),
)))
ATTRIBUTES = (
    _cat("store_region", "store's region"),
    _cat("store_state", "store's state"),
    _num("store_age_days", "days since the store opened (null: unknown)"),
    _cat("category", "product category"),
    _cat("subcategory", "product subcategory"),
    _cat("brand", "product brand"),
    _num("days_since_launch", "days since the product's launch (null: unknown)"),
)


def demand(granularity: Granularity) -> FeatureSet:
    """Store × SKU × period demand features."""
    g, unit = granularity, granularity.unit()
    history = [
        *(_num(f"units_lag_{k}", f"units sold {k} {unit} earlier (0 when the series existed but sold nothing)")
          for k in g.lags),
        _ahead(_num("units_lag_year", f"units sold {g.year_lag} {unit} earlier (same weekday last year)")),
    ]
    for w in g.windows:
        history += [
            _num(f"units_mean_{w}", f"mean units per period over the last {w} {unit} (since the series began)"),
            _num(f"units_std_{w}", f"standard deviation of units over the last {w} {unit}"),
            _num(f"units_zero_share_{w}", f"share of the last {w} {unit} with no sale"),
        ]
    day_only = (
        [_ahead(_num("day_of_week", "0 = Monday")), _ahead(_num("day_of_month", "1..31"))] if g.name == "day" else []
    )
    return FeatureSet(
        name=f"demand_{g.name}",
        keys=("store_id", "sku", "date"),
        targets=("units", "revenue", "stockout_days"),
        features=(
            *history,
            *day_only,
            _ahead(_num("week_of_year", "ISO week")),
            _ahead(_num("month", "1..12")),
            *CALENDAR,
            _ahead(_num("regular_price", "list price on the period's first day with data")),
            _num("regular_price_change_pct", f"list price change vs {g.lags[-1]} {unit} earlier, in %"),
            _ahead(_num("promo_depth_pct", "mean promotion discount over the period's days, in %")),
            _ahead(_num("promo_days_share", "share of the period's days on promotion")),
            _ahead(_num("price", "expected selling price: list price less the mean promotion discount")),
            _ahead(_num("price_vs_regular", "price / regular_price")),
            _num("on_hand_start", "units on hand at the end of the previous period (null: unknown)"),
            _num("out_of_stock_at_start", "1 when on_hand_start is 0"),
            _num(f"stockout_share_{g.stock_window}",
                 f"share of the last {g.stock_window} {unit} that ended out of stock (demand censored)"),
            _num("series_age", f"{unit} since the series' first observation"),
            *ATTRIBUTES,
        ),
    )


TRAFFIC = FeatureSet(
    name="traffic_hour",
    keys=("store_id", "date", "hour"),
    targets=("tickets", "items"),
    features=(
        _num("hour", "hour of day, local time"),
        _num("day_of_week", "0 = Monday"),
        _num("month", "1..12"),
        _num("tickets_last_week", "tickets in the same hour on the same weekday last week (null: closed or no history)"),
        _num("tickets_mean_4_weeks", "mean tickets in the same hour and weekday over the last 4 weeks"),
        _num("items_last_week", "items in the same hour on the same weekday last week"),
        _num("items_mean_4_weeks", "mean items in the same hour and weekday over the last 4 weeks"),
        _num("tickets_weekday_hour_profile", "mean tickets in this weekday × hour over all earlier weeks"),
        _num("tickets_day_mean_4_weeks", "mean tickets per open day over the last 28 days"),
        _num("promotions_running", "promotions active at the store that day (store-specific and chain-wide)"),
        _num("is_holiday", "1 on a national holiday"),
        *(f for f in CALENDAR if f.name in ("retail_event_in_period", "days_to_next_event", "days_since_last_event")),
        _cat("store_region", "store's region"),
    ),
)

BASKET_LINES = FeatureSet(
    name="basket_lines",
    keys=("ticket_id", "sku"),
    targets=(),
    features=(
        _cat("store_id", "store of the ticket"),
        _cat("customer_id", "customer, when known (empty: anonymous)"),
        _num("sold_on", "day of the ticket (date)"),
        _num("basket_idx", "dense 0-based row index of the ticket in the interaction matrix"),
        _num("item_idx", "dense 0-based column index of the SKU (order of sku)"),
        _num("units", "units of the SKU bought in the ticket"),
        _num("idf", "log(baskets / baskets containing the SKU): rarity weight"),
        _num("basket_size", "distinct SKUs in the ticket"),
    ),
)

CUSTOMER_ITEMS = FeatureSet(
    name="customer_items",
    keys=("customer_id", "sku"),
    targets=(),
    features=(
        _num("baskets", "tickets of the customer containing the SKU"),
        _num("units", "units of the SKU the customer bought"),
        _num("last_bought", "day of the customer's last purchase of the SKU (date)"),
    ),
)


def feature_set(name: str) -> FeatureSet:
    """A feature set by its name (``demand_day``, ``demand_week``, ``traffic_hour``, …)."""
    sets = {s.name: s for s in (demand(GRANULARITIES["day"]), demand(GRANULARITIES["week"]), TRAFFIC,
                                BASKET_LINES, CUSTOMER_ITEMS)}
    if name not in sets:
        raise KeyError(f"unknown feature set {name!r}; known: {', '.join(sets)}")
    return sets[name]


# What ``vitrine features build`` builds unless told otherwise.
DEFAULT_SETS = ("demand_day", "demand_week", "traffic_hour", "basket_lines", "customer_items")

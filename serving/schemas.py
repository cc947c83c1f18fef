"""The request and reply shapes of the API (pydantic): what the OpenAPI document publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

STORE = Field(min_length=1, max_length=40, description="store id, e.g. L001")


class Suggestion(BaseModel):
    sku: str
    name: str
    score: float
    margin: float | None
    reason: str
    source: str


class CrossSellReply(BaseModel):
    store_id: str
    suggestions: list[Suggestion]
    unknown: list[str] = Field(description="basket SKUs nobody knows (reported, not an error)")
    model_version: str


class DayForecast(BaseModel):
    sku: str
    date: date
    p10: float
    p50: float
    p90: float


class ForecastReply(BaseModel):
    store_id: str
    days: list[DayForecast]
    model_version: str


class StockAlert(BaseModel):
    sku: str
    name: str
    category: str
    brand: str
    on_hand: float
    days_of_cover: float | None
    stockout_date: date | None
    stockout_probability: float
    order_quantity: int


class StockAlertsReply(BaseModel):
    store_id: str
    alerts: list[StockAlert]
    model_version: str


class PlanHour(BaseModel):
    date: date
    hour: int
    tickets_p50: float
    tickets_p90: float
    sellers_needed: int
    scheduled: float | None
    gap: float | None
    sales_at_risk: float
    peak: bool


class PeakWindow(BaseModel):
    date: date
    start: int
    end: int


class StaffingReply(BaseModel):
    store_id: str
    basis: str
    hours: list[PlanHour]
    peaks: list[PeakWindow]
    model_version: str


class Readiness(BaseModel):
    status: str
    models: dict[str, dict]
    figures: dict | None = Field(None, description="the published figures the live endpoints read")
    today: date = Field(description="the business date the live figures are for (VITRINE_TODAY or the stores' date)")


class SaleLineIn(BaseModel):
    """One ticket line from the point of sale (``sold_at`` in the store's local time)."""
    ticket_id: str = Field(min_length=1, max_length=64)
    line: int = Field(ge=1, le=10_000)
    store_id: str = STORE
    seller_id: str = Field(min_length=1, max_length=40)
    customer_id: str | None = Field(None, max_length=64, description="pseudonymised on receipt, never stored as sent")
    sku: str = Field(min_length=1, max_length=40)
    quantity: int = Field(ge=-1000, le=1000, description="negative for a return; never 0")
    unit_price: float = Field(ge=0.01, le=1_000_000)  # ge, not gt: OpenAPI 3.0 has no numeric exclusiveMinimum
    discount: float = Field(0, ge=0, le=1_000_000)
    sold_at: datetime


class SalesReply(BaseModel):
    accepted: int = Field(description="new lines stored")
    duplicates: int = Field(description="lines already stored with the same content (nothing added)")


class Alert(BaseModel):
    alert_id: int
    kind: str = Field(description="seller_milestone | team_milestone | behind_pace | stock_risk | below_forecast")
    store_id: str
    seller_id: str | None = Field(description="the seller it is about; none for the team's or a product's")
    raised_at: str = Field(description="UTC, when the sale that made it true was stored")
    name: str = Field(description="the seller's name, the store for the team's, or the product's name")
    month: date | None = None
    sales_month: float | None = None
    target: float | None = None
    milestone_pct: int | None = Field(None, description="milestones: the share of the month's target just passed")
    expected_sales: float | None = Field(None, description="behind_pace: the sales the target's pace expected by now")
    daily_pace_needed: float | None = None
    days_left: int | None = None
    sku: str | None = Field(None, description="stock_risk, below_forecast: the product")
    on_hand: float | None = Field(None, description="stock_risk: the run's stock less what was sold since")
    stockout_probability: float | None = None
    lead_time_days: int | None = None
    order_quantity: int | None = None
    units: float | None = Field(None, description="below_forecast: units sold over the window")
    expected_p10: float | None = Field(None, description="below_forecast: the forecast's P10 over the window")
    expected_p50: float | None = None
    window_start: date | None = None
    window_end: date | None = None
    actions: list[dict] | None = Field(None, description="below_forecast: what the data supports doing: restock "
                                                         "(days_out), promotion (margin_pct), placement (store and "
                                                         "chain share %), pairing (partner_sku, partner_name, baskets)")


class AlertsReply(BaseModel):
    alerts: list[Alert] = Field(description="oldest first (or newest first when asked); the kinds the store's rules "
                                            "send to your role")
    last_id: int = Field(description="ask again with after_id = this (alerts of kinds not for you are skipped)")
    quiet_now: bool = Field(description="the store's quiet hours: hold the pushes until they end")


KIND = Literal["seller_milestone", "team_milestone", "behind_pace", "stock_risk", "below_forecast"]


class AlertRulesChange(BaseModel):
    """The rules to change; what is left out stays as it is."""
    enabled: dict[KIND, bool] | None = None
    audience: dict[KIND, Literal["seller", "manager", "both"]] | None = None
    milestones_pct: list[int] | None = Field(None, min_length=1, max_length=6)
    behind_pace_pct: float | None = Field(None, ge=5, le=90)
    stock_risk_pct: float | None = Field(None, ge=10, le=99)
    below_window_days: int | None = Field(None, ge=3, le=28)
    quiet_from: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_to: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    no_quiet_hours: bool = Field(False, description="true: push at any hour (clears quiet_from and quiet_to)")


class RuleChange(BaseModel):
    changed_by: str
    changed_at: str
    field: str
    old: object
    new: object


class AlertRulesReply(BaseModel):
    store_id: str
    enabled: dict[str, bool]
    audience: dict[str, str]
    milestones_pct: list[int]
    behind_pace_pct: float
    stock_risk_pct: float
    below_window_days: int
    quiet_from: str | None
    quiet_to: str | None
    changes: list[RuleChange] = Field(description="the latest changes, newest first")


class RefusedLine(BaseModel):
    refusal_id: int
    seller_id: str
    ticket_id: str
    line: int
    sku: str
    quantity: int
    unit_price: float
    discount: float
    sold_at: str
    reason: str = Field(description="the rule broken, with the store's bound")
    refused_at: str = Field(description="when the API refused it (UTC)")


class RefusedReply(BaseModel):
    store_id: str
    refused: list[RefusedLine]


class SellerSummary(BaseModel):
    seller_id: str
    name: str
    store_id: str
    today: date
    sales_today: float
    tickets_today: int
    sales_month: float
    target: float | None
    attainment_pct: float | None
    daily_pace_needed: float | None = Field(description="sales per remaining day (today included) to reach the target")
    days_left: int
    commission_accrued: float
    projected_sales: float
    commission_projected: float
    data_through: date = Field(description="the last day the warehouse holds; later sales come from posted lines")
    live_lines: int


class HistoryPeriod(BaseModel):
    start: date
    end: date
    sales: float
    tickets: int
    avg_ticket: float | None
    target: float | None = Field(description="the months' targets spread evenly over their days")
    attainment_pct: float | None
    commission: float = Field(description="the period's sales at the commission rate its month reached")
    sales_last_year: float | None = Field(description="the same weekdays 52 weeks before (months: the same month); "
                                                      "none when the data does not reach back that far")
    change_pct: float | None
    in_progress: bool
    projected_sales: float | None = Field(description="a period in progress at the pace so far")
    projected_commission: float | None


class SalesHistory(BaseModel):
    seller_id: str | None = Field(description="the seller; none for a store team's history")
    store_id: str
    name: str
    grain: str
    start: date
    end: date
    today: date
    data_through: date
    periods: list[HistoryPeriod]


ROW_ID_MAX = 2**63 - 1  # SQLite's largest row id: a larger id names no row, and SQLite refuses to bind it (a 500)

METRIC = Literal["sales", "tickets", "avg_ticket", "target", "attainment_pct", "commission", "sales_last_year",
                 "change_pct", "projected_sales"]


class ReportIn(BaseModel):
    """A report as a manager shapes it (warehouse/reports.py)."""
    report_id: int | None = Field(None, ge=1, le=ROW_ID_MAX, description="to replace one of the store's reports; none for a new one")
    name: str = Field(min_length=1, max_length=60)
    metrics: list[METRIC] = Field(min_length=1, max_length=9)
    grain: Literal["day", "week", "month"] = "day"
    audience: Literal["self", "team", "each_seller"] = "self"
    schedule: Literal["daily", "weekly", "monthly", "none"] = "daily"


class ReportChange(BaseModel):
    report_id: int
    changed_by: str
    changed_at: str
    action: Literal["created", "changed", "deleted"]
    old: dict | None = Field(description="the definition before (none when created)")
    new: dict | None = Field(description="the definition after (none when deleted)")


class ReportsReply(BaseModel):
    store_id: str
    reports: list[ReportIn]
    changes: list[ReportChange] = Field(description="the store's latest report changes, newest first")


class ReportRow(BaseModel):
    seller_id: str | None = Field(description="none for the team's line")
    name: str
    values: dict[str, float | int | None]


class ReportContent(BaseModel):
    store_id: str
    name: str
    grain: str
    period_start: date
    period_end: date
    in_progress: bool
    metrics: list[str]
    rows: list[ReportRow] = Field(description="each seller, best sales first, then the team")


class TeamSummary(BaseModel):
    store_id: str
    sellers: list[SellerSummary]


class Kpi(BaseModel):
    kpi: str
    store: float | None
    chain_median: float | None
    similar_median: float | None
    rank: int | None
    stores: int
    gap_pct: float | None = Field(description="store vs similar stores (chain when none), in %")


class TrailingCategory(BaseModel):
    category: str
    store_share_pct: float
    chain_share_pct: float


class UnderperformingProduct(BaseModel):
    sku: str
    name: str
    category: str
    store_share_pct: float
    chain_share_pct: float


class StoreComparison(BaseModel):
    store_id: str
    store_name: str
    month: date
    region: str
    similar_stores: list[str]
    kpis: list[Kpi]
    areas_to_improve: list[str] = Field(description="KPIs below the similar stores, weakest first")
    trailing_categories: list[TrailingCategory]
    underperforming_products: list[UnderperformingProduct] = Field(
        description="of the chain's top 100 products, those selling under half their chain share here")


class MarginProduct(BaseModel):
    sku: str
    name: str
    category: str
    brand: str
    price: float
    margin_pct: float
    margin_value: float
    category_share_pct: float | None = None  # the category's share of the seller's sales (None: no seller)
    in_your_categories: bool


class HighMarginReply(BaseModel):
    seller_id: str | None
    products: list[MarginProduct]


class Promotion(BaseModel):
    promo_id: str
    sku: str
    name: str
    category: str
    discount_pct: float
    starts_on: date
    ends_on: date
    price: float | None
    in_your_categories: bool
    you_sell_it: bool  # the seller sold it in the last 90 days: a new promotion on it is pushed to them


class PromotionsReply(BaseModel):
    store_id: str
    today: date
    promotions: list[Promotion]


class Trend(BaseModel):
    sku: str
    name: str
    category: str
    units: int = Field(description="units sold at the store in the window")
    expected: float = Field(description="units at the rate of the four weeks before")
    growth_pct: float | None = Field(description="none for a product new at the store (nothing before)")
    extra_revenue: float = Field(description="the units above the expected ones, at the list price (R$)")
    price: float | None
    on_promotion: bool
    in_your_categories: bool
    reason: str


class TrendsReply(BaseModel):
    store_id: str
    window_start: date
    window_end: date
    trends: list[Trend]


class ProductMatch(BaseModel):
    sku: str
    name: str
    category: str
    brand: str
    price: float | None
    match: float = Field(description="share of the query's words found in the name (1: all; an exact SKU: 1)")


class ProductsReply(BaseModel):
    query: str
    products: list[ProductMatch]


class LinkCode(BaseModel):
    user_id: int
    name: str
    code: str = Field(description="one-time: the user sends `/start CODE` to the bot")
    expires_at: datetime


class UserInfo(BaseModel):
    user_id: int
    name: str
    role: str
    store_id: str | None
    seller_id: str | None


class Redeemed(BaseModel):
    token: str = Field(description="the chat's own token: keep it secret, never show it")
    user: UserInfo


class DaySold(BaseModel):
    date: date
    units: int
    on_hand: int | None


class SkuHistory(BaseModel):
    store_id: str
    sku: str
    name: str
    days: list[DaySold]


class Pair(BaseModel):
    sku_a: str
    name_a: str
    sku_b: str
    name_b: str
    baskets: int = Field(description="baskets holding both")
    share_a_with_b: float = Field(description="P(b | a)")
    lift: float


class PairsReply(BaseModel):
    store_id: str
    pairs: list[Pair]
    model_version: str


class ModelVersionInfo(BaseModel):
    version: str
    created_at: int = Field(description="ms since the epoch")
    run_id: str | None
    decision: str | None = Field(description="the champion gate's decision: promoted | rejected")
    reason: str | None
    champion: bool


class ModelInfo(BaseModel):
    name: str
    champion: str | None
    metrics: dict[str, float]
    plots: list[str]
    versions: list[ModelVersionInfo]


class ModelsReply(BaseModel):
    models: list[ModelInfo]


class Plot(BaseModel):
    name: str
    version: str
    path: str
    png_base64: str


class PipelineRun(BaseModel):
    state: str = Field(description="never | running | succeeded | failed")
    started_at: str | None
    finished_at: str | None
    exit_code: int | None
    log_tail: str


class StoreInfo(BaseModel):
    store_id: str
    name: str
    region: str


class StoresReply(BaseModel):
    stores: list[StoreInfo]

"""The request and reply shapes of the API (pydantic): what the OpenAPI document publishes."""

from __future__ import annotations

from datetime import date, datetime

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
    kind: str = Field(description="seller_milestone | team_milestone")
    store_id: str
    seller_id: str | None = Field(description="the seller it is about; none for the team's")
    raised_at: str = Field(description="UTC, when the sale that made it true was stored")
    name: str = Field(description="the seller's name, or the store for the team's")
    milestone_pct: int = Field(description="the share of the month's target just passed")
    sales_month: float
    target: float
    month: date


class AlertsReply(BaseModel):
    alerts: list[Alert] = Field(description="oldest first; ask again with after_id = the last alert_id seen")


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
    ends_on: date
    price: float | None
    in_your_categories: bool


class PromotionsReply(BaseModel):
    store_id: str
    today: date
    promotions: list[Promotion]


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

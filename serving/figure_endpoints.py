"""The API's endpoints over the live figures (serving/live_figures.py): posted sales, a seller's
and a team's progress and history, the store comparison, promotions, trends, products and margins."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from http import HTTPStatus
from typing import Literal
from zoneinfo import ZoneInfo

import bentoml
from pydantic import Field

from serving import auth, live_alerts, sales_history, trends
from serving.guard import Guarded, none_if_nan
from serving.schemas import (
    STORE,
    DaySold,
    HighMarginReply,
    MarginProduct,
    ProductMatch,
    ProductsReply,
    Promotion,
    PromotionsReply,
    SaleLineIn,
    SalesHistory,
    SalesReply,
    SellerSummary,
    SkuHistory,
    StoreComparison,
    StoreInfo,
    StoresReply,
    TeamSummary,
    Trend,
    TrendsReply,
)
from warehouse import alert_rules, live_sales, sale_rules
from warehouse.privacy import pseudonymise


class FigureEndpoints(Guarded):
    """Endpoints answered from the published figures and the sales posted since."""

    @bentoml.api
    def sales(self, ctx: bentoml.Context, lines: list[SaleLineIn] = Field(min_length=1, max_length=500)) -> SalesReply:
        """New ticket lines from a store's point of sale (the ``pos`` role, its own store only): judged
        by the rules file ingestion applies, stored durably before the reply, idempotent per
        (ticket_id, line), counted in seller_summary at once and in the warehouse at the next pipeline
        run. A line breaking a plausibility bound (quantity cap, price band, discount, date) is a 422
        naming the field, and the store's manager is alerted (refused_sales, and the bot)."""
        request = {"lines": len(lines), "tickets": sorted({x.ticket_id for x in lines})[:20]}
        user = self._guard(ctx, "sales", request, ("pos",))
        figures = self._figures(user, "sales", request)
        latest = sale_rules.latest_sold_at(self.settings)
        rows, warehouse_duplicates = [], 0
        for i, x in enumerate(lines):
            if x.store_id != user.store_id:
                self._deny(user, "sales", request, HTTPStatus.FORBIDDEN, f"lines[{i}].store_id: not your store")
            sold_at = x.sold_at
            if sold_at.tzinfo is not None:
                sold_at = sold_at.astimezone(ZoneInfo(self.settings.timezone)).replace(tzinfo=None)
            sale = live_sales.SaleLine(
                x.ticket_id, x.line, x.store_id, x.seller_id, pseudonymise(x.customer_id, self.pseudonym_key), x.sku,
                x.quantity, round(x.unit_price, 4), round(x.discount, 4), sold_at.replace(microsecond=0))
            verdict = figures.judge(sale, latest)
            if verdict.implausible:
                live_sales.record_refused(self.settings, sale, verdict.message)
            if verdict.status == HTTPStatus.ALREADY_REPORTED:
                warehouse_duplicates += 1
            elif verdict.status != HTTPStatus.OK:
                self._deny(user, "sales", request, HTTPStatus(verdict.status), f"lines[{i}].{verdict.field}: {verdict.message}")
            else:
                rows.append(sale)
        rules = partial(alert_rules.rules_of, self.settings)
        served = self.champions.get("stock-forecaster")
        forecaster = served.model.unwrap_python_model() if served is not None else None
        before = live_alerts.standing(figures, rows, rules, forecaster)
        try:
            new, duplicates = live_sales.accept(self.settings, rows)
        except live_sales.ConflictError as exc:
            self._deny(user, "sales", request, HTTPStatus.CONFLICT, str(exc))
        if new:
            live_alerts.raise_crossed(self.settings, before, live_alerts.standing(figures, rows, rules, forecaster))
        auth.record(self.settings, user, "sales", request, 200)
        return SalesReply(accepted=new, duplicates=duplicates + warehouse_duplicates)

    @bentoml.api
    async def seller_summary(self, ctx: bentoml.Context, seller_id: str | None = Field(None, max_length=40)) -> SellerSummary:
        """Sales today and this month, target attainment and the daily pace still needed, commission
        accrued and projected to month end (a seller: their own; a manager: their store's sellers)."""
        request = {"seller_id": seller_id}
        user = self._guard(ctx, "seller_summary", request, auth.PEOPLE)
        figures = self._figures(user, "seller_summary", request)
        seller_id = self._seller_for(user, "seller_summary", request, seller_id)
        summary = figures.seller_summary(seller_id)
        auth.record(self.settings, user, "seller_summary", request, 200)
        return summary

    @bentoml.api
    def seller_history(self, ctx: bentoml.Context, seller_id: str | None = Field(None, max_length=40),
                       store_id: str | None = Field(None, max_length=40),
                       grain: Literal["day", "week", "month"] = "month", start: date | None = None,
                       end: date | None = None) -> SalesHistory:
        """Sales, tickets, average ticket, attainment and commission by day, week or month over any
        range the warehouse holds, each period beside the same one a year before, the period in
        progress projected to its end (serving/sales_history.py). A seller: their own; with
        ``store_id``, the store team's summed (managers of the store, analysts, admins)."""
        request = {"seller_id": seller_id, "store_id": store_id, "grain": grain, "start": str(start), "end": str(end)}
        user = self._guard(ctx, "seller_history", request, auth.PEOPLE)
        figures = self._figures(user, "seller_history", request)
        if store_id is not None and seller_id is None:
            if user.role == "seller" or not user.may_see_store(store_id):
                self._deny(user, "seller_history", request, HTTPStatus.FORBIDDEN, f"store {store_id} is not yours to see")
            store = self._found(user, "seller_history", request, "store_id", lambda: figures.store(store_id))
            team = figures.published.store_sellers.get(store_id, [])
            subject = {"seller_id": None, "store_id": store_id, "name": str(store["name"])}
        else:
            seller_id = self._seller_for(user, "seller_history", request, seller_id)
            seller = figures.seller(seller_id)
            team, store_id = [seller_id], None
            subject = {"seller_id": seller_id, "store_id": seller["store_id"], "name": str(seller["name"])}
        try:
            found = sales_history.history(figures, team, grain, start, end, store_id)
        except sales_history.RangeError as exc:
            self._deny(user, "seller_history", request, HTTPStatus.UNPROCESSABLE_ENTITY, str(exc))
        auth.record(self.settings, user, "seller_history", request, 200)
        return SalesHistory(**subject, **found)

    @bentoml.api
    def team_summary(self, ctx: bentoml.Context, store_id: str = STORE) -> TeamSummary:
        """Each seller's month so far, best attainment first (managers of the store, analysts, admins)."""
        request = {"store_id": store_id}
        user = self._guard(ctx, "team_summary", request, ("manager", "analyst", "admin"), store_id)
        figures = self._figures(user, "team_summary", request)
        team = self._found(user, "team_summary", request, "store_id", lambda: figures.team_summary(store_id))
        auth.record(self.settings, user, "team_summary", request, 200)
        return TeamSummary(store_id=store_id, sellers=team)

    @bentoml.api
    def store_comparison(self, ctx: bentoml.Context, store_id: str = STORE) -> StoreComparison:
        """The store's last full month against the chain and similar stores, weakest areas first."""
        request = {"store_id": store_id}
        user = self._guard(ctx, "store_comparison", request, ("manager", "analyst", "admin"), store_id)
        figures = self._figures(user, "store_comparison", request)
        comparison = self._found(user, "store_comparison", request, "store_id", lambda: figures.store_comparison(store_id))
        auth.record(self.settings, user, "store_comparison", request, 200)
        return StoreComparison(**comparison)

    @bentoml.api
    def promotions(self, ctx: bentoml.Context, store_id: str | None = Field(None, max_length=40),
                   seller_id: str | None = Field(None, max_length=40)) -> PromotionsReply:
        """Promotions running today at the store, the seller's categories first (a seller: their store)."""
        request = {"store_id": store_id, "seller_id": seller_id}
        user = self._guard(ctx, "promotions", request, auth.PEOPLE)
        figures = self._figures(user, "promotions", request)
        store_id, seller_id = self._store_and_seller(user, "promotions", request, store_id, seller_id)
        found = self._found(user, "promotions", request, "store_id", lambda: figures.promotions(store_id, seller_id))
        auth.record(self.settings, user, "promotions", request, 200)
        return PromotionsReply(store_id=store_id, today=figures.today(), promotions=[Promotion(**p) for p in found])

    @bentoml.api
    def trends(self, ctx: bentoml.Context, store_id: str | None = Field(None, max_length=40),
               seller_id: str | None = Field(None, max_length=40), k: int = Field(10, ge=1, le=50)) -> TrendsReply:
        """Products to promote: those whose last two weeks at the store sold clearly above their own
        four weeks before (serving/trends.py), the most extra sales first; a seller's categories
        before the rest."""
        request = {"store_id": store_id, "seller_id": seller_id, "k": k}
        user = self._guard(ctx, "trends", request, auth.PEOPLE)
        figures = self._figures(user, "trends", request)
        store_id, seller_id = self._store_and_seller(user, "trends", request, store_id, seller_id)
        through = figures.published.meta["data_through"]
        found = self._found(user, "trends", request, "store_id",
                            lambda: trends.store_trends(figures.published, store_id, through, figures.today()))
        focus = set(figures.focus_categories(seller_id)) if seller_id is not None else set()
        found = found.assign(in_your_categories=found["category"].isin(focus))
        found = found.sort_values("in_your_categories", ascending=False, kind="stable").head(k)
        auth.record(self.settings, user, "trends", request, 200)
        return TrendsReply(store_id=store_id, window_start=through - timedelta(days=trends.WINDOW_DAYS - 1),
                           window_end=through, trends=[Trend(**{f: none_if_nan(v) for f, v in t.items()}) for t in found.to_dict("records")])

    @bentoml.api
    def products(self, ctx: bentoml.Context, query: str = Field(min_length=1, max_length=100),
                 limit: int = Field(5, ge=1, le=50)) -> ProductsReply:
        """Find products by SKU or by name, forgivingly (accents, case, word order and small typos)."""
        request = {"query": query, "limit": limit}
        user = self._guard(ctx, "products", request, auth.ROLES)
        figures = self._figures(user, "products", request)
        found = figures.search_products(query, limit)
        auth.record(self.settings, user, "products", request, 200)
        return ProductsReply(query=query, products=[ProductMatch(**p) for p in found])

    @bentoml.api
    def stores(self, ctx: bentoml.Context) -> StoresReply:
        """The stores the user may see (a seller or manager: their own)."""
        user = self._guard(ctx, "stores", {}, auth.PEOPLE)
        figures = self._figures(user, "stores", {})
        mine = [s for s in figures.published.stores.values() if user.may_see_store(s["store_id"])]
        auth.record(self.settings, user, "stores", {}, 200)
        return StoresReply(stores=[StoreInfo(store_id=s["store_id"], name=str(s["name"]), region=str(s.get("region") or ""))
                                   for s in sorted(mine, key=lambda s: s["store_id"])])

    @bentoml.api
    def sku_history(self, ctx: bentoml.Context, store_id: str = STORE, sku: str = Field(min_length=1, max_length=40)
                    ) -> SkuHistory:
        """Units sold and stock on hand per day over the last weeks (under a forecast's fan chart)."""
        request = {"store_id": store_id, "sku": sku}
        user = self._guard(ctx, "sku_history", request, ("manager", "analyst", "admin"), store_id)
        figures = self._figures(user, "sku_history", request)
        days = self._found(user, "sku_history", request, None, lambda: figures.sku_history(store_id, sku))
        auth.record(self.settings, user, "sku_history", request, 200)
        return SkuHistory(store_id=store_id, sku=sku, name=figures.published.product(sku)["name"],
                          days=[DaySold(**d) for d in days])

    @bentoml.api
    def high_margin(self, ctx: bentoml.Context, seller_id: str | None = Field(None, max_length=40),
                    k: int = Field(10, ge=1, le=50)) -> HighMarginReply:
        """The best-margin products, within the categories the seller sells (the catalogue's best
        when no seller is named by a manager, analyst or admin)."""
        request = {"seller_id": seller_id, "k": k}
        user = self._guard(ctx, "high_margin", request, auth.PEOPLE)
        figures = self._figures(user, "high_margin", request)
        if seller_id is not None or user.role == "seller":
            seller_id = self._seller_for(user, "high_margin", request, seller_id)
        products = figures.high_margin(seller_id, k)
        auth.record(self.settings, user, "high_margin", request, 200)
        return HighMarginReply(seller_id=seller_id, products=[MarginProduct(**p) for p in products])

"""The vitrine API (BentoML 1.4): the only door the bot and the dashboard use.

Every endpoint but ``health`` needs ``Authorization: Bearer <token>`` (tokens from ``vitrine users
add``); the role and the store of the token's user decide what it may see (serving/auth.py), and
every call leaves an audit row. Bad input is a 4xx naming the field (pydantic), never a traceback.
The models are the registry's champions (serving/champions.py), re-checked every
``VITRINE_MODEL_POLL_SECONDS`` and on ``reload`` (admins), so a new champion serves without a
restart. BentoML also serves ``/healthz``, ``/readyz`` and the Prometheus ``/metrics``.

Run it with ``vitrine serve`` (or ``bentoml serve serving.service:Vitrine``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from functools import partial
from http import HTTPStatus
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

import bentoml
import pandas as pd
from bentoml.exceptions import BentoMLException
from pydantic import Field

from serving import auth, live_alerts, reports, sales_history, trends
from serving.champions import Champions
from serving.live_figures import LiveFigures, UnknownError
from serving.schemas import (
    STORE,
    Alert,
    AlertRulesChange,
    AlertRulesReply,
    AlertsReply,
    CrossSellReply,
    DayForecast,
    DaySold,
    ForecastReply,
    HighMarginReply,
    LinkCode,
    MarginProduct,
    ModelInfo,
    ModelsReply,
    Pair,
    PairsReply,
    PeakWindow,
    PipelineRun,
    PlanHour,
    Plot,
    ProductMatch,
    ProductsReply,
    Promotion,
    PromotionsReply,
    Readiness,
    Redeemed,
    RefusedLine,
    RefusedReply,
    ReportContent,
    ReportIn,
    ReportsReply,
    SaleLineIn,
    SalesHistory,
    SalesReply,
    SellerSummary,
    SkuHistory,
    StaffingReply,
    StockAlert,
    StockAlertsReply,
    StoreComparison,
    StoreInfo,
    StoresReply,
    Suggestion,
    TeamSummary,
    Trend,
    TrendsReply,
    UserInfo,
)
from warehouse import alert_rules, live_sales, sale_rules
from warehouse import alerts as alerts_store
from warehouse import reports as report_store
from warehouse.local_files import keep_private
from warehouse.privacy import pseudonym_key, pseudonymise
from warehouse.settings import load_settings

T = TypeVar("T")


def _token(ctx: bentoml.Context) -> str | None:
    header = ctx.request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _none_if_nan(value):
    return None if value is None or pd.isna(value) else value


@bentoml.service(name="vitrine", traffic={"timeout": 30})
class Vitrine:
    def __init__(self) -> None:
        self.settings = load_settings()
        keep_private(self.settings.home.resolve())  # the audit trail and posted sales it writes are private
        self.champions = Champions(self.settings)
        self.champions.refresh()
        self.figures = LiveFigures(self.settings)
        self.pseudonym_key = pseudonym_key(self.settings)
        self._stop = threading.Event()
        threading.Thread(target=self._poll, daemon=True, name="champion-poll").start()

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.model_poll_seconds):
            self.champions.refresh()
            self.figures.refresh()

    # -- the guard every endpoint goes through ---------------------------------------------------
    def _guard(self, ctx: bentoml.Context, endpoint: str, request: dict, roles: tuple[str, ...],
               store_id: str | None = None) -> auth.User:
        user = auth.authenticate(self.settings, _token(ctx))
        if user is None:
            self._deny(None, endpoint, request, HTTPStatus.UNAUTHORIZED, "missing, unknown or revoked token")
        if user.role not in roles:
            self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"the {user.role} role cannot use {endpoint}")
        if store_id is not None and not user.may_see_store(store_id):
            self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"store {store_id} is not yours")
        return user

    def _deny(self, user: auth.User | None, endpoint: str, request: dict, status: HTTPStatus, message: str):
        auth.record(self.settings, user, endpoint, request, int(status))
        raise BentoMLException(message, error_code=status)

    def _found(self, user: auth.User, endpoint: str, request: dict, field: str | None, lookup: Callable[[], T]) -> T:
        """``lookup()``; a seller, store or product the figures do not know is a 404 naming ``field``."""
        try:
            return lookup()
        except UnknownError as exc:
            self._deny(user, endpoint, request, HTTPStatus.NOT_FOUND, f"{field}: {exc}" if field else str(exc))

    def _model(self, user: auth.User, endpoint: str, request: dict, name: str):
        served = self.champions.get(name)
        if served is None:
            self._deny(user, endpoint, request, HTTPStatus.SERVICE_UNAVAILABLE,
                       f"no {name} model is loaded yet: {self.champions.errors.get(name, 'not trained')}")
        return served

    # -- endpoints -------------------------------------------------------------------------------
    @bentoml.api
    async def health(self) -> dict:
        """Liveness, no token needed."""
        return {"status": "ok"}

    @bentoml.api
    def readiness(self, ctx: bentoml.Context) -> Readiness:
        """The models being served, their versions and where from; ``degraded`` when the registry is
        unreachable and last good copies serve."""
        self._guard(ctx, "readiness", {}, auth.ROLES)
        status = self._status()
        if status["status"] == "not ready":
            ctx.response.status_code = HTTPStatus.SERVICE_UNAVAILABLE
        return Readiness(**status)

    def _status(self) -> dict:
        """The models' status, and the published figures: without them the live endpoints cannot answer."""
        status = self.champions.status()
        status["today"] = self.figures.today()
        published = self.figures.published
        meta = published.meta if published else None
        status["figures"] = {"published_at": meta["published_at"], "data_through": str(meta["data_through"]),
                             "live_upto": meta["live_upto"]} if meta else None
        if meta is None and status["status"] == "ready":
            status["status"] = "degraded"
        return status

    @bentoml.api
    def reload(self, ctx: bentoml.Context) -> Readiness:
        """Ask the registry for new champions now (admins)."""
        user = self._guard(ctx, "reload", {}, ("admin",))
        self.champions.refresh()
        self.figures.refresh()
        auth.record(self.settings, user, "reload", {}, 200)
        return Readiness(**self._status())

    @bentoml.api
    async def cross_sell(self, ctx: bentoml.Context,
                   basket: list[str] = Field(min_length=1, max_length=50, description="SKUs in the basket"),
                   store_id: str = STORE, k: int = Field(5, ge=1, le=20),
                   customer_id: str | None = Field(None, max_length=64, description="a known customer, if any")
                   ) -> CrossSellReply:
        """Ranked suggestions for the basket in front of the seller, each with a reason (a known
        customer's recent purchases join the basket)."""
        request = {"basket": basket, "store_id": store_id, "k": k, "customer": customer_id is not None}
        user = self._guard(ctx, "cross_sell", request, auth.ROLES, store_id)
        served = self._model(user, "cross_sell", request, "cross-sell")
        # the recommender itself, not pyfunc's predict: a one-row DataFrame in and out costs more than the answer
        model = served.model.unwrap_python_model()
        history = model.histories.get(pseudonymise(customer_id, self.pseudonym_key) or "", [])
        result = model.recommender.complete(basket, store_id, k, history)
        auth.record(self.settings, user, "cross_sell", request, 200)
        return CrossSellReply(store_id=store_id, unknown=result.unknown, model_version=served.version, suggestions=[
            Suggestion(sku=x.sku, name=x.name, score=x.score, margin=x.margin, reason=x.reason, source=x.source)
            for x in result.items])

    @bentoml.api
    def forecast(self, ctx: bentoml.Context, store_id: str = STORE,
                 skus: list[str] = Field(min_length=1, max_length=200),
                 horizon_days: int = Field(14, ge=1, le=28)) -> ForecastReply:
        """Daily P10/P50/P90 demand for the store's SKUs (managers of the store, analysts, admins)."""
        from models.forecast_pyfunc import UnknownSeriesError

        request = {"store_id": store_id, "skus": skus, "horizon_days": horizon_days}
        user = self._guard(ctx, "forecast", request, ("manager", "analyst", "admin"), store_id)
        served = self._model(user, "forecast", request, "stock-forecaster")
        try:
            rows = served.model.predict(pd.DataFrame({"store_id": store_id, "sku": skus, "horizon_days": horizon_days}))
        except UnknownSeriesError as exc:
            self._deny(user, "forecast", request, HTTPStatus.NOT_FOUND, str(exc).strip('"'))
        except FileNotFoundError as exc:  # the champion's published forecasts were removed by hand
            self._deny(user, "forecast", request, HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
        auth.record(self.settings, user, "forecast", request, 200)
        return ForecastReply(store_id=store_id, model_version=served.version, days=[
            DayForecast(sku=r.sku, date=pd.Timestamp(r.date).date(), p10=r.p10, p50=r.p50, p90=r.p90)
            for r in rows.itertuples(index=False)])

    @bentoml.api
    def stock_alerts(self, ctx: bentoml.Context, store_id: str = STORE,
                     limit: int = Field(20, ge=1, le=500)) -> StockAlertsReply:
        """The store's SKUs most likely to run out before the next delivery, with what to order."""
        request = {"store_id": store_id, "limit": limit}
        user = self._guard(ctx, "stock_alerts", request, ("manager", "analyst", "admin"), store_id)
        served = self._model(user, "stock_alerts", request, "stock-forecaster")
        try:
            mine = served.model.unwrap_python_model().alerts(store_id).head(limit)  # riskiest first
        except FileNotFoundError as exc:
            self._deny(user, "stock_alerts", request, HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
        products = self._figures(user, "stock_alerts", request).published.products
        auth.record(self.settings, user, "stock_alerts", request, 200)
        found = []
        for r in mine.itertuples(index=False):
            product = products.get(str(r.sku), {"name": str(r.sku), "category": "", "brand": ""})
            found.append(StockAlert(
                sku=str(r.sku), name=product["name"], category=product["category"], brand=product["brand"],
                on_hand=float(r.on_hand), days_of_cover=_none_if_nan(r.days_of_cover),
                stockout_date=_none_if_nan(r.stockout_date), stockout_probability=float(r.stockout_probability),
                order_quantity=int(r.order_quantity)))
        return StockAlertsReply(store_id=store_id, model_version=served.version, alerts=found)

    @bentoml.api
    def staffing_plan(self, ctx: bentoml.Context, store_id: str = STORE, week_start: date | None = None,
                      plan_on: str = Field("p90", pattern="^p(50|90)$")) -> StaffingReply:
        """The week's hourly grid: forecast tickets, sellers needed, schedule gaps, peak windows."""
        from models.staffing import peak_windows
        from models.staffing_pyfunc import PlanOutOfRangeError

        request = {"store_id": store_id, "week_start": week_start, "plan_on": plan_on}
        user = self._guard(ctx, "staffing_plan", request, ("manager", "analyst", "admin"), store_id)
        served = self._model(user, "staffing_plan", request, "staffing")
        try:
            plan = served.model.predict(pd.DataFrame({"store_id": [store_id], "plan_on": [plan_on],
                                                      "week_start": [str(week_start) if week_start else None]}))
        except PlanOutOfRangeError as exc:
            self._deny(user, "staffing_plan", request, HTTPStatus.BAD_REQUEST, str(exc))
        auth.record(self.settings, user, "staffing_plan", request, 200)
        return StaffingReply(
            store_id=store_id, basis=str(plan["basis"].iloc[0]) if len(plan) else "", model_version=served.version,
            hours=[PlanHour(date=pd.Timestamp(r.date).date(), hour=int(r.hour), tickets_p50=float(r.tickets_p50),
                            tickets_p90=float(r.tickets_p90), sellers_needed=int(r.sellers_needed),
                            scheduled=_none_if_nan(r.scheduled), gap=_none_if_nan(r.gap),
                            sales_at_risk=float(r.sales_at_risk), peak=bool(r.peak)) for r in plan.itertuples(index=False)],
            peaks=[PeakWindow(date=pd.Timestamp(w.date).date(), start=w.start, end=w.end)
                   for w in peak_windows(plan).itertuples(index=False)])

    # -- live figures ----------------------------------------------------------------------------
    def _figures(self, user: auth.User, endpoint: str, request: dict) -> LiveFigures:
        if not self.figures.ready:
            self._deny(user, endpoint, request, HTTPStatus.SERVICE_UNAVAILABLE,
                       "no figures published yet: run `vitrine pipeline run` once")
        return self.figures

    def _seller_for(self, user: auth.User, endpoint: str, request: dict, seller_id: str | None) -> str:
        """The seller asked about: a seller asks about themself; others must name one they may see."""
        if seller_id is None:
            if user.seller_id is None:
                self._deny(user, endpoint, request, HTTPStatus.BAD_REQUEST, "seller_id: required for your role")
            seller_id = user.seller_id
        try:
            store = self.figures.seller(seller_id)["store_id"]
        except UnknownError:  # only those who may see every seller learn that an id does not exist
            if user.role not in ("analyst", "admin"):
                self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"seller {seller_id} is not yours to see")
            self._deny(user, endpoint, request, HTTPStatus.NOT_FOUND, f"seller_id: unknown seller {seller_id!r}")
        if not user.may_see_seller(seller_id, store):
            self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"seller {seller_id} is not yours to see")
        return seller_id

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
    def alerts(self, ctx: bentoml.Context, store_id: str | None = Field(None, max_length=40),
               after_id: int = Field(0, ge=0), limit: int = Field(50, ge=1, le=500),
               newest_first: bool = False) -> AlertsReply:
        """Alerts after ``after_id``, oldest first (``newest_first``: the latest ``limit``), of the
        kinds the store's rules send to the caller's role: a seller's own and their team's, a
        manager's store's, any store's for analysts and admins."""
        request = {"store_id": store_id, "after_id": after_id, "limit": limit, "newest_first": newest_first}
        user = self._guard(ctx, "alerts", request, auth.PEOPLE)
        seller_id = None
        if user.role == "seller":
            store_id, seller_id = user.store_id, user.seller_id
        elif user.role == "manager":
            if store_id not in (None, user.store_id):
                self._deny(user, "alerts", request, HTTPStatus.FORBIDDEN, f"store {store_id} is not yours to see")
            store_id = user.store_id
        found = alerts_store.listed(self.settings, store_id, seller_id, after_id, limit, newest_first)
        rules = {store: alert_rules.rules_of(self.settings, store) for store in {a["store_id"] for a in found} | {store_id}
                 if store is not None}
        mine = [Alert(**alert) for alert in found if rules[alert["store_id"]].to(alert["kind"], user.role)]
        now = datetime.now(ZoneInfo(self.settings.timezone)).time()
        auth.record(self.settings, user, "alerts", request, 200)
        return AlertsReply(alerts=mine, last_id=max((a["alert_id"] for a in found), default=after_id),
                           quiet_now=store_id is not None and rules[store_id].quiet(now))

    @bentoml.api
    def alert_rules(self, ctx: bentoml.Context, store_id: str = STORE, change: AlertRulesChange | None = None
                    ) -> AlertRulesReply:
        """The store's alert rules (which kinds, to whom, thresholds, quiet hours) and their latest
        changes; with ``change``, the store's manager (or an admin) sets them first, audited."""
        changes = change.model_dump(exclude_none=True) if change is not None else None
        if changes is not None and changes.pop("no_quiet_hours"):
            changes |= {"quiet_from": None, "quiet_to": None}
        request = {"store_id": store_id, "change": changes}
        roles = ("manager", "admin") if change is not None else ("manager", "analyst", "admin")
        user = self._guard(ctx, "alert_rules", request, roles, store_id)
        self._found(user, "alert_rules", request, "store_id", lambda: self._figures(user, "alert_rules", request).store(store_id))
        if change is not None:
            try:
                alert_rules.change(self.settings, store_id, f"{user.name} (#{user.user_id})", **changes)
            except alert_rules.RuleError as exc:
                self._deny(user, "alert_rules", request, HTTPStatus.UNPROCESSABLE_ENTITY, str(exc))
        rules = alert_rules.rules_of(self.settings, store_id)
        auth.record(self.settings, user, "alert_rules", request, 200)
        return AlertRulesReply(store_id=store_id, **asdict(rules),
                               changes=alert_rules.changes_of(self.settings, store_id))

    @bentoml.api
    def refused_sales(self, ctx: bentoml.Context, store_id: str = STORE,
                      limit: int = Field(20, ge=1, le=200)) -> RefusedReply:
        """Sale lines the store's point of sale posted and the API refused as implausible, newest first
        (managers of the store, analysts, admins): a price far from the catalogue, a quantity above the
        cap, a discount above the line, a date in the future."""
        request = {"store_id": store_id, "limit": limit}
        user = self._guard(ctx, "refused_sales", request, ("manager", "analyst", "admin"), store_id)
        rows = live_sales.refused(self.settings, store_id, limit)
        auth.record(self.settings, user, "refused_sales", request, 200)
        return RefusedReply(store_id=store_id, refused=[RefusedLine(**row) for row in rows])

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
    def reports(self, ctx: bentoml.Context, store_id: str = STORE, save: ReportIn | None = None,
                delete_id: int | None = Field(None, ge=1)) -> ReportsReply:
        """The store's shaped reports (warehouse/reports.py) and their latest changes; with ``save``,
        its manager (or an admin) adds or replaces one first, with ``delete_id`` removes one."""
        request = {"store_id": store_id, "save": save.model_dump() if save else None, "delete_id": delete_id}
        writes = save is not None or delete_id is not None
        user = self._guard(ctx, "reports", request, ("manager", "admin") if writes else ("manager", "analyst", "admin"),
                           store_id)
        self._found(user, "reports", request, "store_id", lambda: self._figures(user, "reports", request).store(store_id))
        by = f"{user.name} (#{user.user_id})"
        try:
            if save is not None:
                report_store.save(self.settings, store_id, report_store.Report(**save.model_dump()), by)
            if delete_id is not None and not report_store.delete(self.settings, store_id, delete_id, by):
                self._deny(user, "reports", request, HTTPStatus.NOT_FOUND, f"delete_id: no report {delete_id} at {store_id}")
        except report_store.ReportError as exc:
            self._deny(user, "reports", request, HTTPStatus.UNPROCESSABLE_ENTITY, str(exc))
        found = report_store.of_store(self.settings, store_id)
        auth.record(self.settings, user, "reports", request, 200)
        return ReportsReply(store_id=store_id, reports=[ReportIn(**{k: v for k, v in asdict(r).items() if k != "store_id"})
                                                        for r in found],
                            changes=report_store.changes_of(self.settings, store_id))

    @bentoml.api
    def report_preview(self, ctx: bentoml.Context, store_id: str = STORE, report_id: int | None = Field(None, ge=1),
                       report: ReportIn | None = None) -> ReportContent:
        """A report's table now: a saved one (``report_id``) or one being shaped (``report``)."""
        request = {"store_id": store_id, "report_id": report_id}
        user = self._guard(ctx, "report_preview", request, ("manager", "analyst", "admin"), store_id)
        figures = self._figures(user, "report_preview", request)
        if report is not None:
            shaped = report_store.Report(**report.model_dump())
        else:
            shaped = next((r for r in report_store.of_store(self.settings, store_id) if r.report_id == report_id), None)
            if shaped is None:
                self._deny(user, "report_preview", request, HTTPStatus.NOT_FOUND,
                           f"report_id: no report {report_id} at {store_id}; or send a report to preview")
        found = self._found(user, "report_preview", request, "store_id", lambda: reports.content(figures, store_id, shaped))
        auth.record(self.settings, user, "report_preview", request, 200)
        return ReportContent(**found)

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

    def _store_and_seller(self, user: auth.User, endpoint: str, request: dict, store_id: str | None,
                          seller_id: str | None) -> tuple[str, str | None]:
        """The store asked about (a seller: their own; others name one they may see) and the seller
        whose categories come first, if any."""
        if seller_id is not None or user.role == "seller":
            seller_id = self._seller_for(user, endpoint, request, seller_id)
            store_id = store_id or self.figures.seller(seller_id)["store_id"]
        store_id = store_id or user.store_id
        if store_id is None:
            self._deny(user, endpoint, request, HTTPStatus.BAD_REQUEST, "store_id: required for your role")
        if not user.may_see_store(store_id):
            self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"store {store_id} is not yours")
        return store_id, seller_id

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
                           window_end=through, trends=[Trend(**{f: _none_if_nan(v) for f, v in t.items()}) for t in found.to_dict("records")])

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
    def link_code(self, ctx: bentoml.Context, user_id: int = Field(ge=1),
                  minutes: int = Field(24 * 60, ge=1, le=7 * 24 * 60)) -> LinkCode:
        """A one-time code linking a chat of the bot to a user (managers: their store's sellers and
        managers; admins: anyone). The user sends ``/start CODE`` to the bot."""
        request = {"user_id": user_id, "minutes": minutes}
        user = self._guard(ctx, "link_code", request, ("manager", "admin"))
        try:
            code, expires = auth.issue_link_code(self.settings, user_id, user, minutes)
            target = auth.user(self.settings, user_id)
        except auth.AuthError as exc:
            self._deny(user, "link_code", request, HTTPStatus.NOT_FOUND, f"user_id: {exc}")
        except PermissionError as exc:
            self._deny(user, "link_code", request, HTTPStatus.FORBIDDEN, str(exc))
        auth.record(self.settings, user, "link_code", request, 200)
        return LinkCode(user_id=user_id, name=target.name, code=code, expires_at=expires)

    @bentoml.api
    def redeem_link(self, code: str = Field(min_length=4, max_length=32),
                    label: str = Field(min_length=1, max_length=80, description="where the token lives, e.g. telegram:12345")
                    ) -> Redeemed:
        """Spend a link code for a token of its user (the code is the credential: no bearer token)."""
        try:
            user, token = auth.redeem_link_code(self.settings, code, label)
        except auth.AuthError as exc:
            auth.record(self.settings, None, "redeem_link", {"label": label}, int(HTTPStatus.FORBIDDEN))
            raise BentoMLException(str(exc), error_code=HTTPStatus.FORBIDDEN) from None
        auth.record(self.settings, user, "redeem_link", {"label": label}, 200)
        return Redeemed(token=token, user=UserInfo(user_id=user.user_id, name=user.name, role=user.role,
                                                     store_id=user.store_id, seller_id=user.seller_id))

    @bentoml.api
    def me(self, ctx: bentoml.Context) -> UserInfo:
        """Who the token belongs to: name, role, store and seller (the dashboard shows pages by role)."""
        user = self._guard(ctx, "me", {}, auth.ROLES)
        auth.record(self.settings, user, "me", {}, 200)
        return UserInfo(user_id=user.user_id, name=user.name, role=user.role, store_id=user.store_id,
                        seller_id=user.seller_id)

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
    def strong_pairs(self, ctx: bentoml.Context, store_id: str = STORE, k: int = Field(10, ge=1, le=50)) -> PairsReply:
        """The pairs bought together most strongly, both in stock at the store."""
        request = {"store_id": store_id, "k": k}
        user = self._guard(ctx, "strong_pairs", request, auth.PEOPLE, store_id)
        served = self._model(user, "strong_pairs", request, "cross-sell")
        pairs = served.model.unwrap_python_model().recommender.strong_pairs(store_id, k)
        auth.record(self.settings, user, "strong_pairs", request, 200)
        return PairsReply(store_id=store_id, model_version=served.version, pairs=[Pair(**p) for p in pairs])

    @bentoml.api
    def models(self, ctx: bentoml.Context) -> ModelsReply:
        """Each model's champion, its metrics and plots, and its versions with the gate's decisions
        (analysts, admins)."""
        from serving import model_history

        user = self._guard(ctx, "models", {}, ("analyst", "admin"))
        found = model_history.overview(self.settings)
        auth.record(self.settings, user, "models", {}, 200)
        return ModelsReply(models=[ModelInfo(**m) for m in found])

    @bentoml.api
    def model_plot(self, ctx: bentoml.Context, name: str = Field(pattern="^(stock-forecaster|cross-sell|staffing)$"),
                   version: str = Field(pattern="^[0-9]{1,6}$"), path: str = Field(max_length=200)) -> Plot:
        """One plot of a model version's run, as base64 PNG (analysts, admins)."""
        import base64

        from mlflow.exceptions import MlflowException

        from serving import model_history

        request = {"name": name, "version": version, "path": path}
        user = self._guard(ctx, "model_plot", request, ("analyst", "admin"))
        try:
            png = model_history.plot(self.settings, name, version, path)
        except ValueError as exc:
            self._deny(user, "model_plot", request, HTTPStatus.BAD_REQUEST, str(exc))
        except (MlflowException, OSError) as exc:
            self._deny(user, "model_plot", request, HTTPStatus.NOT_FOUND, f"no such plot: {exc}"[:300])
        auth.record(self.settings, user, "model_plot", request, 200)
        return Plot(name=name, version=version, path=path, png_base64=base64.b64encode(png).decode())

    @bentoml.api
    def run_pipeline(self, ctx: bentoml.Context) -> PipelineRun:
        """Start ``vitrine pipeline run`` now, unless one is running (analysts, admins)."""
        from serving import pipeline_runs

        user = self._guard(ctx, "run_pipeline", {}, ("analyst", "admin"))
        state = pipeline_runs.start(self.settings)
        auth.record(self.settings, user, "run_pipeline", {}, 200)
        return PipelineRun(**state)

    @bentoml.api
    def pipeline_status(self, ctx: bentoml.Context) -> PipelineRun:
        """The last pipeline run asked for through the API: running, succeeded or failed, and its log's end."""
        from serving import pipeline_runs

        user = self._guard(ctx, "pipeline_status", {}, ("analyst", "admin"))
        auth.record(self.settings, user, "pipeline_status", {}, 200)
        return PipelineRun(**pipeline_runs.status(self.settings))

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


class RequestLimits:
    """Every endpoint takes JSON of at most ``VITRINE_MAX_BODY_BYTES``: another body type is a 415 and
    a larger body a 413, here, before BentoML reads it (its form parser answers a malformed
    multipart body with a 500, and nothing else bounds what a client may send). A body without a
    length (chunked) is read here up to the limit."""

    def __init__(self, app) -> None:
        self.app = app
        self.limit = load_settings().max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        kind = headers.get(b"content-type", b"application/json").split(b";")[0].strip().lower()
        if kind != b"application/json":
            await _refuse(send, 415, "send the body as application/json")
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _refuse(send, 413, f"the body is over the limit of {self.limit} bytes")
            return
        if length is None:  # chunked: read it here, up to the limit, then hand it on whole
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if len(body) > self.limit:
                    await _refuse(send, 413, f"the body is over the limit of {self.limit} bytes")
                    return
                if not message.get("more_body", False):
                    break
            receive = _replay(body, receive)
        await self.app(scope, receive, send)


def _replay(body: bytes, rest):
    """An ASGI ``receive`` that gives the body read already, then waits on the connection as before."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return await rest()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


Vitrine.add_asgi_middleware(RequestLimits)

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

import threading
from datetime import date
from http import HTTPStatus

import bentoml
import pandas as pd
from bentoml.exceptions import BentoMLException
from pydantic import BaseModel, Field

from pipelines.settings import load_settings
from serving import auth
from serving.champions import Champions

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


def _token(ctx: bentoml.Context) -> str | None:
    header = ctx.request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _none_if_nan(value):
    return None if value is None or pd.isna(value) else value


@bentoml.service(name="vitrine", traffic={"timeout": 30})
class Vitrine:
    def __init__(self) -> None:
        self.settings = load_settings()
        self.champions = Champions(self.settings)
        self.champions.refresh()
        self._stop = threading.Event()
        threading.Thread(target=self._poll, daemon=True, name="champion-poll").start()

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.model_poll_seconds):
            self.champions.refresh()

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

    def _model(self, user: auth.User, endpoint: str, request: dict, name: str):
        served = self.champions.get(name)
        if served is None:
            self._deny(user, endpoint, request, HTTPStatus.SERVICE_UNAVAILABLE,
                       f"no {name} model is loaded yet: {self.champions.errors.get(name, 'not trained')}")
        return served

    # -- endpoints -------------------------------------------------------------------------------
    @bentoml.api
    def health(self) -> dict:
        """Liveness, no token needed."""
        return {"status": "ok"}

    @bentoml.api
    def readiness(self, ctx: bentoml.Context) -> Readiness:
        """The models being served, their versions and where from; ``degraded`` when the registry is
        unreachable and last good copies serve."""
        self._guard(ctx, "readiness", {}, auth.ROLES)
        status = self.champions.status()
        if status["status"] == "not ready":
            ctx.response.status_code = HTTPStatus.SERVICE_UNAVAILABLE
        return Readiness(**status)

    @bentoml.api
    def reload(self, ctx: bentoml.Context) -> Readiness:
        """Ask the registry for new champions now (admins)."""
        user = self._guard(ctx, "reload", {}, ("admin",))
        self.champions.refresh()
        auth.record(self.settings, user, "reload", {}, 200)
        return Readiness(**self.champions.status())

    @bentoml.api
    def cross_sell(self, ctx: bentoml.Context,
                   basket: list[str] = Field(min_length=1, max_length=50, description="SKUs in the basket"),
                   store_id: str = STORE, k: int = Field(5, ge=1, le=20)) -> CrossSellReply:
        """Ranked suggestions for the basket in front of the seller, each with a reason."""
        request = {"basket": basket, "store_id": store_id, "k": k}
        user = self._guard(ctx, "cross_sell", request, auth.ROLES, store_id)
        served = self._model(user, "cross_sell", request, "cross-sell")
        rows = served.model.predict(pd.DataFrame({"basket": [",".join(basket)], "store_id": [store_id],
                                                  "customer_id": [None], "k": [k]}))
        found = rows[rows["sku"] != ""]
        unknown = [s for s in str(rows["unknown"].iloc[0]).split(",") if s] if len(rows) else []
        auth.record(self.settings, user, "cross_sell", request, 200)
        return CrossSellReply(store_id=store_id, unknown=unknown, model_version=served.version, suggestions=[
            Suggestion(sku=r.sku, name=r.name, score=r.score, margin=_none_if_nan(r.margin), reason=r.reason,
                       source=r.source) for r in found.itertuples(index=False)])

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
        alerts = served.alerts if served.alerts is not None else pd.DataFrame(columns=["store_id"])
        mine = alerts[alerts["store_id"].astype(str) == store_id]
        mine = mine.sort_values("stockout_probability", ascending=False).head(limit)
        auth.record(self.settings, user, "stock_alerts", request, 200)
        return StockAlertsReply(store_id=store_id, model_version=served.version, alerts=[
            StockAlert(sku=str(r.sku), on_hand=float(r.on_hand), days_of_cover=_none_if_nan(r.days_of_cover),
                       stockout_date=_none_if_nan(r.stockout_date), stockout_probability=float(r.stockout_probability),
                       order_quantity=int(r.order_quantity)) for r in mine.itertuples(index=False)])

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

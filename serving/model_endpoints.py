"""The API's endpoints that answer from the served models: cross-sell, demand forecasts and stock
alerts, the staffing plan, the strongest pairs, and the models' own history and plots."""

from __future__ import annotations

from datetime import date
from http import HTTPStatus

import bentoml
import pandas as pd
from pydantic import Field

from serving import auth
from serving.guard import Guarded, none_if_nan
from serving.schemas import (
    STORE,
    CrossSellReply,
    DayForecast,
    ForecastReply,
    ModelInfo,
    ModelsReply,
    Pair,
    PairsReply,
    PeakWindow,
    PlanHour,
    Plot,
    StaffingReply,
    StockAlert,
    StockAlertsReply,
    Suggestion,
)
from warehouse.privacy import pseudonymise


class ModelEndpoints(Guarded):
    """Endpoints answered by the champions (serving/champions.py)."""

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
                on_hand=float(r.on_hand), days_of_cover=none_if_nan(r.days_of_cover),
                stockout_date=none_if_nan(r.stockout_date), stockout_probability=float(r.stockout_probability),
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
                            scheduled=none_if_nan(r.scheduled), gap=none_if_nan(r.gap),
                            sales_at_risk=float(r.sales_at_risk), peak=bool(r.peak)) for r in plan.itertuples(index=False)],
            peaks=[PeakWindow(date=pd.Timestamp(w.date).date(), start=w.start, end=w.end)
                   for w in peak_windows(plan).itertuples(index=False)])

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

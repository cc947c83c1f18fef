"""The API's endpoints a store runs itself with: alerts and their rules, refused sales, reports."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from http import HTTPStatus
from zoneinfo import ZoneInfo

import bentoml
from pydantic import Field

from serving import auth, reports
from serving.guard import Guarded
from serving.schemas import (
    ROW_ID_MAX,
    STORE,
    Alert,
    AlertRulesChange,
    AlertRulesReply,
    AlertsReply,
    RefusedLine,
    RefusedReply,
    ReportContent,
    ReportIn,
    ReportsReply,
)
from warehouse import alert_rules, live_sales
from warehouse import alerts as alerts_store
from warehouse import reports as report_store


class StoreEndpoints(Guarded):
    """Endpoints over a store's alerts, rules and reports, kept in the warehouse's local stores."""

    @bentoml.api
    def alerts(self, ctx: bentoml.Context, store_id: str | None = Field(None, max_length=40),
               after_id: int = Field(0, ge=0, le=ROW_ID_MAX), limit: int = Field(50, ge=1, le=500),
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
    def reports(self, ctx: bentoml.Context, store_id: str = STORE, save: ReportIn | None = None,
                delete_id: int | None = Field(None, ge=1, le=ROW_ID_MAX)) -> ReportsReply:
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
    def report_preview(self, ctx: bentoml.Context, store_id: str = STORE, report_id: int | None = Field(None, ge=1, le=ROW_ID_MAX),
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

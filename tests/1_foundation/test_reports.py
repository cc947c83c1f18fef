"""Reports a manager shapes: kept per store, replaced and deleted only there, every change audited
with the definition before and after, a bad definition refused naming the field, and each schedule
due on its days."""

from __future__ import annotations

from datetime import date

import pytest

from warehouse import reports
from warehouse.reports import Report, ReportError


def test_reports_are_kept_per_store_replaced_and_deleted(settings):
    daily = reports.save(settings, "L1", Report("Fechamento", ("sales", "tickets")), "Gil (#3)")
    weekly = reports.save(settings, "L1", Report("Semana", ("commission",), "week", "each_seller", "weekly"), "Gil (#3)")
    assert [r.name for r in reports.of_store(settings, "L1")] == ["Fechamento", "Semana"]
    assert reports.of_store(settings, "L2") == []
    reports.save(settings, "L1", Report("Fechamento", ("sales", "attainment_pct"), report_id=daily.report_id), "Gil (#3)")
    assert reports.of_store(settings, "L1")[0].metrics == ("sales", "attainment_pct")
    with pytest.raises(ReportError, match="report_id: no report"):  # another store's report cannot be replaced
        reports.save(settings, "L2", Report("X", ("sales",), report_id=weekly.report_id), "Ana (#1)")
    assert not reports.delete(settings, "L2", weekly.report_id, "Ana (#1)")
    assert reports.delete(settings, "L1", weekly.report_id, "Gil (#3)")
    assert [r.name for r in reports.of_store(settings, "L1")] == ["Fechamento"]
    reports.save(settings, "L1", reports.of_store(settings, "L1")[0], "Gil (#3)")  # saved unchanged: nothing to audit
    assert [c["action"] for c in reports.changes_of(settings, "L1")] == ["deleted", "changed", "created", "created"]


def test_every_change_to_a_report_is_audited_with_before_and_after(settings):
    daily = reports.save(settings, "L1", Report("Fechamento", ("sales",)), "Gil (#3)")
    reports.save(settings, "L1", Report("Fechamento", ("sales", "tickets"), report_id=daily.report_id), "Bia (#4)")
    with pytest.raises(ReportError):
        reports.save(settings, "L1", Report("Fechamento", ("gossip",), report_id=daily.report_id), "Bia (#4)")
    reports.delete(settings, "L1", daily.report_id, "Gil (#3)")
    trail = reports.changes_of(settings, "L1")
    assert [(c["action"], c["changed_by"], c["report_id"]) for c in trail] == [
        ("deleted", "Gil (#3)", daily.report_id), ("changed", "Bia (#4)", daily.report_id),
        ("created", "Gil (#3)", daily.report_id)]
    deleted, changed, created = trail
    assert created["old"] is None and created["new"]["metrics"] == ["sales"]
    assert changed["old"]["metrics"] == ["sales"] and changed["new"]["metrics"] == ["sales", "tickets"]
    assert deleted["old"] == changed["new"] and deleted["new"] is None
    assert reports.changes_of(settings, "L2") == []


@pytest.mark.parametrize(("report", "message"), [
    (Report("", ("sales",)), "name: 1 to 60"),
    (Report("R", ()), "metrics: one or more"),
    (Report("R", ("sales", "gossip")), "'gossip' is not one"),
    (Report("R", ("sales", "sales")), "each once"),
    (Report("R", ("sales",), grain="year"), "grain: 'year' is not one of day, week, month"),
    (Report("R", ("sales",), schedule="hourly"), "schedule: 'hourly'"),
])
def test_a_bad_definition_names_the_field_and_stores_nothing(settings, report, message):
    with pytest.raises(ReportError, match=message):
        reports.save(settings, "L1", report, "Gil (#3)")
    assert reports.of_store(settings, "L1") == [] and reports.changes_of(settings, "L1") == []


def test_each_schedule_is_due_on_its_days():
    monday, first = date(2026, 11, 2), date(2026, 11, 1)  # 01/11/2026 is a Sunday
    due = {s: (Report("R", ("sales",), schedule=s).due(monday), Report("R", ("sales",), schedule=s).due(first))
           for s in reports.SCHEDULES}
    assert due == {"daily": (True, True), "weekly": (True, False), "monthly": (False, True), "none": (False, False)}

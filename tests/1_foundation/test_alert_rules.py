"""A store's alert rules: sensible defaults, changes audited field by field, a bad change refused
with the field named and nothing stored, quiet hours across midnight."""

from __future__ import annotations

from datetime import time

import pytest

from warehouse import alert_rules
from warehouse.alert_rules import DEFAULTS, RuleError


def test_a_store_nobody_configured_runs_on_the_defaults(settings):
    rules = alert_rules.rules_of(settings, "L1")
    assert rules == DEFAULTS and all(rules.enabled.values())
    assert rules.to("stock_risk", "manager") and not rules.to("stock_risk", "seller")
    assert rules.to("seller_milestone", "seller") and rules.to("stock_risk", "admin")
    assert not rules.quiet(time(3, 0))


def test_changes_are_kept_per_store_and_audited(settings):
    changed = alert_rules.change(settings, "L1", "Gil (#3)", enabled={"behind_pace": False}, stock_risk_pct=70,
                                 quiet_from="21:00", quiet_to="08:00")
    assert not changed.enabled["behind_pace"] and changed.enabled["stock_risk"]  # one kind off, the others kept
    assert alert_rules.rules_of(settings, "L1") == changed and alert_rules.rules_of(settings, "L2") == DEFAULTS
    assert changed.quiet(time(23, 30)) and changed.quiet(time(7, 59)) and not changed.quiet(time(8, 0))
    alert_rules.change(settings, "L1", "Ana (#1)", milestones_pct=[50, 100], audience={"behind_pace": "manager"})
    history = alert_rules.changes_of(settings, "L1")
    assert [(c["changed_by"], c["field"]) for c in history] == [
        ("Ana (#1)", "milestones_pct"), ("Ana (#1)", "audience"), ("Gil (#3)", "quiet_to"),
        ("Gil (#3)", "quiet_from"), ("Gil (#3)", "stock_risk_pct"), ("Gil (#3)", "enabled")]  # newest first
    assert (history[0]["old"], history[0]["new"]) == ([50, 75, 100, 120], [50, 100])
    alert_rules.change(settings, "L1", "Ana (#1)", stock_risk_pct=70)  # no change: nothing to audit
    assert len(alert_rules.changes_of(settings, "L1")) == 6


@pytest.mark.parametrize(("change", "message"), [
    ({"milestones_pct": [100, 50]}, "milestones_pct: one to six rising"),
    ({"stock_risk_pct": 5}, "stock_risk_pct: between 10 and 99"),
    ({"quiet_from": "22:00"}, "quiet_from, quiet_to: give both"),
    ({"quiet_from": "25:00", "quiet_to": "08:00"}, "quiet_from: '25:00' is not a time"),
    ({"enabled": {"gossip": True}}, "enabled: unknown kind 'gossip'"),
    ({"audience": {"stock_risk": "everyone"}}, "audience: 'everyone' is not one of seller, manager, both"),
    ({"volume": 11}, "volume: not a rule"),
])
def test_a_bad_change_names_the_field_and_stores_nothing(settings, change, message):
    alert_rules.change(settings, "L1", "Gil (#3)", stock_risk_pct=60)
    with pytest.raises(RuleError, match=message):
        alert_rules.change(settings, "L1", "Gil (#3)", behind_pace_pct=30, **change)
    assert alert_rules.rules_of(settings, "L1").behind_pace_pct == DEFAULTS.behind_pace_pct
    assert alert_rules.rules_of(settings, "L1").stock_risk_pct == 60

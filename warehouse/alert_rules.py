"""Each store's alert rules, set by its manager without support: which kinds are on, who gets them,
their thresholds, and the quiet hours when nothing is pushed. Every change is audited (who, when,
what was before and after). A store nobody configured runs on ``DEFAULTS``.

Kinds (raised on the live path, serving/live_alerts.py):

* ``seller_milestone`` / ``team_milestone``: a seller, or the team, passing a share of the month's
  target (``milestones_pct``);
* ``behind_pace``: a seller whose month so far trails the pace the target needs by more than
  ``behind_pace_pct`` (told once a day);
* ``stock_risk``: a sale takes a product's chance of running out before the next delivery past
  ``stock_risk_pct``;
* ``below_forecast``: a product sold under the forecast's P10 over the last ``below_window_days``
  (checked at each pipeline run, warehouse/expectations.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, time

from warehouse.alerts import database
from warehouse.settings import Settings

KINDS = ("seller_milestone", "team_milestone", "behind_pace", "stock_risk", "below_forecast")
AUDIENCES = ("seller", "manager", "both")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class AlertRules:
    enabled: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, True))
    audience: dict[str, str] = field(default_factory=lambda: {
        "seller_milestone": "both", "team_milestone": "both", "behind_pace": "both", "stock_risk": "manager",
        "below_forecast": "manager"})
    milestones_pct: tuple[int, ...] = (50, 75, 100, 120)
    behind_pace_pct: float = 20.0  # the month so far this far below the target's pace (%) is worth a word
    stock_risk_pct: float = 80.0  # chance of running out before the next delivery (%)
    below_window_days: int = 7  # the days a product's sales are held against the forecast's P10
    quiet_from: str | None = None  # "HH:MM", the stores' time zone; both or neither
    quiet_to: str | None = None

    def to(self, kind: str, role: str) -> bool:
        """Whether ``kind`` goes to people of ``role`` (analysts and admins see every kind)."""
        if role in ("analyst", "admin"):
            return True
        return self.audience[kind] in (role, "both")

    def quiet(self, now: time) -> bool:
        """Whether ``now`` is within the quiet hours (which may span midnight)."""
        if self.quiet_from is None or self.quiet_to is None:
            return False
        start, end = time.fromisoformat(self.quiet_from), time.fromisoformat(self.quiet_to)
        return start <= now < end if start <= end else now >= start or now < end


DEFAULTS = AlertRules()


class RuleError(ValueError):
    """A change the rules cannot take; the message names the field and what it must be."""


def _checked(rules: AlertRules) -> AlertRules:
    for name, values, allowed in (("enabled", rules.enabled, None), ("audience", rules.audience, AUDIENCES)):
        unknown = set(values) - set(KINDS)
        if unknown:
            raise RuleError(f"{name}: unknown kind {min(unknown)!r}; kinds are {', '.join(KINDS)}")
        bad = [v for v in values.values() if allowed is not None and v not in allowed]
        if bad:
            raise RuleError(f"{name}: {bad[0]!r} is not one of {', '.join(allowed)}")
    milestones = rules.milestones_pct
    if not milestones or list(milestones) != sorted(set(milestones)) or not all(1 <= m <= 300 for m in milestones):
        raise RuleError("milestones_pct: one to six rising percentages between 1 and 300, e.g. 50, 100, 120")
    if len(milestones) > 6:
        raise RuleError("milestones_pct: at most six milestones")
    if not 5 <= rules.behind_pace_pct <= 90:
        raise RuleError("behind_pace_pct: between 5 and 90 (% below the pace the target needs)")
    if not 10 <= rules.stock_risk_pct <= 99:
        raise RuleError("stock_risk_pct: between 10 and 99 (% chance of running out)")
    if not 3 <= rules.below_window_days <= 28:
        raise RuleError("below_window_days: between 3 and 28 days")
    if (rules.quiet_from is None) != (rules.quiet_to is None):
        raise RuleError("quiet_from, quiet_to: give both (HH:MM) or neither")
    for name in ("quiet_from", "quiet_to"):
        value = getattr(rules, name)
        if value is not None and not CLOCK.match(value):
            raise RuleError(f"{name}: {value!r} is not a time HH:MM (00:00 to 23:59)")
    return rules


def rules_of(settings: Settings, store_id: str) -> AlertRules:
    """The store's rules (the defaults where its manager set nothing)."""
    with database(settings) as db:
        row = db.execute("SELECT rules FROM alert_rules WHERE store_id = ?", (store_id,)).fetchone()
    if row is None:
        return DEFAULTS
    stored = json.loads(row[0])
    return replace(DEFAULTS, **{**stored, "milestones_pct": tuple(stored["milestones_pct"]),
                                "enabled": {**DEFAULTS.enabled, **stored["enabled"]},
                                "audience": {**DEFAULTS.audience, **stored["audience"]}})


def change(settings: Settings, store_id: str, changed_by: str, **changes) -> AlertRules:
    """Apply ``changes`` (fields of AlertRules; ``enabled`` and ``audience`` merge per kind) to the
    store's rules, audit each field that changed, and return the new rules; RuleError (nothing
    stored) when the result is not valid."""
    unknown = set(changes) - set(AlertRules.__dataclass_fields__)
    if unknown:
        raise RuleError(f"{min(unknown)}: not a rule; rules are {', '.join(AlertRules.__dataclass_fields__)}")
    current = rules_of(settings, store_id)
    merged = {**changes}
    for name in ("enabled", "audience"):
        if name in changes:
            merged[name] = {**getattr(current, name), **changes[name]}
    if "milestones_pct" in changes:
        merged["milestones_pct"] = tuple(changes["milestones_pct"])
    new = _checked(replace(current, **merged))
    before, after = asdict(current), asdict(new)
    changed = [name for name in after if before[name] != after[name]]
    if not changed:
        return new
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with database(settings) as db:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO alert_rules (store_id, rules) VALUES (?, ?) ON CONFLICT (store_id) DO UPDATE SET "
                   "rules = excluded.rules", (store_id, json.dumps(after)))
        db.executemany("INSERT INTO alert_rule_changes (store_id, changed_by, changed_at, field, old, new) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       [(store_id, changed_by, now, name, json.dumps(before[name]), json.dumps(after[name]))
                        for name in changed])
        db.execute("COMMIT")
    return new


def changes_of(settings: Settings, store_id: str, limit: int = 20) -> list[dict]:
    """The store's latest rule changes, newest first."""
    with database(settings) as db:
        rows = db.execute("SELECT changed_by, changed_at, field, old, new FROM alert_rule_changes WHERE store_id = ? "
                          "ORDER BY change_id DESC LIMIT ?", (store_id, limit)).fetchall()
    return [{"changed_by": r[0], "changed_at": r[1], "field": r[2], "old": json.loads(r[3]), "new": json.loads(r[4])}
            for r in rows]

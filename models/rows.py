"""Each published record's database row: one pure function per record type, no I/O.

The sink writes what these return and nothing else, so every column is filled in one
place. ``NOT_STORED`` names the wire fields the database deliberately does not keep, and
why: tests/unit/test_rows.py holds every field of a mapped record to one or the other, so a
new wire field cannot be dropped silently.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from models.events import AlertEvent, LocationFix, PointsEntry, Recommendation
from models.ids import derive_id

Row = dict[str, Any]

NOT_STORED: dict[type[Any], dict[str, str]] = {
    PointsEntry: {},
    AlertEvent: {"zone": "the office's zone: offices.zone, joined where needed"},
    Recommendation: {},
    LocationFix: {
        "device_id": "the map and tracks show the subject, not which device reported",
        "battery_pct": "device health is not kept with positions",
        "key_id": "checked by the worker; the input topic keeps the signed record",
        "sig": "checked by the worker; the input topic keeps the signed record",
        "datum": "positions are converted to WGS-84 at the door: every stored one is WGS-84",
    },
}

# The columns an officer's decision sets on the proposed row (the rest never change).
DECISION_COLUMNS = ("status", "decided_by", "decided_at", "decision_note")


def points_entry_row(e: PointsEntry) -> Row:
    """The points_entries row of a ledger entry."""
    return {
        "id": e.entry_id,
        "subject_id": e.subject_id,
        "office_id": e.office_id,
        "occurred_at": e.occurred_at,
        "local_month": e.local_month,
        "ruleset_id": e.ruleset_id,
        "ruleset_version": e.ruleset_version,
        "rule_id": e.rule_id,
        "rule_version": e.rule_version,
        "delta": e.delta,
        "evidence": list(e.evidence),
        "reason_zh": e.reason_zh,
        "reason_en": e.reason_en,
        "recorded_at": e.recorded_at,
        "reverses_entry_id": e.reverses_entry_id,
        "corrects_month": e.corrects_month,
    }


class AlertRows(NamedTuple):
    alert: Row
    """``opened``: the whole alerts row to insert; a later step: the columns it sets."""
    transition: Row
    """The alert_transitions row of the step."""


def alert_rows(e: AlertEvent) -> AlertRows:
    """What one lifecycle step writes: its alert's row (or changes to it) and its transition."""
    return AlertRows(
        _opened_alert(e) if e.transition == "opened" else _alert_changes(e),
        {
            "id": e.transition_id,
            "alert_id": e.alert_id,
            "transition": e.transition,
            "actor": e.actor,
            "occurred_at": e.occurred_at,
            "recorded_at": e.recorded_at,
            "evidence": list(e.evidence),
            "note": e.reason_en,
        },
    )


def _opened_alert(e: AlertEvent) -> Row:
    return {
        "id": e.alert_id,
        "subject_id": e.subject_id,
        "office_id": e.office_id,
        "alert_type": e.alert_type,
        "severity": e.severity,
        "state": "open",
        "rule": e.rule,
        "evidence": list(e.evidence),
        "reason_zh": e.reason_zh,
        "reason_en": e.reason_en,
        "opened_at": e.occurred_at,
        "raised_at": e.recorded_at,
        "resolved_at": None,
        "acknowledged_at": None,
        "sla_due_at": e.sla_due,
        "escalated": False,
        "assignee": e.assignee,
        "outcome": e.outcome,
        "lat": e.lat,
        "lon": e.lon,
        "accuracy_m": e.accuracy_m,
    }


def _alert_changes(e: AlertEvent) -> Row:
    """The columns a lifecycle step after ``opened`` sets on its alert's row."""
    if e.transition == "acknowledged":
        return {"state": "acknowledged", "acknowledged_at": e.occurred_at}
    if e.transition == "dispatched":
        return {"state": "dispatched", "assignee": e.assignee}
    if e.transition == "escalated":
        return {"escalated": True, "assignee": e.assignee}
    return {"state": "resolved", "resolved_at": e.occurred_at, "outcome": e.outcome}


def recommendation_row(r: Recommendation) -> Row:
    """The recommendations row; a decision updates only its ``DECISION_COLUMNS``."""
    return {
        "id": r.recommendation_id,
        "subject_id": r.subject_id,
        "office_id": r.office_id,
        "kind": r.kind,
        "month": r.month,
        "ruleset_id": r.ruleset_id,
        "ruleset_version": r.ruleset_version,
        "evidence": list(r.evidence),
        "reason_zh": r.reason_zh,
        "reason_en": r.reason_en,
        "level_from": r.level_from,
        "level_to": r.level_to,
        "occurred_at": r.occurred_at,
        "recorded_at": r.recorded_at,
        "status": r.status,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "decision_note": r.decision_note,
    }


def position_row(f: LocationFix) -> Row:
    """The positions row of a fix: its id, from the subject and the event id (ids are scoped
    per subject), makes a repeat a no-op."""
    return {
        "id": derive_id("position", f.subject_id, f.event_id),
        "subject_id": f.subject_id,
        "at": f.occurred_at,
        "lat": f.lat,
        "lon": f.lon,
        "accuracy_m": f.accuracy_m,
        "source": f.source,
    }

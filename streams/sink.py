"""Batched, idempotent writes of alerts and points entries to the database.

Ids come from the evidence, so inserts ignore rows that already exist: a redelivered
record changes nothing. One transaction per batch, never one per event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, get_args

from sqlalchemy import Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from models.events import AlertEvent, AlertType, LocationFix, PointsEntry, Recommendation
from models.ids import derive_id
from models.localtime import LOCAL_TZ
from models.records import (
    Alert,
    AlertTransitionRow,
    PointsEntryRow,
    Position,
    RecommendationRow,
    ZeroReport,
)
from models.reference import Level, Office, Subject
from models.values import SecurityPeriod

log = logging.getLogger(__name__)
ALERT_TYPES: tuple[str, ...] = get_args(AlertType)


class DatabaseSink:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def _insert_ignore(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        stmt = self._insert(table).on_conflict_do_nothing().returning(table.c.id)
        return len(conn.execute(stmt, rows).all())  # RETURNING yields only the new rows

    def write_points(self, entries: Sequence[PointsEntry]) -> int:
        """Insert new ledger entries; returns how many were new."""
        rows = [
            {
                "id": e.entry_id,
                "subject_id": e.subject_id,
                "office_id": e.office_id,
                "occurred_at": e.occurred_at,
                "local_month": e.local_month,
                "ruleset_id": e.ruleset_id,
                "ruleset_version": e.ruleset_version,
                "rule_id": e.rule_id,
                "delta": e.delta,
                "evidence": list(e.evidence),
                "reason_zh": e.reason_zh,
                "reason_en": e.reason_en,
                "recorded_at": e.recorded_at,
                "reverses_entry_id": e.reverses_entry_id,
            }
            for e in entries
        ]
        with self.engine.begin() as conn:
            return self._insert_ignore(conn, PointsEntryRow.__table__, rows)  # type: ignore[arg-type]

    def write_alerts(self, events: Sequence[AlertEvent]) -> int:
        """Apply alert transitions in order; returns how many transitions were new."""
        new = 0
        with self.engine.begin() as conn:
            for e in events:
                if e.transition == "opened":
                    self._insert_ignore(conn, Alert.__table__, [_alert_row(e)])  # type: ignore[arg-type]
                else:
                    conn.execute(
                        update(Alert)
                        .where(Alert.id == e.alert_id, Alert.state != "resolved")
                        .values(**_changes(e))
                    )
                exists = conn.scalar(select(Alert.id).where(Alert.id == e.alert_id))
                if exists is None:
                    # Another alert of this type is already open for the subject (e.g. state
                    # lost in a worker restart): the database keeps the first one.
                    log.info("alert %s not recorded: one of its type is open", e.alert_id)
                    continue
                new += self._insert_ignore(
                    conn,
                    AlertTransitionRow.__table__,  # type: ignore[arg-type]
                    [
                        {
                            "id": e.transition_id,
                            "alert_id": e.alert_id,
                            "transition": e.transition,
                            "actor": e.actor,
                            "occurred_at": e.occurred_at,
                            "recorded_at": e.recorded_at,
                            "evidence": list(e.evidence),
                            "note": e.reason_en,
                        }
                    ],
                )
        return new

    def write_recommendations(self, recs: Sequence[Recommendation]) -> int:
        """Insert proposals; record decisions once. A confirmed level change sets the level."""
        new = 0
        with self.engine.begin() as conn:
            for r in recs:
                new += self._insert_ignore(conn, RecommendationRow.__table__, [_rec_row(r)])  # type: ignore[arg-type]
                if r.status == "proposed":
                    continue
                decided = conn.execute(
                    update(RecommendationRow)
                    .where(
                        RecommendationRow.id == r.recommendation_id,
                        RecommendationRow.status == "proposed",
                    )
                    .values(
                        status=r.status,
                        decided_by=r.decided_by,
                        decided_at=r.decided_at,
                        decision_note=r.decision_note,
                    )
                )
                new += decided.rowcount
                if decided.rowcount and r.status == "confirmed" and r.level_to:
                    conn.execute(
                        update(Subject)
                        .where(Subject.id == r.subject_id)
                        .values(level=Level(r.level_to))
                    )
        return new

    def write_positions(self, fixes: Sequence[LocationFix]) -> int:
        """Keep fixes for the map and tracks (the fix's event id makes repeats no-ops)."""
        rows = [
            {
                "id": f.event_id,
                "subject_id": f.subject_id,
                "at": f.occurred_at,
                "lat": f.lat,
                "lon": f.lon,
                "accuracy_m": f.accuracy_m,
                "source": f.source,
            }
            for f in fixes
        ]
        with self.engine.begin() as conn:
            return self._insert_ignore(conn, Position.__table__, rows)  # type: ignore[arg-type]

    def open_alert_counts(self) -> dict[tuple[str, str], int]:
        """Alerts not resolved, by type and zone (every combination seen, zeros included)."""
        with self.engine.connect() as conn:
            zones = [z.value for z in conn.scalars(select(Office.zone).distinct())]
            counts = dict.fromkeys(((k, z) for k in ALERT_TYPES for z in zones), 0)
            rows = conn.execute(
                select(Alert.alert_type, Office.zone, func.count())
                .join(Office, Office.id == Alert.office_id)
                .where(Alert.state != "resolved")
                .group_by(Alert.alert_type, Office.zone)
            ).tuples()
            for kind, zone, n in rows:
                counts[kind, zone.value] = n
        return counts

    def write_zero_reports(
        self, day: date, periods: Sequence[SecurityPeriod], now: datetime
    ) -> int:
        """Each office's daily report (零报告) for a local day that a security period
        touches: how many alerts its subjects raised that day and how many are open."""
        start = datetime.combine(day, time(), LOCAL_TZ)
        end = start + timedelta(days=1)
        rows = []
        with self.engine.begin() as conn:
            for office_id in conn.scalars(select(Office.id).order_by(Office.id)):
                period = next(
                    (
                        p
                        for p in periods
                        if p.starts_at < end
                        and p.ends_at > start
                        and (not p.offices or office_id in p.offices)
                    ),
                    None,
                )
                if period is None:
                    continue
                mine = Alert.office_id == office_id
                opened = (
                    conn.scalar(
                        select(func.count())
                        .select_from(Alert)
                        .where(mine, Alert.opened_at >= start, Alert.opened_at < end)
                    )
                    or 0
                )
                still = (
                    conn.scalar(
                        select(func.count())
                        .select_from(Alert)
                        .where(mine, Alert.opened_at < end, Alert.state != "resolved")
                    )
                    or 0
                )
                rows.append(
                    {
                        "id": derive_id("zero-report", office_id, day.isoformat()),
                        "office_id": office_id,
                        "day": day,
                        "period_id": period.id,
                        "alerts_opened": opened,
                        "alerts_open": still,
                        "status": "zero" if opened == 0 and still == 0 else "incidents",
                        "recorded_at": now,
                    }
                )
            return self._insert_ignore(conn, ZeroReport.__table__, rows)  # type: ignore[arg-type]


def _rec_row(r: Recommendation) -> dict[str, Any]:
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


def _changes(e: AlertEvent) -> dict[str, Any]:
    """The columns a lifecycle step sets on its alert's row."""
    if e.transition == "acknowledged":
        return {"state": "acknowledged", "acknowledged_at": e.occurred_at}
    if e.transition == "dispatched":
        return {"state": "dispatched", "assignee": e.assignee}
    if e.transition == "escalated":
        return {"escalated": True, "assignee": e.assignee}
    return {"state": "resolved", "resolved_at": e.occurred_at, "outcome": e.outcome}


def _alert_row(e: AlertEvent) -> dict[str, Any]:
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
        "sla_due_at": e.sla_due,
        "escalated": False,
        "raised_at": e.recorded_at,
        "resolved_at": None,
        "lat": e.lat,
        "lon": e.lon,
        "accuracy_m": e.accuracy_m,
    }

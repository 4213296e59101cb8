"""Batched, idempotent writes of alerts and points entries to the database.

Ids come from the evidence, so inserts ignore rows that already exist: a redelivered
record changes nothing. One transaction per batch, never one per event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, get_args

from sqlalchemy import ColumnElement, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from alerts.zero_reports import AlertTally, day_window, owed, zero_reports
from models.events import AlertEvent, AlertType, LocationFix, PointsEntry, Recommendation
from models.records import (
    Alert,
    AlertTransitionRow,
    PointsEntryRow,
    Position,
    RecommendationRow,
    ZeroReport,
)
from models.reference import Level, Office, Subject
from models.rows import (
    DECISION_COLUMNS,
    alert_rows,
    points_entry_row,
    position_row,
    recommendation_row,
)
from models.values import SecurityPeriod
from scoring.levels import level_set_by

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
        rows = [points_entry_row(e) for e in entries]
        with self.engine.begin() as conn:
            return self._insert_ignore(conn, PointsEntryRow.__table__, rows)  # type: ignore[arg-type]

    def write_alerts(self, events: Sequence[AlertEvent]) -> int:
        """Apply alert transitions in order; returns how many transitions were new."""
        new = 0
        with self.engine.begin() as conn:
            for e in events:
                alert, transition = alert_rows(e)
                if e.transition == "opened":
                    self._insert_ignore(conn, Alert.__table__, [alert])  # type: ignore[arg-type]
                else:
                    conn.execute(
                        update(Alert)
                        .where(Alert.id == e.alert_id, Alert.state != "resolved")
                        .values(**alert)
                    )
                exists = conn.scalar(select(Alert.id).where(Alert.id == e.alert_id))
                if exists is None:
                    # Another alert of this type is already open for the subject (e.g. state
                    # lost in a worker restart): the database keeps the first one.
                    log.info("alert %s not recorded: one of its type is open", e.alert_id)
                    continue
                new += self._insert_ignore(conn, AlertTransitionRow.__table__, [transition])  # type: ignore[arg-type]
        return new

    def write_recommendations(self, recs: Sequence[Recommendation]) -> int:
        """Insert proposals; record decisions once, and the level a first decision sets."""
        new = 0
        with self.engine.begin() as conn:
            for r in recs:
                row = recommendation_row(r)
                new += self._insert_ignore(conn, RecommendationRow.__table__, [row])  # type: ignore[arg-type]
                if r.status == "proposed":
                    continue
                decided = conn.execute(
                    update(RecommendationRow)
                    .where(
                        RecommendationRow.id == r.recommendation_id,
                        RecommendationRow.status == "proposed",
                    )
                    .values({c: row[c] for c in DECISION_COLUMNS})
                )
                new += decided.rowcount
                level = level_set_by(r)
                if decided.rowcount and level is not None:
                    conn.execute(
                        update(Subject).where(Subject.id == r.subject_id).values(level=Level(level))
                    )
        return new

    def write_positions(self, fixes: Sequence[LocationFix]) -> int:
        """Keep fixes for the map and tracks (the fix's event id makes repeats no-ops)."""
        rows = [position_row(f) for f in fixes]
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
        touches (:mod:`alerts.zero_reports` decides); returns how many were new."""
        with self.engine.begin() as conn:
            due = owed(day, conn.scalars(select(Office.id).order_by(Office.id)), periods)
            if not due:
                return 0
            tallies = _alert_tallies(conn, list(due), day)
            rows = [asdict(r) for r in zero_reports(day, due, tallies, now)]
            return self._insert_ignore(conn, ZeroReport.__table__, rows)  # type: ignore[arg-type]


def _alert_tallies(conn: Connection, offices: list[str], day: date) -> dict[str, AlertTally]:
    """Per office: alerts opened during the local day, and those opened by its end and
    not resolved."""
    start, end = day_window(day)

    def per_office(*where: ColumnElement[bool]) -> dict[str, int]:
        query = select(Alert.office_id, func.count()).where(Alert.office_id.in_(offices), *where)
        return dict(conn.execute(query.group_by(Alert.office_id)).tuples().all())

    opened = per_office(Alert.opened_at >= start, Alert.opened_at < end)
    still = per_office(Alert.opened_at < end, Alert.state != "resolved")
    return {o: AlertTally(opened.get(o, 0), still.get(o, 0)) for o in {*opened, *still}}

"""What ccwatch decides: alerts with their transitions, and the points ledger.

Ids are derived from the evidence, so a redelivered event maps onto the row it made.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class Alert(TimestampMixin, Base):
    """An alert for the command center; at most one open per subject and type."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    alert_type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[list[str]] = mapped_column(JSON)
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(doc="Event time of the first evidence.")
    raised_at: Mapped[datetime] = mapped_column(doc="Processing time the alert was raised.")
    resolved_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime | None]
    escalated: Mapped[bool] = mapped_column(default=False, server_default="0")
    assignee: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    accuracy_m: Mapped[float | None]

    __table_args__ = (
        Index(
            "uq_alerts_one_open_per_subject_type",
            "subject_id",
            "alert_type",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
    )


class AlertTransitionRow(Base):
    """One step of an alert's lifecycle, with who and when."""

    __tablename__ = "alert_transitions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    transition: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    evidence: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")


class PointsEntryRow(Base):
    """An append-only ledger entry; corrections reference the entry they reverse."""

    __tablename__ = "points_entries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    occurred_at: Mapped[datetime]
    local_month: Mapped[str] = mapped_column(String(7))
    ruleset_id: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int]
    delta: Mapped[int]
    evidence: Mapped[list[str]] = mapped_column(JSON)
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    reverses_entry_id: Mapped[str | None] = mapped_column(ForeignKey("points_entries.id"))
    corrects_month: Mapped[str | None] = mapped_column(
        String(7), doc="A late entry: the closed month its event belongs to."
    )

    __table_args__ = (Index("ix_points_entries_subject_month", "subject_id", "local_month"),)


class ClosedMonth(Base):
    """A local month whose close was requested: its points are final. Events that reach
    Kafka afterwards are booked in the first open month (scoring.ledger)."""

    __tablename__ = "closed_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(doc="When the close was requested.")
    requested_by: Mapped[str] = mapped_column(String(64))


class WatchStart(Base):
    """When ccwatch began watching this database: one row, written by the first worker to
    start on it (models.closes.record_watch_start). No month or part of a month before it
    is judged (scoring.ledger)."""

    __tablename__ = "watch_started"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    started_at: Mapped[datetime] = mapped_column(
        doc="That start's processing time, or the earliest event ccwatch had decided on."
    )


class RecommendationRow(Base):
    """A proposed reward, sanction or level change, and the officer's decision on it."""

    __tablename__ = "recommendations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7), index=True)
    ruleset_id: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[list[str]] = mapped_column(JSON)
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    level_from: Mapped[str | None] = mapped_column(String(16))
    level_to: Mapped[str | None] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")


class ZeroReport(Base):
    """An office's daily report during a security period (零报告): nothing, or incidents."""

    __tablename__ = "zero_reports"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    period_id: Mapped[str] = mapped_column(String(64))
    alerts_opened: Mapped[int]
    alerts_open: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), doc="zero | incidents")
    recorded_at: Mapped[datetime]


class Position(Base):
    """A location fix kept for the map and the subject page (recent track)."""

    __tablename__ = "positions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True, doc="The fix's event id")
    subject_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    lat: Mapped[float]
    lon: Mapped[float]
    accuracy_m: Mapped[float]
    source: Mapped[str] = mapped_column(String(8))

    __table_args__ = (Index("ix_positions_subject_at", "subject_id", "at"),)

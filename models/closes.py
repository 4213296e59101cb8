"""The record of closed months: written when a close is requested (``ccwatch close`` and
the workers' month-close timer), read into the registry (:mod:`models.registry`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from models.records import ClosedMonth


def record_close(engine: Engine, month: str, requested_by: str, at: datetime) -> bool:
    """Record that ``month`` is closed as of ``at``, unless it already is (the first
    request counts). Returns whether it was new."""
    with engine.begin() as conn:
        if conn.scalar(select(ClosedMonth.month).where(ClosedMonth.month == month)):
            return False
        conn.execute(
            ClosedMonth.__table__.insert().values(  # type: ignore[attr-defined]
                month=month, closed_at=at, requested_by=requested_by
            )
        )
    return True

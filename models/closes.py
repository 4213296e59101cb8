"""What the ledger may judge, as recorded when it happens: when ccwatch began watching the
database (the first worker's start) and which months are closed (``ccwatch close`` and the
workers' month-close timer). Both are read into the registry (:mod:`models.registry`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from models.base import Base
from models.records import AlertTransitionRow, ClosedMonth, PointsEntryRow, WatchStart


def record_close(engine: Engine, month: str, requested_by: str, at: datetime) -> bool:
    """Record that ``month`` is closed as of ``at``, unless it already is (the first
    request counts). Returns whether it was new."""
    return _first(
        engine, ClosedMonth, ClosedMonth.month == month,
        month=month, closed_at=at, requested_by=requested_by,
    )  # fmt: skip


def record_watch_start(engine: Engine, at: datetime) -> bool:
    """Record that ccwatch began watching the database at ``at``, unless it is recorded (a
    restart, a second worker). A database that already holds ccwatch's decisions was
    watched before this was recorded (an upgrade, a replayed database): from the earliest
    event it decided on. Returns whether it was recorded now."""
    if watch_start(engine) is not None:
        return False
    with engine.connect() as conn:
        decided = (PointsEntryRow.occurred_at, AlertTransitionRow.occurred_at)
        earliest = [conn.scalar(select(func.min(column))) for column in decided]
    start = min([at, *(when for when in earliest if when is not None)])
    return _first(engine, WatchStart, WatchStart.id == 1, id=1, started_at=start)


def watch_start(engine: Engine) -> datetime | None:
    """When ccwatch began watching the database, if recorded."""
    with engine.connect() as conn:
        return conn.scalar(select(WatchStart.started_at))


def _first(engine: Engine, row: type[Base], key: ColumnElement[bool], **values: Any) -> bool:
    """Insert the row unless one with ``key`` exists; the first writer wins a race."""
    try:
        with engine.begin() as conn:
            if conn.scalar(select(row).where(key).exists().select()):
                return False
            conn.execute(insert(row).values(**values))
    except IntegrityError:  # another process inserted it meanwhile
        return False
    return True

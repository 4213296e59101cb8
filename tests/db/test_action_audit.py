"""The audit log records an action as requested, then as the workers decided it, once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccwatch.web.feed import ActionOutcome
from ccwatch.web.queries import audit_outcome
from models.access import AuditEntry
from models.db import make_engine


def test_each_outcome_is_recorded_once_with_its_reason(url: str) -> None:
    engine = make_engine(url)
    refused = ActionOutcome("act-1", "a-1", "acknowledge", "cy", False, "already acknowledged")
    for _ in range(2):  # every app instance hears it
        audit_outcome(engine, refused)
    audit_outcome(engine, ActionOutcome("act-2", "a-1", "resolve", "cy", True))
    with Session(engine) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.user_id, e.action, e.target, e.detail) for e in rows] == [
        ("cy", "alert.acknowledge.rejected", "a-1",
         {"action_id": "act-1", "reason": "already acknowledged"}),
        ("cy", "alert.resolve.accepted", "a-1", {"action_id": "act-2", "reason": ""}),
    ]  # fmt: skip

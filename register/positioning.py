"""E-positioning approvals (电子定位审批, Community Correction Law art. 29) in the register:
approve, extend, revoke, list.

Each change writes its rows and its audit entry in one transaction, after the pure rules of
:mod:`register.positioning_rules` (a :class:`Refused` says why not); an officer acts for
their own office's subjects only (another's is :class:`NotFound`). The caller then tells
the workers (:func:`register.notify.tell_workers`), who also read the register every
``CCWATCH_REGISTRY_REFRESH_S``: a subject's fixes and device events are used for
supervision only while an approval is in force (docs/detection.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models.ids import derive_id
from models.localtime import Span
from models.reference import PositioningApproval, PositioningReason, Subject
from register.core import Actor, NotFound, Refused, audit
from register.positioning_rules import DAY, Refusal, approval_refusal, extension_refusal
from register.store import subject_for, term_of


def approve_positioning(
    engine: Engine,
    actor: Actor,
    subject_id: str,
    reason: PositioningReason,
    approved_by: str,
    starts_on: date,
    ends_on: date,
    note: str = "",
) -> dict[str, Any]:
    """Record an approval of ``starts_on`` to ``ends_on`` (local days, inclusive)."""
    with Session(engine) as session, session.begin():
        subject = subject_for(session, actor, subject_id)
        row = _new(actor, subject, reason, approved_by, starts_on, ends_on, note)
        _refuse(approval_refusal(term_of(subject), _days(row), _in_force(session, subject_id)))
        return _record(session, actor, "positioning.approve", row)


def extend_positioning(
    engine: Engine,
    actor: Actor,
    approval_id: str,
    approved_by: str,
    ends_on: date,
    note: str = "",
) -> dict[str, Any]:
    """Extend an approval to ``ends_on``, from the day after it ends, for the same reason."""
    with Session(engine) as session, session.begin():
        extended, subject = _approval(session, actor, approval_id)
        if extended.revoked_at is not None:
            raise Refused("已撤销的审批不能延长", "a revoked approval cannot be extended")
        starts_on = extended.ends_on + DAY
        row = _new(actor, subject, extended.reason, approved_by, starts_on, ends_on, note)
        row.extends = extended.id
        others = _in_force(session, subject.id)
        _refuse(extension_refusal(term_of(subject), _days(extended), _days(row), others))
        return _record(session, actor, "positioning.extend", row)


def revoke_positioning(
    engine: Engine, actor: Actor, approval_id: str, at: datetime | None = None
) -> dict[str, Any]:
    """End positioning at ``at`` (now by default, aware): the approval and the extensions
    that continue it are revoked."""
    at = at or datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: give the revocation's time zone")
    with Session(engine) as session, session.begin():
        first, _ = _approval(session, actor, approval_id)
        if first.revoked_at is not None:
            raise Refused("该审批已撤销", "the approval is already revoked")
        chain, revoked = [first], []
        while chain:
            row = chain.pop()
            row.revoked_at, row.revoked_by = at, actor.id
            revoked.append(row.id)
            chain += session.scalars(
                select(PositioningApproval).where(
                    PositioningApproval.extends == row.id, PositioningApproval.revoked_at.is_(None)
                )
            )
        audit(session, actor, "positioning.revoke", first.id, at=at.isoformat(), revoked=revoked)
        return approval_dict(first)


def approvals(engine: Engine, subject_id: str) -> list[dict[str, Any]]:
    """A subject's approvals, revoked ones included, in time order."""
    with Session(engine) as session:
        rows = session.scalars(
            select(PositioningApproval)
            .where(PositioningApproval.subject_id == subject_id)
            .order_by(PositioningApproval.starts_on, PositioningApproval.created_at)
        )
        return [approval_dict(a) for a in rows]


def approval_dict(a: PositioningApproval) -> dict[str, Any]:
    return {
        "id": a.id,
        "subject_id": a.subject_id,
        "reason": a.reason.value,
        "note": a.note,
        "approved_by": a.approved_by,
        "decided_by": a.decided_by,
        "starts_on": a.starts_on.isoformat(),
        "ends_on": a.ends_on.isoformat(),
        "extends": a.extends,
        "revoked_at": a.revoked_at.isoformat() if a.revoked_at else None,
        "revoked_by": a.revoked_by,
    }


def _approval(
    session: Session, actor: Actor, approval_id: str
) -> tuple[PositioningApproval, Subject]:
    found = session.get(PositioningApproval, approval_id)
    if found is None:
        raise NotFound(approval_id)
    return found, subject_for(session, actor, found.subject_id)


def _new(
    actor: Actor,
    subject: Subject,
    reason: PositioningReason,
    approved_by: str,
    starts_on: date,
    ends_on: date,
    note: str,
) -> PositioningApproval:
    if not approved_by.strip():
        raise Refused("须写明批准人", "name who approved it")
    recorded = datetime.now(UTC).isoformat()
    return PositioningApproval(
        id=derive_id("positioning", subject.id, starts_on.isoformat(), recorded),
        subject_id=subject.id,
        reason=PositioningReason(reason),
        note=note,
        approved_by=approved_by.strip(),
        decided_by=actor.id,
        starts_on=starts_on,
        ends_on=ends_on,
    )


def _record(
    session: Session, actor: Actor, action: str, row: PositioningApproval
) -> dict[str, Any]:
    session.add(row)
    found = approval_dict(row)
    audit(session, actor, action, row.id, **found)
    return found


def _refuse(why: Refusal | None) -> None:
    if why is not None:
        raise Refused(*why)


def _days(a: PositioningApproval) -> Span:
    return Span(a.id, a.starts_on, a.ends_on)


def _in_force(session: Session, subject_id: str) -> list[Span]:
    """The subject's approvals not revoked, as their days."""
    rows = session.scalars(
        select(PositioningApproval).where(
            PositioningApproval.subject_id == subject_id, PositioningApproval.revoked_at.is_(None)
        )
    )
    return [_days(a) for a in rows]

"""Register changes in the database: intake, transfer, release and the leave workflow.

Each function checks with :mod:`register.rules`, writes its rows and its audit entry in
one transaction, and returns what it wrote as a plain dict. A subject the actor may not act
for is :class:`NotFound`, as if it did not exist. The caller then tells the workers
(:func:`register.notify.tell_workers`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ccwatch.keys import enrol
from models.ids import derive_id
from models.localtime import Span
from models.reference import (
    CorrectionType,
    EndReason,
    LeavePermit,
    LeaveStatus,
    Level,
    Office,
    Officer,
    Subject,
)
from models.registry import security_periods
from register import rules
from register.core import Actor, NotFound, Refused, audit


@dataclass(frozen=True)
class Intake:
    """What intake (入矫) records: the decision, the term, who supervises, the devices."""

    subject_id: str
    name: str
    correction_type: CorrectionType
    decided_by: str
    decision_no: str
    starts_on: date
    ends_on: date
    office_id: str
    officer_id: str | None = None
    level: Level = Level.NORMAL
    home: tuple[float, float] | None = None  # lat, lon
    devices: tuple[str, ...] = ()  # phones and bracelets bound to the subject
    case_id: str | None = None  # co-offenders share a case
    victims: tuple[str, ...] = ()  # named for the record and for prohibition orders


@contextmanager
def changing(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def subject_for(session: Session, actor: Actor, subject_id: str) -> Subject:
    found = session.get(Subject, subject_id)
    if found is None or not actor.may_act_for(found.office_id):
        raise NotFound(subject_id)
    return found


def term_of(s: Subject) -> Span:
    """The subject's supervision, intake to the last day, as a span of local days."""
    return Span(s.id, s.starts_on, s.last_day())


def subject_dict(s: Subject) -> dict[str, Any]:
    return {
        "subject_id": s.id,
        "name": s.name,
        "correction_type": s.correction_type.value,
        "decided_by": s.decided_by,
        "decision_no": s.decision_no,
        "starts_on": s.starts_on.isoformat(),
        "ends_on": s.ends_on.isoformat(),
        "last_day": s.last_day().isoformat(),
        "released_on": s.released_on.isoformat() if s.released_on else None,
        "end_reason": s.end_reason.value if s.end_reason else None,
        "end_document": s.end_document,
        "office_id": s.office_id,
        "officer_id": s.officer_id,
        "level": s.level.value,
        "case_id": s.case_id,
        "victims": s.victims or [],
    }


def leave_dict(p: LeavePermit) -> dict[str, Any]:
    return {
        "leave_id": p.id,
        "subject_id": p.subject_id,
        "starts_at": p.starts_at.isoformat(),
        "ends_at": p.ends_at.isoformat(),
        "destination": p.destination,
        "status": p.status.value,
        "emergency": p.emergency,
        "requested_by": p.requested_by,
        "decided_by": p.decided_by,
        "decided_at": p.approved_at.isoformat() if p.approved_at else None,
        "returned_at": p.returned_at.isoformat() if p.returned_at else None,
        "extends": p.extends,
        "approver": rules.approver(p.ends_at - p.starts_at),
    }


# intake, transfer, release -------------------------------------------------------------
def intake(engine: Engine, actor: Actor, new: Intake) -> dict[str, Any]:
    """Enter a subject on the register (入矫), enrolling a signing key for each device."""
    with changing(engine) as session:
        if not actor.may_act_for(new.office_id) or session.get(Office, new.office_id) is None:
            raise NotFound(new.office_id)
        officer = session.get(Officer, new.officer_id) if new.officer_id else None
        if new.officer_id and officer is None:
            raise Refused("无此矫正干警", "no such officer")
        rules.check_intake(
            new.subject_id,
            new.starts_on,
            new.ends_on,
            officer.office_id if officer else None,
            new.office_id,
        )
        if session.get(Subject, new.subject_id) is not None:
            raise Refused("该编号已在册", "a subject with this id is on the register")
        subject = Subject(
            id=new.subject_id,
            name=new.name,
            office_id=new.office_id,
            officer_id=new.officer_id,
            correction_type=new.correction_type,
            level=new.level,
            starts_on=new.starts_on,
            ends_on=new.ends_on,
            home_lat=new.home[0] if new.home else None,
            home_lon=new.home[1] if new.home else None,
            case_id=new.case_id,
            decided_by=new.decided_by,
            decision_no=new.decision_no,
            victims=list(new.victims) or None,
        )
        session.add(subject)
        session.flush()
        keys = [enrol(session, device, new.subject_id).key_id for device in new.devices]
        audit(session, actor, "register.intake", new.subject_id, devices=list(new.devices))
        return subject_dict(subject) | {"keys": keys}


def transfer(
    engine: Engine, actor: Actor, subject_id: str, office_id: str, officer_id: str | None
) -> dict[str, Any]:
    """Move a subject's supervision to another office (执行地变更), from now on: alerts
    and points already recorded keep the office they were recorded for."""
    with changing(engine) as session:
        subject = subject_for(session, actor, subject_id)
        if session.get(Office, office_id) is None:
            raise Refused("无此司法所", "no such office")
        officer = session.get(Officer, officer_id) if officer_id else None
        if officer_id and (officer is None or officer.office_id != office_id):
            raise Refused("矫正干警不属于该司法所", "the officer works for another office")
        before = subject.office_id
        subject.office_id, subject.officer_id = office_id, officer_id
        audit(session, actor, "register.transfer", subject_id, office=[before, office_id])
        return subject_dict(subject)


def release(
    engine: Engine, actor: Actor, subject_id: str, on: date, reason: EndReason, document: str
) -> dict[str, Any]:
    """End supervision before the term's end (解矫): from ``on`` the subject is not
    tracked, alerted, scored or mapped; the history stays."""
    with changing(engine) as session:
        subject = subject_for(session, actor, subject_id)
        rules.check_release(term_of(subject), on, reason.value, document)
        subject.released_on, subject.end_reason, subject.end_document = on, reason, document
        audit(session, actor, "register.release", subject_id, on=on.isoformat(), reason=reason)
        return subject_dict(subject)


# leave --------------------------------------------------------------------------------
def request_leave(
    engine: Engine,
    actor: Actor,
    subject_id: str,
    starts_at: datetime,
    ends_at: datetime,
    destination: str,
    emergency: bool = False,
    extends: str | None = None,
) -> dict[str, Any]:
    """Record a request to leave the county (请假外出), or to extend an approved leave."""
    with changing(engine) as session:
        subject = subject_for(session, actor, subject_id)
        if extends is not None:
            base = _leave(session, actor, extends)
            if base.subject_id != subject_id or base.status != LeaveStatus.APPROVED:
                raise Refused("只能延长已批准的请假", "only an approved leave can be extended")
            if starts_at != base.ends_at:
                raise Refused("续假须自原假期结束时开始", "an extension starts when the leave ends")
        rules.check_leave_request(term_of(subject), starts_at, ends_at, destination)
        now = datetime.now(UTC)
        permit = LeavePermit(
            id=derive_id("leave", subject_id, starts_at.isoformat(), now.isoformat()),
            subject_id=subject_id,
            starts_at=starts_at,
            ends_at=ends_at,
            destination=destination,
            status=LeaveStatus.REQUESTED,
            emergency=emergency,
            requested_by=actor.id,
            extends=extends,
        )
        session.add(permit)
        action = "leave.extend" if extends else "leave.request"
        audit(session, actor, action, permit.id, subject=subject_id, emergency=emergency)
        return leave_dict(permit)


def decide_leave(
    engine: Engine, actor: Actor, leave_id: str, approve: bool, note: str = ""
) -> dict[str, Any]:
    """Approve or reject a requested leave: the office up to 7 days in all (with what it
    extends), the county bureau beyond; in a security period, emergencies only."""
    with changing(engine) as session:
        permit = _leave(session, actor, leave_id)
        if permit.status != LeaveStatus.REQUESTED:
            raise Refused("该请假已处理", f"the leave is {permit.status.value}")
        now = datetime.now(UTC)
        if approve:
            subject = session.get(Subject, permit.subject_id)
            assert subject is not None
            rules.check_leave_decision(
                actor,
                permit.ends_at - _first(session, permit).starts_at,
                permit.emergency,
                now,
                subject.office_id,
                security_periods(session),
            )
        permit.status = LeaveStatus.APPROVED if approve else LeaveStatus.REJECTED
        permit.decided_by, permit.approved_at = actor.id, now
        permit.approved_by = actor.officer_id
        action = "leave.approve" if approve else "leave.reject"
        audit(session, actor, action, leave_id, subject=permit.subject_id, note=note)
        return leave_dict(permit)


def return_early(engine: Engine, actor: Actor, leave_id: str, at: datetime) -> dict[str, Any]:
    """The subject came back before the leave's end (销假): the leave ends at ``at``."""
    with changing(engine) as session:
        permit = _leave(session, actor, leave_id)
        if permit.status != LeaveStatus.APPROVED or not permit.starts_at <= at < permit.ends_at:
            raise Refused(
                "销假时间须在已批准的假期内", "the return must fall within an approved leave"
            )
        permit.returned_at = permit.ends_at = at
        audit(session, actor, "leave.return", leave_id, subject=permit.subject_id)
        return leave_dict(permit)


def cancel_leave(engine: Engine, actor: Actor, leave_id: str) -> dict[str, Any]:
    """Withdraw a request not yet decided."""
    with changing(engine) as session:
        permit = _leave(session, actor, leave_id)
        if permit.status != LeaveStatus.REQUESTED:
            raise Refused("只能撤回未审批的请假", "only a request not yet decided can be withdrawn")
        permit.status = LeaveStatus.CANCELLED
        audit(session, actor, "leave.cancel", leave_id, subject=permit.subject_id)
        return leave_dict(permit)


def leaves(engine: Engine, actor: Actor, subject_id: str) -> list[dict[str, Any]]:
    """A subject's leaves, newest first."""
    with Session(engine) as session:
        subject_for(session, actor, subject_id)
        rows = session.scalars(
            select(LeavePermit)
            .where(LeavePermit.subject_id == subject_id)
            .order_by(LeavePermit.starts_at.desc())
        )
        return [leave_dict(p) for p in rows]


def pending_leaves(engine: Engine, actor: Actor) -> list[dict[str, Any]]:
    """Requests waiting for a decision in the actor's scope, oldest first."""
    with Session(engine) as session:
        query = (
            select(LeavePermit)
            .join(Subject, Subject.id == LeavePermit.subject_id)
            .where(LeavePermit.status == LeaveStatus.REQUESTED)
            .order_by(LeavePermit.created_at)
        )
        if actor.office_scope:
            query = query.where(Subject.office_id == actor.office_scope)
        return [leave_dict(p) for p in session.scalars(query)]


def _leave(session: Session, actor: Actor, leave_id: str) -> LeavePermit:
    permit = session.get(LeavePermit, leave_id)
    if permit is None:
        raise NotFound(leave_id)
    subject_for(session, actor, permit.subject_id)
    return permit


def _first(session: Session, permit: LeavePermit) -> LeavePermit:
    """The leave an extension (of an extension...) extends in the first place."""
    while permit.extends and (base := session.get(LeavePermit, permit.extends)) is not None:
        permit = base
    return permit

"""What the pages and the JSON API read, always within the caller's office scope."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session, aliased

from alerts.policy import load_policy
from ccwatch.web import mapdata
from ccwatch.web.auth import Principal
from ccwatch.web.feed import ActionOutcome
from models.access import AuditEntry
from models.ids import derive_id
from models.localtime import Span, local
from models.records import Alert, PointsEntryRow, Position, RecommendationRow, ZeroReport
from models.reference import (
    Geofence,
    LeavePermit,
    Office,
    PositioningApproval,
    ProhibitionOrder,
    SecurityPeriodRow,
    Subject,
)
from register import stats
from register.positioning import approval_dict, approvals
from register.store import leave_dict, subject_dict

SEVERITY = {"high": 0, "medium": 1, "low": 2}


def audit(engine: Engine, who: Principal, action: str, target: str, **detail: Any) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            AuditEntry(
                at=datetime.now(UTC), user_id=who.id, action=action, target=target, detail=detail
            )
        )


def audit_denial(engine: Engine, user_id: str, action: str, target: str, **detail: Any) -> None:
    """A refusal: a failed or throttled log-in (never its password), a lock-out, a denied
    route or record, a CSRF rejection; ``user_id`` is the session's user or the name tried."""
    with Session(engine) as session, session.begin():
        session.add(
            AuditEntry(
                at=datetime.now(UTC),
                user_id=user_id[:64],
                action=action[:64],
                target=target[:128],
                detail=detail,
            )
        )


def audit_outcome(engine: Engine, outcome: ActionOutcome) -> None:
    """Record what the workers made of an action, once (every app instance hears it)."""
    action = f"alert.{outcome.action}.{'accepted' if outcome.accepted else 'rejected'}"
    with Session(engine) as session, session.begin():
        recorded = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == action, AuditEntry.target == outcome.alert_id
            )
        )
        if any(e.detail.get("action_id") == outcome.action_id for e in recorded):
            return
        session.add(
            AuditEntry(
                at=datetime.now(UTC),
                user_id=outcome.officer_id,
                action=action,
                target=outcome.alert_id,
                detail={"action_id": outcome.action_id, "reason": outcome.reason},
            )
        )


def alert_dict(a: Alert, zone: str) -> dict[str, Any]:
    return {
        "alert_id": a.id,
        "subject_id": a.subject_id,
        "office_id": a.office_id,
        "zone": zone,
        "alert_type": a.alert_type,
        "severity": a.severity,
        "state": a.state,
        "rule": a.rule,
        "evidence": a.evidence,
        "reason_zh": a.reason_zh,
        "reason_en": a.reason_en,
        "opened_at": a.opened_at.isoformat(),
        "sla_due": a.sla_due_at.isoformat() if a.sla_due_at else None,
        "escalated": a.escalated,
        "assignee": a.assignee,
        "outcome": a.outcome,
        "lat": a.lat,
        "lon": a.lon,
        "accuracy_m": a.accuracy_m,
    }


def alerts(
    engine: Engine,
    who: Principal,
    state: str = "open",
    zone: str | None = None,
    office: str | None = None,
    alert_type: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Alerts the caller may see, most severe and oldest first."""
    query = select(Alert, Office.zone).join(Office, Office.id == Alert.office_id)
    if who.office_scope:
        query = query.where(Alert.office_id == who.office_scope)
    if state == "open":
        query = query.where(Alert.state != "resolved")
    elif state != "all":
        query = query.where(Alert.state == state)
    if zone:
        query = query.where(Office.zone == zone)
    if office:
        query = query.where(Alert.office_id == office)
    if alert_type:
        query = query.where(Alert.alert_type == alert_type)
    with Session(engine) as session:
        rows = session.execute(query.order_by(Alert.opened_at).limit(limit)).all()
    found = [alert_dict(a, z.value) for a, z in rows]
    return sorted(found, key=lambda a: (SEVERITY.get(a["severity"], 3), a["opened_at"]))


def alert(engine: Engine, alert_id: str) -> Alert | None:
    with Session(engine) as session:
        return session.get(Alert, alert_id)


def today() -> date:
    """The local (Asia/Shanghai) date now."""
    return local(datetime.now(UTC)).date()


def subjects(
    engine: Engine, who: Principal, office: str | None = None, released: bool = False
) -> list[dict[str, Any]]:
    """The subjects on register today (with ``released``: also those before intake or
    after release, whose history stays readable)."""
    query = select(Subject).order_by(Subject.id)
    if not released:
        query = query.where(Subject.on_register(today()))
    if who.office_scope:
        query = query.where(Subject.office_id == who.office_scope)
    if office:
        query = query.where(Subject.office_id == office)
    with Session(engine) as session:
        return [
            {
                "subject_id": s.id,
                "name": s.name,
                "office_id": s.office_id,
                "level": s.level.value,
                "correction_type": s.correction_type.value,
                "starts_on": s.starts_on.isoformat(),
                "last_day": s.last_day().isoformat(),
                "end_reason": s.end_reason.value if s.end_reason else None,
            }
            for s in session.scalars(query)
        ]


def subject(engine: Engine, subject_id: str) -> dict[str, Any] | None:
    """Profile, level, points balance and ledger with evidence, alerts, leave permits,
    e-positioning approvals."""
    with Session(engine) as session:
        s = session.get(Subject, subject_id)
        if s is None:
            return None
        entries = session.scalars(
            select(PointsEntryRow)
            .where(PointsEntryRow.subject_id == subject_id)
            .order_by(PointsEntryRow.occurred_at)
        )
        ledger: list[dict[str, Any]] = [
            {
                "entry_id": e.id,
                "occurred_at": e.occurred_at.isoformat(),
                "month": e.local_month,
                "rule": f"{e.rule_id}@{e.rule_version}",
                "ruleset": f"{e.ruleset_id}@{e.ruleset_version}",
                "delta": e.delta,
                "reason_zh": e.reason_zh,
                "reason_en": e.reason_en,
                "evidence": e.evidence,
                "reverses_entry_id": e.reverses_entry_id,
                "corrects_month": e.corrects_month,
            }
            for e in entries
        ]
        history = session.scalars(
            select(Alert)
            .where(Alert.subject_id == subject_id)
            .order_by(Alert.opened_at.desc())
            .limit(100)
        )
        zone = session.scalar(select(Office.zone).where(Office.id == s.office_id))
        leaves = session.scalars(
            select(LeavePermit)
            .where(LeavePermit.subject_id == subject_id)
            .order_by(LeavePermit.starts_at.desc())
        )
        recs = session.scalars(
            select(RecommendationRow)
            .where(RecommendationRow.subject_id == subject_id)
            .order_by(RecommendationRow.month)
        )
        return subject_dict(s) | {
            "zone": zone.value if zone else None,
            "balance": sum(e["delta"] for e in ledger),
            "ledger": ledger,
            "alerts": [alert_dict(a, zone.value if zone else "") for a in history],
            "leaves": [leave_dict(p) for p in leaves],
            "recommendations": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "month": r.month,
                    "status": r.status,
                    "reason_zh": r.reason_zh,
                }
                for r in recs
            ],
            "positioning": approvals(engine, subject_id),
        }


def expiring_approvals(
    engine: Engine, office_scope: str | None, today: date, within_days: int = 7
) -> list[dict[str, Any]]:
    """E-positioning approvals of subjects on register that end from ``today`` to
    ``within_days`` later, not revoked and not extended: positioning stops then unless
    extended (art. 29). Soonest first; ``office_scope``: one office's subjects only."""
    extension = aliased(PositioningApproval)
    extended = select(extension.id).where(
        extension.extends == PositioningApproval.id, extension.revoked_at.is_(None)
    )
    query = (
        select(PositioningApproval, Subject)
        .join(Subject, Subject.id == PositioningApproval.subject_id)
        .where(
            PositioningApproval.ends_on.between(today, today + timedelta(days=within_days)),
            PositioningApproval.revoked_at.is_(None),
            ~extended.exists(),
            Subject.on_register(today),
        )
        .order_by(PositioningApproval.ends_on, Subject.id)
    )
    if office_scope:
        query = query.where(Subject.office_id == office_scope)
    with Session(engine) as session:
        return [
            approval_dict(a)
            | {
                "name": s.name,
                "office_id": s.office_id,
                "days_left": (a.ends_on - today).days,
                "term_ends": a.ends_on >= s.last_day(),
            }
            for a, s in session.execute(query).tuples()
        ]


def periods(engine: Engine, who: Principal) -> dict[str, Any]:
    """The active security period, the rules it brings, and each office's zero reports."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        active = session.scalars(
            select(SecurityPeriodRow).where(
                SecurityPeriodRow.starts_at <= now, SecurityPeriodRow.ends_at > now
            )
        ).all()
        query = select(ZeroReport).order_by(ZeroReport.day.desc(), ZeroReport.office_id)
        if who.office_scope:
            query = query.where(ZeroReport.office_id == who.office_scope)
        reports = session.scalars(query.limit(200)).all()
        offices = session.scalar(select(func.count()).select_from(Office))
    return {
        "active": [
            {
                "id": p.id,
                "name": p.name,
                "starts_at": p.starts_at.isoformat(),
                "ends_at": p.ends_at.isoformat(),
                "offices": p.offices,
            }
            for p in active
        ],
        "rules": msgspec.structs.asdict(load_policy().security),
        "zero_reports": [
            {
                "day": z.day.isoformat(),
                "office_id": z.office_id,
                "status": z.status,
                "alerts_opened": z.alerts_opened,
                "alerts_open": z.alerts_open,
            }
            for z in reports
        ],
        "offices": offices,
    }


def register_stats(engine: Engine, who: Principal, span: Span, on: date) -> dict[str, Any]:
    """Register statistics (docs/register.md) of the caller's scope: an officer's office."""
    return stats.load(engine, span, on, office=who.office_scope).as_dict()


@dataclass(frozen=True)
class AuditFilter:
    user: str | None = None
    subject: str | None = None
    action: str | None = None  # an action, or its kind: "login" is login, login.failed, ...
    before: int | None = None  # ids below this (the next page)
    limit: int = 200

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "limit"}


def audit_entries(engine: Engine, wanted: AuditFilter | None = None) -> list[dict[str, Any]]:
    """Audit entries, newest first. A subject's are those that name it as their target or
    in their detail (``subject``, ``subject_id``)."""
    wanted = wanted or AuditFilter()
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(wanted.limit)
    if wanted.user is not None:
        query = query.where(AuditEntry.user_id == wanted.user)
    if (action := wanted.action) is not None:
        query = query.where(
            or_(AuditEntry.action == action, AuditEntry.action.startswith(action + "."))
        )
    if wanted.subject is not None:
        query = query.where(
            or_(
                AuditEntry.target == wanted.subject,
                AuditEntry.detail["subject"].as_string() == wanted.subject,
                AuditEntry.detail["subject_id"].as_string() == wanted.subject,
            )
        )
    if wanted.before is not None:
        query = query.where(AuditEntry.id < wanted.before)
    with Session(engine) as session:
        rows = session.scalars(query)
        return [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "user": e.user_id,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
            }
            for e in rows
        ]


def geo(engine: Engine, who: Principal) -> dict[str, Any]:
    """The map as GeoJSON: county outline, islands, ways out and piers, offices, and of the
    subjects the caller may see the forbidden zones, approved leaves and last positions (with
    accuracy, open alert types and state)."""
    with Session(engine) as session:
        fences = session.scalars(select(Geofence)).all()
        offices = session.scalars(select(Office)).all()
        visible = select(Subject.id).where(Subject.on_register(today()))  # released: off the map
        if who.office_scope:
            visible = visible.where(Subject.office_id == who.office_scope)
        latest = (
            select(Position.subject_id, func.max(Position.at).label("at"))
            .where(Position.subject_id.in_(visible))
            .group_by(Position.subject_id)
            .subquery()
        )
        last = session.scalars(
            select(Position).join(
                latest, (Position.subject_id == latest.c.subject_id) & (Position.at == latest.c.at)
            )
        ).all()
        open_types: dict[str, list[str]] = {}
        escalated: set[str] = set()
        for sid, kind, up in session.execute(
            select(Alert.subject_id, Alert.alert_type, Alert.escalated).where(
                Alert.state != "resolved", Alert.subject_id.in_(visible)
            )
        ):
            open_types.setdefault(sid, []).append(kind)
            if up:
                escalated.add(sid)
        allowed: dict[str, str] = dict(
            session.execute(visible.add_columns(Subject.office_id)).tuples().all()
        )
        leaves = mapdata.leaves(session, visible)
        day = today()
        lapsed = {
            o.id
            for o in session.scalars(select(ProhibitionOrder))
            if o.starts_on > day or ((ends := o.last_day()) is not None and ends < day)
        }
    features: list[dict[str, Any]] = [*mapdata.ports(), *leaves]
    for f in fences:
        forbidden = f.kind.value == "forbidden"
        if forbidden and (f.subject_id not in allowed or f.order_id in lapsed):
            continue  # another office's, a released subject's, or an order not in force
        features.append(
            {
                "type": "Feature",
                "geometry": f.geometry,
                "properties": {
                    "kind": f.kind.value,
                    "id": f.id,
                    "name": f.name,
                    "subject_id": f.subject_id,
                },
            }
        )
    for o in offices:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [o.lon, o.lat]},
                "properties": {
                    "kind": "office",
                    "id": o.id,
                    "name": o.name_zh,
                    "name_en": o.name_en,
                    "zone": o.zone.value,
                },
            }
        )
    for p in last:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                "properties": {
                    "kind": "position",
                    "subject_id": p.subject_id,
                    "at": p.at.isoformat(),
                    "accuracy_m": p.accuracy_m,
                    "alerts": sorted(open_types.get(p.subject_id, [])),
                    "state": mapdata.state(
                        open_types.get(p.subject_id, []), p.subject_id in escalated
                    ),
                    "office_id": allowed.get(p.subject_id),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def save_period(
    engine: Engine, name: str, starts_at: datetime, ends_at: datetime, offices: list[str]
) -> str:
    period_id = derive_id("period", name, starts_at.isoformat())
    with Session(engine) as session, session.begin():
        session.merge(
            SecurityPeriodRow(
                id=period_id, name=name, starts_at=starts_at, ends_at=ends_at, offices=offices
            )
        )
    return period_id

"""What the map shows beside the geofences (``queries.geo``): piers and ports, approved
leaves with their destinations placed, each subject's state; and a subject's track for a
window of time, for playback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from ccwatch.reference import shengsi
from models.records import Position
from models.reference import LeavePermit, LeaveStatus

Feature = dict[str, Any]


def point(lon: float, lat: float, **properties: Any) -> Feature:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def state(open_alerts: list[str], escalated: bool) -> str:
    """normal, alert (an alert open) or escalated (one past its SLA, now the center's)."""
    return "escalated" if escalated else "alert" if open_alerts else "normal"


def ports() -> list[Feature]:
    """The county's piers (the ways out are geofences of their own)."""
    return [point(p.lon, p.lat, kind="port", name=p.name) for p in shengsi().ports]


def leaves(session: Session, visible: Select[Any]) -> list[Feature]:
    """Approved leaves of the ``visible`` subjects not yet over, at their destination when
    the free text names a known place (else with no geometry: listed, not drawn)."""
    now = datetime.now(UTC)
    rows = session.scalars(
        select(LeavePermit)
        .where(
            LeavePermit.subject_id.in_(visible),
            LeavePermit.status == LeaveStatus.APPROVED,
            LeavePermit.ends_at > now,
        )
        .order_by(LeavePermit.starts_at)
    )
    features: list[Feature] = []
    for leave in rows:
        place = shengsi().destination(leave.destination)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]}
                if place
                else None,
                "properties": {
                    "kind": "leave",
                    "id": leave.id,
                    "subject_id": leave.subject_id,
                    "destination": leave.destination,
                    "place": place.name if place else None,
                    "starts_at": leave.starts_at.isoformat(),
                    "ends_at": leave.ends_at.isoformat(),
                },
            }
        )
    return features


def track(
    engine: Engine,
    subject_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """A subject's fixes, newest first: the most recent ``limit`` of them, or of the window
    [since, until) (reading them is audited by the caller)."""
    query = select(Position).where(Position.subject_id == subject_id)
    if since is not None:
        query = query.where(Position.at >= since)
    if until is not None:
        query = query.where(Position.at < until)
    with Session(engine) as session:
        rows = session.scalars(query.order_by(Position.at.desc()).limit(limit))
        return [
            {
                "at": p.at.isoformat(),
                "lat": p.lat,
                "lon": p.lon,
                "accuracy_m": p.accuracy_m,
                "source": p.source,
            }
            for p in rows
        ]

"""Load the Shengsi reference data (offices, officers, subjects, terminals, county outline),
approve e-positioning for the demo's subjects and enrol a signing key for every terminal and
every subject's phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from ccwatch.keys import enrol_missing
from ccwatch.reference import PersonData, Reference, ZoneData, shengsi
from models.ids import derive_id
from models.reference import (
    CorrectionType,
    Geofence,
    GeofenceKind,
    Level,
    Office,
    Officer,
    PositioningApproval,
    PositioningReason,
    Subject,
    Terminal,
    Zone,
)
from register.positioning_rules import DAY, longest

COUNTY_FENCE_ID = "county-shengsi"
APPROVER = "嵊泗县司法局负责人"  # art. 29: approved by the head of the county justice bureau


def seed(engine: Engine, ref: Reference | None = None, enrol_keys: bool = True) -> int:
    """Insert or update the reference rows, add the positioning approvals and enrol the keys
    missing (idempotent: a device with a key in force keeps it); returns the number of
    subjects."""
    ref = ref or shengsi()
    # enrol_keys False: a schema before 0007 (no device keys, no positioning approvals)
    with Session(engine) as session, session.begin():
        for o in ref.offices:
            session.merge(
                Office(
                    id=o.id,
                    name_zh=o.name_zh,
                    name_en=o.name_en,
                    zone=Zone(o.zone),
                    lat=o.lat,
                    lon=o.lon,
                )
            )
            for n, officer_id in enumerate(ref.officer_ids(o.id), start=1):
                session.merge(
                    Officer(id=officer_id, office_id=o.id, name=f"{o.name_zh}矫正干警{n}")
                )
            session.merge(Terminal(id=ref.terminal_id(o.id), office_id=o.id, lat=o.lat, lon=o.lon))
        county = ZoneData(COUNTY_FENCE_ID, "嵊泗县 Shengsi county", ref.county)
        for kind, zones in (
            (GeofenceKind.COUNTY, [county]),
            (GeofenceKind.ISLAND, ref.islands),
            (GeofenceKind.EXIT, ref.exits),
        ):
            for z in zones:
                session.merge(_fence(kind, z))
        session.flush()
        for p in ref.subjects:
            session.merge(
                Subject(
                    id=p.id,
                    name=p.name,
                    office_id=p.office_id,
                    officer_id=p.officer_id,
                    correction_type=CorrectionType(p.correction_type),
                    level=Level(p.level),
                    starts_on=p.starts_on,
                    ends_on=p.ends_on,
                    home_lat=p.home_lat,
                    home_lon=p.home_lon,
                    signal_grace_s=p.signal_grace_s,
                    case_id=p.case_id,
                )
            )
        session.flush()
        people = {p.id for p in ref.subjects}
        for z in ref.forbidden:
            if z.subject_id in people:
                session.merge(_fence(GeofenceKind.FORBIDDEN, z))
        if not enrol_keys:
            return len(ref.subjects)
        approvals = [a for p in ref.subjects for a in _positioning(p)]
        ids = [a["id"] for a in approvals]
        have = set(
            session.scalars(select(PositioningApproval.id).where(PositioningApproval.id.in_(ids)))
        )
        missing = [a for a in approvals if a["id"] not in have]  # in order: each extends one
        if missing:
            session.execute(insert(PositioningApproval), missing)
        enrol_missing(
            session,
            [(ref.terminal_id(o.id), None) for o in ref.offices]
            + [(ref.device_id(p.id), p.id) for p in ref.subjects],
        )
    return len(ref.subjects)


def _fence(kind: GeofenceKind, z: ZoneData) -> Geofence:
    start, end = z.hours or (None, None)
    return Geofence(
        id=z.id,
        kind=kind,
        name=z.name,
        subject_id=z.subject_id,
        geometry=z.geometry,
        buffer_m=z.buffer_m,
        active_from_hour=start,
        active_to_hour=end,
    )


def _positioning(p: PersonData) -> Iterator[dict[str, Any]]:
    """The demo's subjects all carry phones that report, so each one's positioning is
    approved for the whole term, three months at a time: an approval, then extensions."""
    first, extends = p.starts_on, None
    while first <= p.ends_on:
        approval_id, last = derive_id("positioning", p.id, first.isoformat()), longest(first)
        yield {
            "id": approval_id,
            "subject_id": p.id,
            "reason": PositioningReason.LEFT_WITHOUT_APPROVAL,
            "note": "演示数据 demo data",
            "approved_by": APPROVER,
            "decided_by": "seed",
            "starts_on": first,
            "ends_on": min(last, p.ends_on),
            "extends": extends,
        }
        first, extends = last + DAY, approval_id

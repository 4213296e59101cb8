"""Load the Shengsi reference data (offices, officers, subjects, terminals, county outline)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ccwatch.reference import Reference, shengsi
from models.reference import (
    CorrectionType,
    Geofence,
    GeofenceKind,
    Level,
    Office,
    Officer,
    Subject,
    Terminal,
    Zone,
)

COUNTY_FENCE_ID = "county-shengsi"


def seed(engine: Engine, ref: Reference | None = None) -> int:
    """Insert or update the reference rows (idempotent); returns the number of subjects."""
    ref = ref or shengsi()
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
        session.merge(
            Geofence(
                id=COUNTY_FENCE_ID,
                kind=GeofenceKind.COUNTY,
                name="嵊泗县 Shengsi county",
                subject_id=None,
                geometry=ref.county,
                buffer_m=0.0,
            )
        )
        for z in ref.islands:
            session.merge(
                Geofence(
                    id=z.id,
                    kind=GeofenceKind.ISLAND,
                    name=z.name,
                    subject_id=None,
                    geometry=z.geometry,
                    buffer_m=0.0,
                )
            )
        for z in ref.exits:
            session.merge(
                Geofence(
                    id=z.id,
                    kind=GeofenceKind.EXIT,
                    name=z.name,
                    subject_id=None,
                    geometry=z.geometry,
                    buffer_m=z.buffer_m,
                )
            )
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
        for z in (z for z in ref.forbidden if z.subject_id in people):
            hours = z.hours or (None, None)
            session.merge(
                Geofence(
                    id=z.id,
                    kind=GeofenceKind.FORBIDDEN,
                    name=z.name,
                    subject_id=z.subject_id,
                    geometry=z.geometry,
                    buffer_m=z.buffer_m,
                    active_from_hour=hours[0],
                    active_to_hour=hours[1],
                )
            )
    return len(ref.subjects)

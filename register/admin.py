"""Offices and terminals (司法所, 自助矫正终端): the administrators' part of the reference
data. Add or update an office; add a terminal to an office, move it, retire it.

As in :mod:`register.store`: the rows and their audit entry in one transaction, returned as
plain dicts; a :class:`Refused` says why not, in Chinese and English; a terminal that is not
there is :class:`NotFound`. Only administrators change these (the web app checks the role;
the CLI operator acts for the county bureau), and the caller then tells the workers, who
read offices and terminals with the register.

A terminal signs its records with a key of its own: adding one enrols a key, whose secret is
in the answer once and nowhere else (not in the audit entry). Retiring one retires its keys,
so that records it signs from then on are refused, and keeps the row, so that what it sent
before stays valid and readable.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ccwatch.keys import enrol, retire
from models.reference import DeviceKeyRow, Office, Terminal, Zone
from register.core import Actor, NotFound, Refused, audit
from register.store import changing

ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
Place = tuple[float, float]  # lat, lon


@dataclass(frozen=True)
class OfficeFields:
    office_id: str
    name_zh: str
    name_en: str
    zone: Zone
    lat: float
    lon: float


def office_dict(o: Office) -> dict[str, Any]:
    return {
        "office_id": o.id,
        "name_zh": o.name_zh,
        "name_en": o.name_en,
        "zone": o.zone.value,
        "lat": o.lat,
        "lon": o.lon,
    }


def terminal_dict(t: Terminal, keys: list[DeviceKeyRow]) -> dict[str, Any]:
    """A terminal with the keys it signs with (none: retired, from the last key's end)."""
    live = [k.key_id for k in keys if k.retired_at is None]
    ends = [k.retired_at for k in keys if k.retired_at is not None]
    return {
        "terminal_id": t.id,
        "office_id": t.office_id,
        "lat": t.lat,
        "lon": t.lon,
        "keys": live,
        "retired_at": None if live or not ends else max(ends).isoformat(),
    }


def save_office(engine: Engine, actor: Actor, office: OfficeFields) -> dict[str, Any]:
    """Add an office, or update the names, zone and location of one."""
    _check_id(office.office_id)
    if not all(0 < len(n.strip()) <= 64 for n in (office.name_zh, office.name_en)):
        raise Refused("名称须为1至64个字符", "a name is 1 to 64 characters")
    _check_place((office.lat, office.lon))
    with changing(engine) as session:
        row = session.get(Office, office.office_id)
        created = row is None
        if row is None:
            row = Office(id=office.office_id)
            session.add(row)
        row.name_zh, row.name_en = office.name_zh.strip(), office.name_en.strip()
        row.zone, row.lat, row.lon = Zone(office.zone), office.lat, office.lon
        action = "office.add" if created else "office.update"
        audit(session, actor, action, office.office_id, **asdict(office))
        return office_dict(row) | {"created": created}


def add_terminal(
    engine: Engine, actor: Actor, terminal_id: str, office_id: str, at: Place | None = None
) -> dict[str, Any]:
    """Register a terminal at an office (at the office's location unless ``at``) and enrol
    its signing key; the answer holds the key's secret, to be given to the terminal."""
    _check_id(terminal_id)
    with changing(engine) as session:
        office = _office(session, office_id)
        taken = select(DeviceKeyRow.key_id).where(DeviceKeyRow.device_id == terminal_id)
        if session.get(Terminal, terminal_id) is not None or session.scalars(taken).first():
            raise Refused("该编号已登记为终端或设备", "a terminal or device has this id")
        lat, lon = _place(office, at)
        terminal = Terminal(id=terminal_id, office_id=office_id, lat=lat, lon=lon)
        session.add(terminal)
        session.flush()
        key = enrol(session, terminal_id, None)
        audit(session, actor, "terminal.add", terminal_id, office=office_id, key=key.key_id)
        return terminal_dict(terminal, _keys(session, terminal_id)) | {
            "key_id": key.key_id,
            "secret": key.secret.hex(),
        }


def move_terminal(
    engine: Engine, actor: Actor, terminal_id: str, office_id: str, at: Place | None = None
) -> dict[str, Any]:
    """Move a terminal in service to an office (to the office's location unless ``at``):
    its check-ins count for that office from now on."""
    with changing(engine) as session:
        terminal, keys = _in_service(session, terminal_id)
        office = _office(session, office_id)
        before = terminal.office_id
        terminal.office_id = office_id
        terminal.lat, terminal.lon = _place(office, at)
        audit(session, actor, "terminal.move", terminal_id, office=[before, office_id])
        return terminal_dict(terminal, keys)


def retire_terminal(
    engine: Engine, actor: Actor, terminal_id: str, at: datetime | None = None
) -> dict[str, Any]:
    """Take a terminal out of service: its keys are retired from ``at`` (default now)."""
    at = at or datetime.now(UTC)
    with changing(engine) as session:
        terminal, keys = _in_service(session, terminal_id)
        retired = [retire(session, k.key_id, at).key_id for k in keys if k.retired_at is None]
        audit(session, actor, "terminal.retire", terminal_id, keys=retired, at=at.isoformat())
        return terminal_dict(terminal, keys)


def offices(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return [office_dict(o) for o in session.scalars(select(Office).order_by(Office.id))]


def terminals(engine: Engine, office_id: str | None = None) -> list[dict[str, Any]]:
    """Terminals, retired ones too, by office."""
    query = select(Terminal).order_by(Terminal.office_id, Terminal.id)
    if office_id:
        query = query.where(Terminal.office_id == office_id)
    with Session(engine) as session:
        return [terminal_dict(t, _keys(session, t.id)) for t in session.scalars(query)]


def _check_id(value: str) -> None:
    if not ID.fullmatch(value):
        raise Refused(
            "编号须为1至32个字母、数字、_ 或 -", "an id is 1 to 32 letters, digits, _ or -"
        )


def _check_place(at: Place) -> None:
    if not (-90 <= at[0] <= 90 and -180 <= at[1] <= 180):
        raise Refused("位置无效", "a location is a latitude and a longitude")


def _office(session: Session, office_id: str) -> Office:
    office = session.get(Office, office_id)
    if office is None:
        raise Refused("无此司法所", "no such office")
    return office


def _place(office: Office, at: Place | None) -> Place:
    if at is None:
        return office.lat, office.lon
    _check_place(at)
    return at


def _keys(session: Session, terminal_id: str) -> list[DeviceKeyRow]:
    query = select(DeviceKeyRow).where(DeviceKeyRow.device_id == terminal_id)
    return list(session.scalars(query.order_by(DeviceKeyRow.created_at)))


def _in_service(session: Session, terminal_id: str) -> tuple[Terminal, list[DeviceKeyRow]]:
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        raise NotFound(terminal_id)
    keys = _keys(session, terminal_id)
    if all(k.retired_at is not None for k in keys):
        raise Refused("该终端已停用", "the terminal is retired")
    return terminal, keys

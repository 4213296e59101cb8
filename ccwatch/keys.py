"""Device keys in the database: enrol a terminal's or a device's key, rotate, retire.

Workers read the keys with the rest of the reference data (:mod:`models.registry`) at each
registry refresh, so a new key is accepted and a retired one refused without a restart.
Rotation: enrol a new key, let the device switch to it, then retire the old one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models.limits import MAX_ID
from models.reference import DeviceKeyRow
from models.signing import new_secret, signing_keys
from models.values import DeviceKey


def secret_for(key_id: str) -> bytes:
    """The secret of a new key: random. (The tests replace this with a derivation from the
    key id, so that their records are signed without reading a database.)"""
    return new_secret()


def value(row: DeviceKeyRow) -> DeviceKey:
    return DeviceKey(
        row.key_id,
        row.device_id,
        row.subject_id,
        bytes.fromhex(row.secret),
        row.created_at,
        row.retired_at,
    )


def enrol(session: Session, device_id: str, subject_id: str | None) -> DeviceKey:
    """A new key for a device (a terminal: ``subject_id`` None), id ``<device>.k<n>``."""
    count = session.scalar(
        select(func.count()).select_from(DeviceKeyRow).where(DeviceKeyRow.device_id == device_id)
    )
    row = _new(device_id, subject_id, (count or 0) + 1)
    session.add(row)
    session.flush()
    return value(row)


def _new(device_id: str, subject_id: str | None, n: int) -> DeviceKeyRow:
    key_id = f"{device_id}.k{n}"
    if len(key_id) > MAX_ID:
        raise ValueError(f"device id {device_id!r} is too long for a key id")
    return DeviceKeyRow(
        key_id=key_id,
        device_id=device_id,
        subject_id=subject_id,
        secret=secret_for(key_id).hex(),
        created_at=datetime.now(UTC),
    )


def retire(session: Session, key_id: str, at: datetime | None = None) -> DeviceKey:
    """Refuse records dated from ``at`` on (default now) signed with the key."""
    row = session.get(DeviceKeyRow, key_id)
    if row is None:
        raise KeyError(key_id)
    row.retired_at = at or datetime.now(UTC)
    session.flush()
    return value(row)


def enrol_missing(session: Session, devices: Iterable[tuple[str, str | None]]) -> int:
    """A key for each (device, subject) without a key in force; returns how many."""
    counts: dict[str, int] = {
        device: n
        for device, n in session.execute(
            select(DeviceKeyRow.device_id, func.count()).group_by(DeviceKeyRow.device_id)
        ).tuples()
    }
    live = set(
        session.scalars(select(DeviceKeyRow.device_id).where(DeviceKeyRow.retired_at.is_(None)))
    )
    rows = [
        _new(device_id, subject_id, counts.get(device_id, 0) + 1)
        for device_id, subject_id in dict(devices).items()
        if device_id not in live
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


def keyring(engine: Engine) -> dict[str, DeviceKey]:
    """The key each terminal and device signs with now, by device id (for simulators)."""
    with Session(engine) as session:
        rows = session.scalars(select(DeviceKeyRow)).all()
        return signing_keys((value(r) for r in rows), datetime.now(UTC))

"""Signed records from terminals and devices: the canonical form, signing and verifying.

Kiosks sign check-ins and activities with their terminal's key; phones and bracelets sign
fixes and power events with their device's key (HMAC-SHA256, a secret per device, the key
id in the record). The one implementation for the worker that verifies and every producer
that signs (the simulator, the tests, the benchmarks). Pure: standard library and msgspec.

The canonical form (docs/contract.md) is independent of whitespace, field order and
unknown fields: ``ccwatch/v1/<type>\\n`` followed by the record's contract fields except
``sig`` as compact JSON with sorted keys, as :mod:`msgspec` encodes the decoded record.
A field added to the contract after v1 (``ADDED``) is left out at its default, so a record
signed by a v1 device verifies unchanged; otherwise it is signed as sent (a fix's ``datum``
included: a record is verified before ccwatch converts its position to WGS-84).
A batch's fixes are signed as sent (every field, keys sorted): each is checked on its own,
after the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from models.events import Activity, CheckIn, DeviceEvent, LocationBatch, LocationFix, Rejection
from models.values import DeviceKey

Signed = CheckIn | Activity | LocationFix | LocationBatch | DeviceEvent
S = TypeVar("S", CheckIn, Activity, LocationFix, LocationBatch, DeviceEvent)
# Per signed type: its name in the canonical form, the field naming the signing device,
# and whether that device is a kiosk (signs for anyone) or a subject's own device.
KINDS: dict[type[Any], tuple[bytes, str, bool]] = {
    CheckIn: (b"ccwatch/v1/checkin\n", "terminal_id", True),
    Activity: (b"ccwatch/v1/activity\n", "terminal_id", True),
    LocationFix: (b"ccwatch/v1/location\n", "device_id", False),
    LocationBatch: (b"ccwatch/v1.1/location-batch\n", "device_id", False),
    DeviceEvent: (b"ccwatch/v1/device\n", "device_id", False),
}
# Fields added after contract v1 and their defaults (v1.1: a fix's datum): at the default,
# not in the canonical form, which is then the form a v1 device signs.
ADDED: dict[str, object] = {"datum": "wgs84"}
_encoder = msgspec.json.Encoder(order="sorted")


def new_secret() -> bytes:
    """A fresh 256-bit device secret."""
    return secrets.token_bytes(32)


def canonical(record: Signed) -> bytes:
    """What is signed: the record's type, then its fields but ``sig`` (and any field added
    after v1 that is at its default), sorted, compact."""
    fields = msgspec.structs.asdict(record)
    del fields["sig"]
    for name, default in ADDED.items():
        if name in fields and fields[name] == default:
            del fields[name]
    return KINDS[type(record)][0] + _encoder.encode(fields)


def signature(record: Signed, secret: bytes) -> str:
    return hmac.new(secret, canonical(record), hashlib.sha256).hexdigest()


def sign(record: S, key: DeviceKey) -> S:
    """The record with the key's id and its signature. Signed as the receiver will decode
    it (an ``int`` given for a ``float`` field is signed as the float it becomes); an
    invalid record is signed as it is (the receiver refuses it for what is wrong with it)."""
    with_key = msgspec.structs.replace(record, key_id=key.key_id, sig=None)
    try:
        decoded = msgspec.json.decode(msgspec.json.encode(with_key), type=type(record))
    except msgspec.ValidationError:
        decoded = with_key
    return msgspec.structs.replace(decoded, sig=signature(decoded, key.secret))


def verify(record: Signed, keys: Mapping[str, DeviceKey]) -> Rejection | None:
    """None if a key of the record's own device signed it before the key was retired;
    otherwise why not: ``unsigned``, ``unknown_key``, ``forged`` (wrong signature, or the
    key of another device or subject) or ``retired_key`` (for a batch, see :func:`retired`
    for each fix). Never names the secret."""
    if record.key_id is None or record.sig is None:
        return Rejection("unsigned", "the record has no key_id and sig")
    key = keys.get(record.key_id)
    if key is None:
        return Rejection("unknown_key", f"no key {record.key_id!r} is enrolled")
    _, field, kiosk = KINDS[type(record)]
    device = getattr(record, field)
    if key.device_id != device or key.subject_id != (None if kiosk else record.subject_id):
        return Rejection("forged", f"key {key.key_id!r} is not a key of {field} {device!r}")
    digest = hmac.digest(key.secret, canonical(record), "sha256")
    if not hmac.compare_digest(digest, bytes.fromhex(record.sig)):
        return Rejection("forged", "the signature does not match the record")
    if isinstance(record, LocationBatch):  # each fix is checked on its own (retired)
        return None
    return retired(record.occurred_at, key)


def retired(when: datetime, key: DeviceKey | None) -> Rejection | None:
    """Why a record taken at ``when`` may not be signed by ``key``: it was retired then."""
    if key is None or key.retired_at is None or when < key.retired_at:
        return None
    return Rejection(
        "retired_key", f"key {key.key_id!r} was retired at {key.retired_at.isoformat()}"
    )


def signing_keys(keys: Iterable[DeviceKey], at: datetime | None = None) -> dict[str, DeviceKey]:
    """Per device, the key it signs with: its newest key not retired (as of ``at``)."""
    out: dict[str, DeviceKey] = {}
    for key in sorted(keys, key=lambda k: (k.created_at is not None, k.created_at, k.key_id)):
        if key.retired_at is None or (at is not None and at < key.retired_at):
            out[key.device_id] = key
    return out

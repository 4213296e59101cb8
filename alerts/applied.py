"""The event ids a subject has applied, and what their records said: duplicates told from
conflicts. Pure.

Ids are scoped per subject: records are keyed by subject and each subject's state keeps
its own memory, so subject B reusing subject A's id is judged on its own and every id
derived from it (alerts, points entries, recommendations) names its subject. Within a
subject an id names one record whatever terminal or device sent it; the terminal or device
is part of the content, so the same id from another one is a conflict.

- the same id, the same content (:func:`digest`: the decoded record, not its bytes, so a
  retry serialised differently is still the same): a duplicate, ignored and counted;
- the same id, other content: a conflict, dead-lettered; the first stays.

The memory is bounded per input (``[inputs]`` of ``alerts/policy.toml``): the
``ids_keep`` ids applied last at most, none older in event time than ``ids_keep_s``
before the latest one applied. A repeat older than
that is applied again, which the detectors and the ledger absorb (derived ids, the
month's counted events), but a conflict with it goes unnoticed.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

import msgspec

Verdict = Literal["new", "duplicate", "conflict"]
# Fields that travel with a record but are not its content: a retry signed with a rotated
# key is the same record.
NOT_CONTENT: frozenset[str] = frozenset({"key_id", "sig"})


class Seen(msgspec.Struct, frozen=True, array_like=True):
    digest: int
    at: datetime  # event time


class Keep(msgspec.Struct, frozen=True):
    seconds: float
    count: int


class Applied(msgspec.Struct, frozen=True, omit_defaults=True):
    """Per input topic: event id (:func:`short`) -> its content's digest and event time, in
    the order applied."""

    ids: dict[str, dict[str, Seen]] = {}


def digest(record: msgspec.Struct) -> int:
    """A 64-bit digest of a record's content: its type and fields as decoded, times in
    UTC, fields at their default left out (so a field added to the contract later does not
    change it); not the bytes it came in (field order, spacing, offsets, unknown fields)."""
    content: list[Any] = [type(record).__name__]
    for (name, default, required), value in zip(
        _fields(type(record)), msgspec.structs.astuple(record), strict=True
    ):
        if (not required and (value is default or value == default)) or name in NOT_CONTENT:
            continue
        content.append(name)
        content.append(value.astimezone(UTC) if isinstance(value, datetime) else value)
    raw = msgspec.json.encode(content)
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


@cache
def _fields(kind: type[msgspec.Struct]) -> list[tuple[str, Any, bool]]:
    return [(f.name, f.default, f.required) for f in msgspec.structs.fields(kind)]


def short(event_id: str) -> str:
    """The form an id is remembered in: its 64-bit BLAKE2b digest in 11 base64 characters,
    whatever its length (an hour of 36-character UUIDs would be most of a subject's state;
    64 bits make a collision among one subject's few hundred ids negligible)."""
    raw = hashlib.blake2b(event_id.encode(), digest_size=8).digest()
    return base64.urlsafe_b64encode(raw)[:11].decode()


def judge(applied: Applied, event_id: str, content: int) -> Verdict:
    key = short(event_id)
    for seen in applied.ids.values():
        found = seen.get(key) or seen.get(event_id)  # (whole: states written before)
        if found is not None:
            return "duplicate" if found.digest == content else "conflict"
    return "new"


def remember(
    applied: Applied, kind: str, event_id: str, content: int, at: datetime, keep: Keep
) -> Applied:
    """The memory with one more id of input ``kind``: the most recently applied
    ``keep.count`` at most, none older than ``keep.seconds`` before this one."""
    entries = dict(applied.ids.get(kind, {}))
    key = short(event_id)
    entries.pop(event_id, None)
    entries.pop(key, None)
    entries[key] = Seen(content, at)
    horizon = at - timedelta(seconds=keep.seconds)
    while len(entries) > keep.count or next(iter(entries.values())).at < horizon:
        del entries[next(iter(entries))]  # the longest remembered
    return Applied({**applied.ids, kind: entries})

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

The memory is bounded per input (``[inputs]`` of ``alerts/policy.toml``): at most
``ids_keep`` ids, within ``ids_keep_s`` of event time of the newest. A repeat older than
that is applied again, which the detectors and the ledger absorb (derived ids, the
month's counted events), but a conflict with it goes unnoticed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

Verdict = Literal["new", "duplicate", "conflict"]
# Fields that travel with a record but are not its content (a retry may carry others).
NOT_CONTENT: frozenset[str] = frozenset()


class Seen(msgspec.Struct, frozen=True, array_like=True):
    digest: int
    at: datetime  # event time


class Keep(msgspec.Struct, frozen=True):
    seconds: float
    count: int


class Applied(msgspec.Struct, frozen=True, omit_defaults=True):
    """Per input topic: event id -> its content's digest and event time, oldest first."""

    ids: dict[str, dict[str, Seen]] = {}


def digest(record: msgspec.Struct) -> int:
    """A 64-bit digest of a record's content: its type and fields as decoded, times in
    UTC; not the bytes it came in (field order, spacing, offsets, unknown fields)."""
    fields = {
        name: _canonical(getattr(record, name))
        for name in record.__struct_fields__
        if name not in NOT_CONTENT
    }
    raw = msgspec.json.encode([type(record).__name__, fields])
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def _canonical(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def judge(applied: Applied, event_id: str, content: int) -> Verdict:
    for seen in applied.ids.values():
        found = seen.get(event_id)
        if found is not None:
            return "duplicate" if found.digest == content else "conflict"
    return "new"


def remember(
    applied: Applied, kind: str, event_id: str, content: int, at: datetime, keep: Keep
) -> Applied:
    """The memory with one more id of input ``kind``, within its bounds."""
    entries = {**applied.ids.get(kind, {}), event_id: Seen(content, at)}
    newest = max(s.at for s in entries.values())
    horizon = newest.timestamp() - keep.seconds
    kept = [(k, s) for k, s in entries.items() if s.at.timestamp() >= horizon]
    if len(kept) > keep.count:
        kept = sorted(kept, key=lambda item: item[1].at)[-keep.count :]
    return Applied({**applied.ids, kind: dict(kept)})

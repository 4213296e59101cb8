"""The limits every input record keeps, checked at the door before anything else sees it.

What the database or the producer would reject is refused here with its own reason code
(docs/contract.md): the size of the raw record, the nesting of its JSON, control characters
in its strings. The checks cost nothing on an ordinary record: the size is a length, the
nesting is checked exactly only when the record has many brackets, and the strings only
when the record holds an escape sequence or a DEL character.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

MAX_RECORD_BYTES = 64 * 1024  # a record's raw bytes; a real one is about 250
MAX_DEAD_LETTER_BYTES = 16 * 1024  # the copy of a record on the dead-letter topic
MAX_DEAD_LETTER_KEY_BYTES = 1024  # the copy of its key
MAX_DEPTH = 16  # nested JSON arrays and objects; ours are 1 deep, vendors' extras may nest
MAX_ID = 128  # characters of an id
MAX_BATCH_FIXES = 300  # fixes in one batched upload (v1.1): 5 minutes at one a second
MAX_NOTE = 2000  # characters of an officer's note
MAX_EVENT_AGE_S = 400 * 86400.0  # default age bound of event times (CCWATCH_MAX_EVENT_AGE_S)
FREE_TEXT = frozenset({"note"})  # officers' notes: may keep line breaks and tabs

CONTROL = "\x00-\x1f\x7f"
NO_CONTROL = f"^[^{CONTROL}]*$"  # the JSON Schema pattern of a string field
NO_CONTROL_BUT_LINES = "^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # notes: \t \n \r allowed
_control = re.compile(f"[{CONTROL}]")
_control_in_text = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_strings = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_brackets = re.compile(rb"[\[\]{}]")


def too_large(payload: bytes) -> bool:
    return len(payload) > MAX_RECORD_BYTES


def too_deep(payload: bytes) -> bool:
    """Whether the JSON nests arrays and objects deeper than :data:`MAX_DEPTH` (brackets
    inside strings do not count). Exact only when there are more brackets than that."""
    if 0x5B not in payload and payload.find(0x7B, 1) < 0:  # one object, no array: ours
        return False
    if payload.count(0x5B) + payload.count(0x7B) <= MAX_DEPTH:
        return False
    depth = 0
    for match in _brackets.finditer(_strings.sub(b'""', payload)):
        depth += 1 if match.group() in b"[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def may_hold_control(payload: bytes) -> bool:
    """Whether a decoded string of the record can hold a control character: JSON carries
    them escaped (``\\u0000``, ``\\n``...), except DEL, which may come raw."""
    return 0x5C in payload or 0x7F in payload  # a byte's presence: memchr, nanoseconds


def control_character(record: msgspec.Struct, path: str = "$") -> str | None:
    """The path of the first string field holding a control character, if any."""
    for name in record.__struct_fields__:
        found = _in_value(getattr(record, name), f"{path}.{name}", name in FREE_TEXT)
        if found is not None:
            return found
    return None


def _in_value(value: Any, path: str, free_text: bool) -> str | None:
    if isinstance(value, str):
        pattern = _control_in_text if free_text else _control
        return path if pattern.search(value) else None
    if isinstance(value, msgspec.Struct):
        return control_character(value, path)
    if isinstance(value, list | tuple):
        for n, item in enumerate(value):
            found = _in_value(item, f"{path}[{n}]", free_text)
            if found is not None:
                return found
    return None


def printable(text: str, limit: int = 512) -> str:
    """A detail string safe for a header or a log line: control characters escaped,
    at most ``limit`` characters."""
    safe = _control.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"

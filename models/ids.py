"""Deterministic ids: the same evidence always names the same record."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("6f1c8a52-3c1e-4c1b-9a55-5f0c0c7a2c11")


def derive_id(*parts: str) -> str:
    """A UUIDv5 over the parts; redelivered events map onto the record they made."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))

"""A synthetic population for benchmarks: many subjects spread over Shengsi's offices."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import Engine, insert

from ccwatch.reference import shengsi
from models.reference import PositioningApproval, PositioningReason, Subject


def add_subjects(engine: Engine, count: int, rng: random.Random) -> list[dict[str, object]]:
    """Insert ``count`` subjects (ids ``B-0000000``...) and return their rows."""
    offices = [o.id for o in shengsi().offices]
    people: list[dict[str, object]] = [
        {
            "id": f"B-{i:07d}",
            "name": f"bench{i}",
            "office_id": offices[i % 7],
            "officer_id": None,
            "correction_type": "probation",
            "level": rng.choice(["strict", "normal", "normal", "lenient"]),
            "starts_on": date(2025, 1, 1),
            "ends_on": date(2028, 1, 1),
            "home_lat": None,
            "home_lon": None,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        for i in range(0, len(people), 50_000):
            conn.execute(insert(Subject), people[i : i + 50_000])
    return people


def approve_positioning(engine: Engine, subject_ids: list[str], first: date, last: date) -> None:
    """Approve e-positioning (art. 29) for each subject from ``first`` to ``last`` (local
    dates, inclusive): without an approval in force a worker records a fix but judges
    nothing (``ccwatch_records_without_positioning_approval_total``)."""
    rows = [
        {
            "id": f"bench-positioning-{who}",
            "subject_id": who,
            "reason": PositioningReason.LEFT_WITHOUT_APPROVAL,
            "note": "benchmark",
            "approved_by": "benchmark",
            "decided_by": "benchmark",
            "starts_on": first,
            "ends_on": last,
        }
        for who in subject_ids
    ]
    with engine.begin() as conn:
        for i in range(0, len(rows), 50_000):
            conn.execute(insert(PositioningApproval), rows[i : i + 50_000])

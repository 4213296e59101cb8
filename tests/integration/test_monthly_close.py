"""The monthly close on demand, recommendations and officers' decisions, through the worker."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ccwatch.reference import shengsi
from models.events import Recommendation, decode, encode
from models.records import PointsEntryRow, RecommendationRow
from streams.control import request_close
from tests.factories import activity, checkin, decide, payload
from tests.integration.harness import System

H = timedelta(hours=1)


def test_close_proposes_and_an_officer_decides(system: System) -> None:
    s = system.settings
    # One subject with a full month of activity at its own office.
    who = "SS-0002"
    for n in range(4):
        system.send(
            s.topics.checkins,
            who.encode(),
            payload(checkin(n, -n * 7 * 24 * H - 2 * H, subject=who)),
        )
    for n, kind in enumerate(["study", "community_service"]):
        event = activity(n, -H, kind, 12, subject=who)
        system.send(s.topics.activities, who.encode(), encode(event))
    system.wait_for("activity scored", lambda: count(system, subject_id=who) == 6)

    request_close(s.kafka_bootstrap, s.topics, s.partitions, "2026-11", "test")
    supervised = [
        p
        for p in shengsi().subjects
        if p.starts_on <= date(2026, 11, 30) and p.ends_on >= date(2026, 11, 1)
    ]
    system.wait_for(
        "a base entry for every supervised subject",
        lambda: count(system, rule_id="base.monthly") == len(supervised),
    )
    request_close(s.kafka_bootstrap, s.topics, s.partitions, "2026-11", "test")  # a repeat
    # A check-in of November that arrives after its close: a visible late entry in December.
    late = checkin(9, -3 * 24 * H, subject=who)
    system.send(
        s.topics.checkins, who.encode(), payload(late), received_at=late.occurred_at + 80 * H
    )
    system.wait_for(
        "a late entry booked in December",
        lambda: count(system, subject_id=who, corrects_month="2026-11", local_month="2026-12"),
    )
    recs = system.wait_for("recommendations", lambda: rec_rows(system))
    assert {r.kind for r in recs} >= {"admonition"}  # strict subjects missed weeks

    [proposed] = system.wait_for(
        "the commendation on its topic",
        lambda: [
            decode(r.value, Recommendation)
            for r in system.records(s.topics.recommendations)
            if r.key == who.encode()
        ],
    )
    assert isinstance(proposed, Recommendation) and proposed.kind == "commendation"
    system.send(
        s.topics.decisions, who.encode(), encode(decide(proposed.recommendation_id, H, subject=who))
    )
    system.wait_for(
        "the decision recorded",
        lambda: [r for r in rec_rows(system) if r.subject_id == who and r.status == "confirmed"],
    )
    assert count(system, rule_id="base.monthly") == len(supervised)  # the repeat changed nothing


def count(system: System, **where: object) -> int:
    with Session(system.engine) as session:
        return int(
            session.scalar(select(func.count()).select_from(PointsEntryRow).filter_by(**where)) or 0
        )


def rec_rows(system: System) -> list[RecommendationRow]:
    with Session(system.engine) as session:
        return list(session.scalars(select(RecommendationRow)))

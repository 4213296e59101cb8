"""Nothing is tracked, alerted, scored or mapped outside a subject's supervision (issue 12):
from the day after the term's end or a release (解矫), and before intake, what the subject
or their devices send is dead-lettered as ``not_supervised`` and ticks judge nothing; the
officers' actions still apply. Decisions, not the transport: no broker here."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from alerts.clock import ManualClock
from ccwatch.seed import seed
from models.db import metadata
from models.events import Rejection, Tick, encode
from models.reference import EndReason, Subject
from models.registry import load_registry
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Pipeline
from tests.factories import OUTSIDE, T0, action, checkin, device, fix, payload, registry

M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
DAY = date(2026, 11, 29)  # T0's local day


def pipeline(starts: date = date(2025, 1, 1), ends: date = date(2028, 1, 1)) -> Pipeline:
    reg = registry()
    for sid in ("SS-0001", "SS-0007"):
        reg.subjects[sid] = replace(reg.subjects[sid], starts_on=starts, ends_on=ends)
    return Pipeline(reg, load_ruleset(), ManualClock(T0 + 60 * M), max_clock_skew_s=300)


def reason(result: object) -> str:
    assert isinstance(result, Rejection), result
    return result.reason


@pytest.mark.parametrize(
    ("starts", "ends"), [(DAY + D, date(2028, 1, 1)), (date(2025, 1, 1), DAY - D)]
)
def test_records_outside_supervision_are_dead_lettered(starts: date, ends: date) -> None:
    p = pipeline(starts, ends)
    assert reason(p.validate_location(payload(fix(1, M, OUTSIDE)), b"SS-0007")) == "not_supervised"
    assert reason(p.validate_checkin(payload(checkin(1, M)), b"SS-0001")) == "not_supervised"
    event = p.validate_device(encode(device(1, M, subject="SS-0007")), b"SS-0007")
    assert reason(event) == "not_supervised"


def test_the_last_day_and_the_first_are_supervised() -> None:
    for p in (pipeline(DAY, date(2028, 1, 1)), pipeline(date(2025, 1, 1), DAY)):
        fixed = p.validate_location(payload(fix(1, M, OUTSIDE)), b"SS-0007")
        assert not isinstance(fixed, Rejection)


def test_officers_can_still_act_after_a_release() -> None:
    p = pipeline(ends=DAY - D)
    record = p.validate_action(encode(action(1, M, subject="SS-0007")), b"SS-0007")
    assert not isinstance(record, Rejection)


def test_a_tick_after_the_end_judges_nothing() -> None:
    live = pipeline()
    state = live.apply_location(EMPTY_STATE, fix(1, -10 * H, OUTSIDE)).state  # silent since
    tick = Tick(event_id="tick", at=T0)
    assert live.tick(state, "SS-0007", tick).alerts  # signal lost while supervised
    released = pipeline(ends=DAY - D)
    assert released.tick(state, "SS-0007", tick).alerts == []


def test_a_release_cuts_the_term_for_the_workers() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    seed(engine)
    with Session(engine) as session, session.begin():
        subject = session.get(Subject, "SS-0007")
        assert subject is not None
        subject.released_on, subject.end_reason = DAY, EndReason.REVOKED
    assert load_registry(engine).subjects["SS-0007"].ends_on == DAY - D

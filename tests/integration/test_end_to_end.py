"""Terminal records through the real broker and worker into topics and the database."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.events import AlertEvent, PointsEntry, batch_of, decode, encode
from models.records import Alert, AlertTransitionRow, PointsEntryRow, Position
from models.signing import sign
from tests.factories import INSIDE, OUTSIDE, checkin, device_key, fix, payload
from tests.integration.harness import System

M = timedelta(minutes=1)


def count(system: System, model: type, **where: object) -> int:
    query = select(func.count()).select_from(model).filter_by(**where)
    with Session(system.engine) as session:
        return int(session.scalar(query) or 0)


def test_checkin_is_one_points_entry_even_when_sent_twice(system: System) -> None:
    topics = system.settings.topics
    event = checkin(1, 0 * M, subject="SS-0002")
    system.send(topics.checkins, b"SS-0002", payload(event))
    system.send(topics.checkins, b"SS-0002", payload(event))  # the kiosk's retry
    system.wait_for(
        "the points entry in the database",
        lambda: count(system, PointsEntryRow, subject_id="SS-0002"),
    )
    [record] = [r for r in system.records(topics.points) if r.key == b"SS-0002"]
    entry = decode(record.value, PointsEntry)
    assert isinstance(entry, PointsEntry)
    assert entry.evidence == [event.event_id] and entry.rule_id == "checkin.on_time"
    assert count(system, PointsEntryRow, subject_id="SS-0002") == 1


def test_leaving_raises_one_alert_and_returning_resolves_it(system: System) -> None:
    topics, key = system.settings.topics, b"SS-0003"
    for n, where in enumerate([INSIDE, OUTSIDE, OUTSIDE, OUTSIDE]):  # the ferry takes 90 min
        system.send(topics.locations, key, payload(fix(n, n * 90 * M, where, subject="SS-0003")))
    system.send(topics.locations, key, payload(fix(1, 90 * M, OUTSIDE, subject="SS-0003")))
    system.wait_for("the open alert row", lambda: count(system, Alert, subject_id="SS-0003"))
    alerts = [decode(r.value, AlertEvent) for r in system.records(topics.alerts) if r.key == key]
    assert [a.transition for a in alerts if isinstance(a, AlertEvent)] == ["opened"]
    assert count(system, Alert, subject_id="SS-0003", state="open") == 1

    # back after 9 hours without a fix: signal lost is decided on the way, then cleared
    system.send(topics.locations, key, payload(fix(9, 9 * 90 * M, INSIDE, subject="SS-0003")))
    gone = dict(subject_id="SS-0003", alert_type="out_of_bounds", state="resolved")
    system.wait_for("resolution", lambda: count(system, Alert, **gone))
    with Session(system.engine) as session:
        alert = session.scalars(
            select(Alert).filter_by(subject_id="SS-0003", alert_type="out_of_bounds")
        ).one()
        steps = session.scalars(
            select(AlertTransitionRow.transition).filter_by(alert_id=alert.id)
        ).all()
    assert alert.evidence == ["fix-SS-0003-1"] and alert.rule == "out_of_bounds/3"
    assert sorted(steps) == ["opened", "resolved"]


def test_bad_input_is_dead_lettered_and_good_neighbours_are_processed(system: System) -> None:
    topics, key = system.settings.topics, b"SS-0004"
    good = [checkin(1, 0 * M, subject="SS-0004"), checkin(2, -24 * 60 * M, subject="SS-0004")]
    bad = [
        (key, b"\x00\x9f garbage", "undecodable"),
        (
            key,
            payload(good[0]).replace(b"+00:00", b"").replace(b"Z", b""),
            "timestamp_without_offset",
        ),
        (key, payload(fix(1, M, (95.0, 122.4), subject="SS-0004")), "coordinates_out_of_range"),
        (b"SS-9999", payload(checkin(3, M, subject="SS-9999")), "unknown_subject"),
        (
            key,
            payload(checkin(4, M, subject="SS-0004")).replace(b'"face"', b'"iris"'),
            "schema_violation",
        ),
    ]
    system.send(topics.checkins, key, payload(good[0]))
    for k, value, _ in bad:
        topic = topics.locations if b"device_id" in value else topics.checkins
        system.send(topic, k, value)
    system.send(topics.checkins, key, payload(good[1]))

    system.wait_for(
        "both good check-ins scored",
        lambda: count(system, PointsEntryRow, subject_id="SS-0004") == 2,
    )
    dead = system.wait_for(
        "every bad record dead-lettered",
        lambda: len(r := system.records(topics.dead_letter)) >= 5 and r,
    )
    by_payload = {r.value: dict(r.headers) for r in dead}
    for _key, value, reason in bad:
        headers = by_payload[value]  # the original payload, verbatim
        assert headers["ccwatch.reason"].decode() == reason
        assert headers["ccwatch.detail"] and headers["ccwatch.topic"]
    assert all(w.poll() is None for w in system.workers), "the worker must keep running"


def test_a_batched_upload_is_judged_fix_by_fix_and_a_bad_fix_is_set_aside(
    system: System,
) -> None:
    """Contract v1.1: one record, four fixes of the ferry out; the third is out of range.
    It alone is dead-lettered, naming its index; the others open the alert and reach the
    map."""
    topics, key, who = system.settings.topics, b"SS-0005", "SS-0005"
    sent = [fix(n, n * 90 * M, where, subject=who) for n, where in enumerate([INSIDE, OUTSIDE])]
    sent += [fix(2, 100 * M, OUTSIDE, subject=who), fix(3, 180 * M, OUTSIDE, subject=who)]
    upload = batch_of(sent)
    raw = [dict(f) for f in upload.fixes]
    raw[2]["lat"] = 95.0
    value = encode(sign(msgspec.structs.replace(upload, fixes=raw), device_key("P-" + who, who)))
    system.send(topics.locations, key, value, received_at=sent[-1].occurred_at)
    system.wait_for("the open alert row", lambda: count(system, Alert, subject_id=who))
    dead = system.wait_for(
        "the bad fix dead-lettered",
        lambda: [r for r in system.records(topics.dead_letter) if r.value == value],
    )
    [headers] = [dict(r.headers) for r in dead]
    assert headers["ccwatch.reason"] == b"coordinates_out_of_range"
    assert headers["ccwatch.detail"].startswith(b"fixes[2]")
    system.wait_for("three fixes on the map", lambda: count(system, Position, subject_id=who) == 3)
    assert all(w.poll() is None for w in system.workers), "the worker must keep running"

"""Detection through the real worker: ticks without new records, officers' actions,
security periods switched on and off, and gathering across partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models.events import AlertAction, AlertEvent, LocationFix, decode, encode
from models.records import Alert
from models.reference import SecurityPeriodRow
from streams.control import partition_of
from tests.factories import signed
from tests.integration.harness import System

WORKER_SETTINGS = {"tick_interval_s": 1.0}
M = timedelta(minutes=1)


def fix(n: int, who: str, at: datetime, where: tuple[float, float]) -> bytes:
    return encode(
        signed(
            LocationFix(
                event_id=f"{who}-{n}-{at.isoformat()}",
                subject_id=who,
                device_id=f"P-{who}",
                occurred_at=at,
                lat=where[0],
                lon=where[1],
                accuracy_m=15.0,
                source="gps",
            )
        )
    )


def opened(system: System, who: str, kind: str) -> list[AlertEvent]:
    out = []
    for r in system.records(system.settings.topics.alerts):
        a = decode(r.value, AlertEvent)
        if isinstance(a, AlertEvent) and a.subject_id == who and a.alert_type == kind:
            out.append(a)
    return out


def test_silence_is_detected_on_ticks_with_no_new_record(system: System) -> None:
    now = datetime.now(UTC)
    system.send(
        system.settings.topics.locations,
        b"SS-0005",
        fix(1, "SS-0005", now - 3 * 60 * M, (30.712, 122.451)),
    )
    [alert] = system.wait_for("signal lost", lambda: opened(system, "SS-0005", "signal_lost"), 60)
    assert alert.transition == "opened" and alert.occurred_at == now - 3 * 60 * M


def test_an_officer_acknowledges_and_resolves_through_the_topic(system: System) -> None:
    t = system.settings.topics
    now = datetime.now(UTC)
    system.send(t.locations, b"SS-0006", fix(1, "SS-0006", now - 30 * M, (30.400, 122.300)))
    [alert] = system.wait_for("the departure", lambda: opened(system, "SS-0006", "out_of_bounds"))
    for n, action in enumerate(["acknowledge", "resolve"]):
        system.send(
            t.actions,
            b"SS-0006",
            encode(
                AlertAction(
                    event_id=f"a-{n}",
                    subject_id="SS-0006",
                    alert_id=alert.alert_id,
                    action=action,  # type: ignore[arg-type]
                    officer_id="O-caiyuan-2",
                    occurred_at=now - (20 - n) * M,
                    outcome="verified_violation" if action == "resolve" else None,
                )
            ),
        )
    row = system.wait_for("the resolution", lambda: _row(system, alert.alert_id, "resolved"))
    assert row.outcome == "verified_violation" and row.acknowledged_at is not None


def test_a_security_period_takes_effect_and_ends_without_restart(system: System) -> None:
    t = system.settings.topics
    now = datetime.now(UTC)
    with Session(system.engine) as session, session.begin():
        session.add(
            SecurityPeriodRow(
                id="p-test", name="两会", starts_at=now - 60 * M, ends_at=now + 60 * M, offices=[]
            )
        )
    import time

    time.sleep(3 * system.settings.registry_refresh_s)
    system.send(t.locations, b"SS-0008", fix(1, "SS-0008", now - 20 * M, (30.530, 122.300)))
    system.send(t.locations, b"SS-0008", fix(2, "SS-0008", now - 10 * M, (30.490, 122.300)))
    alerts = system.wait_for(
        "an escalated alert after one fix",
        lambda: len(a := opened(system, "SS-0008", "out_of_bounds")) >= 2 and a,
    )
    assert [a.transition for a in alerts] == ["opened", "escalated"]
    with Session(system.engine) as session, session.begin():
        session.execute(delete(SecurityPeriodRow))
    time.sleep(3 * system.settings.registry_refresh_s)
    system.send(t.locations, b"SS-0009", fix(1, "SS-0009", now - 20 * M, (30.530, 122.300)))
    system.send(t.locations, b"SS-0009", fix(2, "SS-0009", now - 2 * M, (30.490, 122.300)))
    time.sleep(3)  # within the normal dwell time (10 min) of the outside fix
    assert opened(system, "SS-0009", "out_of_bounds") == []  # one fix is not enough again


def test_co_offenders_on_different_partitions_are_seen_together(system: System) -> None:
    t = system.settings.topics
    assert partition_of(b"SS-0010", 4) != partition_of(b"SS-0012", 4)
    start = datetime.now(UTC) - 90 * M
    for n in range(10):
        for who, dlat in (("SS-0010", 0.0), ("SS-0012", 0.0004)):
            system.send(
                t.locations,
                who.encode(),
                fix(n, who, start + n * 5 * M, (30.7150 + dlat, 122.4550)),
            )
    for who in ("SS-0010", "SS-0012"):
        [alert] = system.wait_for(f"{who}'s gathering alert", partial(first_gathering, system, who))
        assert alert.transition == "opened"


def first_gathering(system: System, who: str) -> list[AlertEvent]:
    return opened(system, who, "gathering")[:1]


def _row(system: System, alert_id: str, state: str) -> Alert | None:
    with Session(system.engine) as session:
        return session.scalars(select(Alert).filter_by(id=alert_id, state=state)).first()

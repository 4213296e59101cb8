"""A register change reaches the workers as records in the logs they judge (issue 12): a
fix sent right after the API answers is judged with the change, however the worker's
agents interleave. Each test changes the register through the API, sends the subject's
fix at once, then a fix of another subject on the same partition (a barrier: once its
alert and its map position are written, the first fix was handled)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session

from ccwatch.broker import free_port
from ccwatch.web.app import create_app
from ccwatch.web.auth import hash_password
from models.access import Role, User
from models.ids import derive_id
from models.localtime import local
from models.records import Position
from models.reference import PositioningApproval
from streams.control import partition_of
from tests.factories import OUTSIDE
from tests.integration.harness import System
from tests.integration.test_detection import fix, opened

PORT = free_port()
WORKER_SETTINGS = {"metrics_port": PORT}
PASSWORD = "correct horse battery"
S = timedelta(seconds=1)


@pytest.fixture(scope="module")
def web(system: System) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The web app on the system's database and topics, logged in as the command center."""
    with Session(system.engine) as session, session.begin():
        hashed = hash_password(PASSWORD)
        session.add(User(id="cc", name="cc", role=Role.COMMAND, password_hash=hashed))
    with TestClient(create_app(system.settings, system.engine)) as client:
        response = client.post("/api/login", json={"username": "cc", "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield client, {"X-CSRF-Token": response.json()["csrf"]}


def away(system: System, who: str, at: datetime) -> str:
    """Send a fix of ``who`` at Luchao port, Shanghai (outside at once); its event id."""
    value = fix(1, who, at, OUTSIDE)
    system.send(system.settings.topics.locations, who.encode(), value)
    return f"{who}-1-{at.isoformat()}"


def barrier(system: System, subject: str, other: str, at: datetime) -> None:
    """``other``'s fix after ``subject``'s on the same partition: its alert and its map
    position mean ``subject``'s fix was handled by both the detection and the map."""
    n = system.settings.partitions
    assert partition_of(subject.encode(), n) == partition_of(other.encode(), n)
    event_id = away(system, other, at + S)
    system.wait_for(f"{other}'s alert", lambda: opened(system, other, "out_of_bounds"))
    system.wait_for(f"{other}'s position on the map", lambda: mapped(system, other, event_id))


def mapped(system: System, who: str, event_id: str) -> bool:
    row = derive_id("position", who, event_id)  # as models.rows.position_row
    with Session(system.engine) as session:
        return session.get(Position, row) is not None


def dead_letters(system: System, reason: str) -> list[bytes]:
    topic = system.settings.topics.dead_letter
    return [
        r.value
        for r in system.records(topic)
        if dict(r.headers).get("ccwatch.reason") == reason.encode()
    ]


def test_a_fix_right_after_a_leave_is_approved_is_covered(
    system: System, web: tuple[TestClient, dict[str, str]]
) -> None:
    client, csrf = web
    now = datetime.now(UTC)
    leave = {
        "starts_at": (now - 60 * S).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "destination": "上海",
    }
    asked = client.post("/api/subjects/SS-0001/leaves", headers=csrf, json=leave)
    assert asked.status_code == 201, asked.text
    decided = client.post(f"/api/leaves/{asked.json()['leave_id']}/approve", headers=csrf, json={})
    assert decided.status_code == 200, decided.text
    at = datetime.now(UTC)
    event_id = away(system, "SS-0001", at)  # at once: inside the leave just approved
    barrier(system, "SS-0001", "SS-0002", at)  # no leave: one alert
    assert opened(system, "SS-0001", "out_of_bounds") == []
    assert mapped(system, "SS-0001", event_id)  # judged, and on the map


def test_after_a_release_the_next_fix_is_ignored(
    system: System, web: tuple[TestClient, dict[str, str]]
) -> None:
    client, csrf = web
    today = local(datetime.now(UTC)).date()  # the first day no longer supervised
    body = {"on": today.isoformat(), "reason": "revoked", "document": "(2026)收监9号"}
    released = client.post("/api/subjects/SS-0005/release", headers=csrf, json=body)
    assert released.status_code == 200, released.text
    at = datetime.now(UTC)
    event_id = away(system, "SS-0005", at)
    barrier(system, "SS-0005", "SS-0009", at)
    assert opened(system, "SS-0005", "out_of_bounds") == []  # not judged
    assert not mapped(system, "SS-0005", event_id)  # not on the map
    refused = system.wait_for("the dead letter", lambda: dead_letters(system, "not_supervised"))
    assert [v for v in refused if event_id.encode() in v]


def test_a_revoked_positioning_approval_stops_detection_at_once(
    system: System, web: tuple[TestClient, dict[str, str]]
) -> None:
    client, csrf = web
    today = local(datetime.now(UTC)).date()
    with Session(system.engine) as session:
        [approval] = session.scalars(
            select(PositioningApproval.id).where(
                PositioningApproval.subject_id == "SS-0003",
                PositioningApproval.starts_on <= today,
                PositioningApproval.ends_on >= today,
            )
        )
    revoked = client.post(f"/api/positioning/{approval}/revoke", headers=csrf, json={})
    assert revoked.status_code == 200, revoked.text
    at = datetime.now(UTC)
    event_id = away(system, "SS-0003", at)
    barrier(system, "SS-0003", "SS-0011", at)
    assert opened(system, "SS-0003", "out_of_bounds") == []  # not judged
    assert not mapped(system, "SS-0003", event_id)  # not kept
    assert dead_letters(system, "no_positioning_approval") == []  # valid input: counted
    assert unapproved_fixes() >= 1


def unapproved_fixes() -> float:
    url = f"http://127.0.0.1:{PORT}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ccwatch_records_without_positioning_approval_total"
        and sample.labels.get("topic") == "locations"
    )

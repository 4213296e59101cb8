"""The command-center API: log-in, roles, office scope enforced by the API, CSRF, audit,
actions sent to the workers, and alerts pushed live (server-sent events)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ccwatch.broker import EmbeddedBroker
from ccwatch.settings import Settings
from models.access import AuditEntry
from models.db import make_engine
from models.events import (
    AlertAction,
    RegisterChanged,
    decode,
    decode_control,
    encode,
)
from models.reference import Subject
from tests.integration.webapp import NOW, PASSWORD, alert, login, web_app


@pytest.fixture
def api(broker: EmbeddedBroker, database_url: str) -> Iterator[tuple[TestClient, Settings]]:
    with web_app(broker, database_url) as client_and_settings:
        yield client_and_settings


def records(settings: Settings, topic: str) -> list[tuple[int, bytes]]:
    """Every record of a topic so far: (partition, value)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    parts = [TopicPartition(topic, p) for p in range(settings.partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    found = [(r.partition, r.value) for r in consumer]
    consumer.close()
    return found


def test_everything_needs_a_log_in(api: tuple[TestClient, Settings]) -> None:
    client, _ = api
    assert client.get("/api/alerts").status_code == 401
    assert client.post("/api/login", json={"username": "cy", "password": "nope"}).status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_an_officer_sees_only_their_office(api: tuple[TestClient, Settings]) -> None:
    client, settings = api
    login(client, "cy")
    alerts = client.get("/api/alerts").json()
    assert [a["alert_id"] for a in alerts] == ["a-1"]  # nothing of gouqi, not even a count
    assert client.get("/api/alerts?office=gouqi").json() == []
    subjects = client.get("/api/subjects").json()
    assert subjects and {s["office_id"] for s in subjects} == {"caiyuan"}
    assert client.get("/api/subjects/SS-0030").status_code == 404  # as if it did not exist
    mine = client.get("/api/subjects/SS-0001").json()
    assert mine["office_id"] == "caiyuan" and "ledger" in mine and "leaves" in mine
    assert client.get("/api/audit").status_code == 403
    with Session(make_engine(settings.database_url)) as session:
        actions = {(e.user_id, e.action, e.target) for e in session.scalars(select(AuditEntry))}
    assert {("cy", "subject.denied", "SS-0030"), ("cy", "subject.read", "SS-0001")} <= actions


def test_the_command_center_sees_everything(api: tuple[TestClient, Settings]) -> None:
    client, _ = api
    login(client, "cc")
    assert sorted(a["alert_id"] for a in client.get("/api/alerts").json()) == ["a-1", "a-2"]
    assert client.get("/api/subjects/SS-0030").status_code == 200
    assert client.get("/api/audit").status_code == 403  # administrators only
    assert "/api/alerts/{alert_id}/{action}" in client.get("/api/openapi.json").json()["paths"]


def test_actions_need_csrf_and_scope_and_reach_the_workers(
    api: tuple[TestClient, Settings],
) -> None:
    client, settings = api
    csrf = login(client, "cy")
    assert client.post("/api/alerts/a-1/acknowledge", json={}).status_code == 403  # no token
    other = client.post("/api/alerts/a-2/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
    assert other.status_code == 404  # another office's alert does not exist for them
    bad = client.post(
        "/api/alerts/a-1/acknowledge",
        headers={"X-CSRF-Token": csrf},
        json={"note": "已核实\x00"},
    )
    assert bad.status_code == 422 and bad.json()["detail"]["reason"] == "control_character"
    ok = client.post(
        "/api/alerts/a-1/resolve",
        headers={"X-CSRF-Token": csrf},
        json={"outcome": "verified_violation", "note": "电话核实"},
    )
    assert ok.status_code == 202
    [sent] = [decode(value, AlertAction) for _, value in records(settings, settings.topics.actions)]
    assert isinstance(sent, AlertAction)
    assert (sent.alert_id, sent.action, sent.officer_id, sent.outcome) == (
        "a-1",
        "resolve",
        "cy",
        "verified_violation",
    )


def test_alerts_are_pushed_as_they_happen(api: tuple[TestClient, Settings]) -> None:
    client, settings = api
    login(client, "cc")

    def publish() -> None:
        time.sleep(1.5)
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        producer.send(
            settings.topics.alerts, key=b"SS-0002", value=encode(alert(3, "caiyuan", "SS-0002"))
        )
        producer.flush()

    threading.Thread(target=publish, daemon=True).start()
    with client.stream("GET", "/api/alerts/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                break
    assert event["alert_id"] == "a-3" and event["transition"] == "opened"


def test_static_board_has_no_external_urls() -> None:
    web = Path(__file__).parents[2] / "ccwatch" / "web"
    for path in [*web.glob("templates/*"), *web.glob("static/*.*")]:  # ours, not vendor/
        text = path.read_text("utf-8").replace("http://www.w3.org/2000/svg", "")  # a name
        assert "http://" not in text and "https://" not in text, path


def test_administrators_manage_users_and_periods(api: tuple[TestClient, Settings]) -> None:
    client, settings = api
    csrf = login(client, "cy")
    user = {
        "id": "new",
        "name": "新人",
        "role": "officer",
        "office_id": "caiyuan",
        "password": PASSWORD,
    }
    assert client.post("/api/users", json=user, headers={"X-CSRF-Token": csrf}).status_code == 403
    csrf = login(client, "root")
    assert client.post("/api/users", json=user, headers={"X-CSRF-Token": csrf}).status_code == 201
    period = {
        "name": "两会",
        "starts_at": "2027-03-03T00:00:00+08:00",
        "ends_at": "2027-03-12T00:00:00+08:00",
        "offices": [],
    }
    made = client.post("/api/periods", json=period, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    from models.registry import load_registry

    [p] = load_registry(make_engine(settings.database_url)).periods
    assert p.name == "两会" and p.id == made.json()["period"]
    login(client, "new")  # the new officer can log in
    assert client.get("/api/me").json()["role"] == "officer"


def test_track_reads_are_scoped_and_audited(api: tuple[TestClient, Settings]) -> None:
    client, settings = api
    login(client, "gq")
    assert client.get("/api/subjects/SS-0001/track").status_code == 404
    assert client.get("/api/subjects/SS-0030/track").json() == []
    assert client.get("/subjects/SS-0030").status_code == 200  # the page; data via the API
    with Session(make_engine(settings.database_url)) as session:
        actions = {(e.user_id, e.action, e.target) for e in session.scalars(select(AuditEntry))}
    assert {("gq", "track.denied", "SS-0001"), ("gq", "track.read", "SS-0030")} <= actions


def test_the_register_through_the_api_reaches_every_worker_partition(
    api: tuple[TestClient, Settings],
) -> None:
    client, settings = api
    day = timedelta(days=1)
    cy = {"X-CSRF-Token": login(client, "cy")}
    leave = {"starts_at": NOW.isoformat(), "ends_at": (NOW + 10 * day).isoformat()}
    asked = client.post(
        "/api/subjects/SS-0001/leaves", headers=cy, json=leave | {"destination": "上海"}
    )
    assert asked.status_code == 201 and asked.json()["approver"] == "county"
    leave_id = asked.json()["leave_id"]
    assert [p["leave_id"] for p in client.get("/api/leaves/pending").json()] == [leave_id]
    refused = client.post(f"/api/leaves/{leave_id}/approve", headers=cy, json={})
    assert refused.status_code == 422 and "县司法局" in refused.json()["detail"]["zh"]
    hidden = client.post(
        "/api/subjects/SS-0030/leaves", headers=cy, json=leave | {"destination": "x"}
    )
    assert hidden.status_code == 404  # another office's subject does not exist for them
    naive = client.post(
        "/api/subjects/SS-0001/leaves",
        headers=cy,
        json={"starts_at": "2026-12-01T08:00", "ends_at": "2026-12-02T08:00", "destination": "x"},
    )
    assert naive.status_code == 422
    cc = {"X-CSRF-Token": login(client, "cc")}
    approved = client.post(f"/api/leaves/{leave_id}/approve", headers=cc, json={"note": "同意"})
    assert approved.status_code == 200 and approved.json()["decided_by"] == "cc"
    released = client.post(
        "/api/subjects/SS-0030/release",
        headers=cc,
        json={"on": NOW.date().isoformat(), "reason": "revoked", "document": "(2026)收监2号"},
    )
    assert released.status_code == 200, released.text
    changes = [(p, decode_control(v)) for p, v in records(settings, settings.topics.control)]
    told = {(p, c.change) for p, c in changes if isinstance(c, RegisterChanged)}
    for change in ("leave.request", "leave.approve", "register.release"):
        assert {p for p, c in told if c == change} == set(range(settings.partitions)), change
    approvals = [c for p, c in changes if isinstance(c, RegisterChanged) and p == 0]
    assert [c.change for c in approvals].count("leave.approve") == 1  # not the refusal


def test_register_statistics_are_scoped_and_audited(api: tuple[TestClient, Settings]) -> None:
    client, settings = api
    engine = make_engine(settings.database_url)
    day = date(2026, 11, 30)

    def direct(*where: ColumnElement[bool]) -> int:
        with Session(engine) as session:
            query = select(func.count()).select_from(Subject)
            return session.scalar(query.where(Subject.on_register(day), *where)) or 0

    login(client, "cy")
    mine = client.get("/api/stats", params={"month": "2026-11"}).json()
    assert [g["key"] for g in mine["by"]["office"]] == ["caiyuan"]  # nothing of gouqi
    assert mine["on"] == "2026-11-30"
    assert mine["total"]["on_register"] == direct(Subject.office_id == "caiyuan")
    assert client.get("/api/stats", params={"month": "2026-13"}).status_code == 422
    login(client, "cc")
    county = client.get("/api/stats", params={"year": "2026", "on": "2026-11-30"}).json()
    assert county["total"]["on_register"] == direct() and len(county["by"]["office"]) == 7
    assert client.get("/stats").status_code == 200  # the page; data via the API
    with Session(engine) as session:
        actions = {(e.user_id, e.action, e.target) for e in session.scalars(select(AuditEntry))}
    assert {("cy", "stats.read", "2026-11"), ("cc", "stats.read", "2026")} <= actions


def test_orders_and_positioning_approvals_through_the_api(
    api: tuple[TestClient, Settings],
) -> None:
    client, settings = api
    cy = {"X-CSRF-Token": login(client, "cy")}
    today = NOW.date()
    order = {
        "document": "(2026)浙0922刑初77号禁止令",
        "issued_by": "嵊泗县人民法院",
        "starts_on": today.isoformat(),
        "zones": [{"name": "网吧 <i>cafe</i>", "lat": 30.72, "lon": 122.45, "radius_m": 80,
                   "from_hour": 20, "to_hour": 6}],
        "curfew": {"from_hour": 22, "to_hour": 6, "radius_m": 200},
        "no_contact": ["SS-0002"],
    }  # fmt: skip
    places = client.get("/api/places").json()
    assert any(p["name"].startswith("菜园镇网吧") and p["radius_m"] > 0 for p in places)
    issued = client.post("/api/subjects/SS-0001/orders", headers=cy, json=order)
    assert issued.status_code == 201, issued.text
    order_id = issued.json()["order_id"]
    bad = client.post(
        "/api/subjects/SS-0001/orders", headers=cy, json=order | {"no_contact": ["SS-0001"]}
    )
    assert bad.status_code == 422 and bad.json()["detail"]["zh"]
    assert client.post("/api/subjects/SS-0030/orders", headers=cy, json=order).status_code == 404
    assert [o["order_id"] for o in client.get("/api/subjects/SS-0001/orders").json()] == [order_id]
    lifted = client.post(
        f"/api/orders/{order_id}/lift",
        headers=cy,
        json={"on": (today + timedelta(days=1)).isoformat(), "reason": "法院撤销"},
    )
    assert lifted.status_code == 200, lifted.text
    approval = {
        "reason": "prohibition_order",
        "approved_by": "县司法局王局长",
        "starts_on": (today + timedelta(days=400)).isoformat(),
        "ends_on": (today + timedelta(days=500)).isoformat(),
    }
    too_long = client.post("/api/subjects/SS-0001/positioning", headers=cy, json=approval)
    assert too_long.status_code == 422
    assert "3 months at most" in too_long.json()["detail"]["en"]
    changes = [(p, decode_control(v)) for p, v in records(settings, settings.topics.control)]
    told = {c.change for _, c in changes if isinstance(c, RegisterChanged)}
    assert {"order.issue", "order.lift"} <= told


def test_administrators_manage_offices_and_terminals(api: tuple[TestClient, Settings]) -> None:
    client, settings = api
    office = {"office_id": "lvsi", "name_zh": "泗礁所", "name_en": "Lvsi", "zone": "central",
              "lat": 30.72, "lon": 122.42}  # fmt: skip
    terminal = {"terminal_id": "T-lvsi-1", "office_id": "lvsi"}
    for user in ("cy", "cc"):
        csrf = {"X-CSRF-Token": login(client, user)}
        assert client.get("/api/admin/terminals").status_code == 403
        assert client.post("/api/admin/offices", headers=csrf, json=office).status_code == 403
        assert client.get("/admin", follow_redirects=False).headers["location"] == "/"
    root = {"X-CSRF-Token": login(client, "root")}
    assert client.get("/admin").status_code == 200
    added = client.post("/api/admin/offices", headers=root, json=office)
    assert added.status_code == 200 and added.json()["created"] is True
    made = client.post("/api/admin/terminals", headers=root, json=terminal)
    assert made.status_code == 201, made.text
    assert made.json()["key_id"] == "T-lvsi-1.k1" and len(made.json()["secret"]) == 64
    again = client.post("/api/admin/terminals", headers=root, json=terminal)
    assert again.status_code == 422 and again.json()["detail"]["zh"] == "该编号已登记为终端或设备"
    bad = client.post("/api/admin/terminals", headers=root, json=terminal | {"terminal_id": "<b>"})
    assert bad.status_code == 422 and bad.json()["detail"]["en"].startswith("an id is")
    moved = client.post(
        "/api/admin/terminals/T-none/move", headers=root, json={"office_id": "lvsi"}
    )
    assert moved.status_code == 404
    retired = client.post("/api/admin/terminals/T-lvsi-1/retire", headers=root, json={})
    assert retired.status_code == 200 and retired.json()["keys"] == []
    listed = client.get("/api/admin/terminals", params={"office": "lvsi"}).json()
    assert [(t["terminal_id"], t["keys"]) for t in listed] == [("T-lvsi-1", [])]
    assert listed[0]["retired_at"] and "secret" not in listed[0]
    changes = [(p, decode_control(v)) for p, v in records(settings, settings.topics.control)]
    told = {(p, c.change) for p, c in changes if isinstance(c, RegisterChanged)}
    for change in ("office.save", "terminal.add", "terminal.retire"):
        assert {p for p, c in told if c == change} == set(range(settings.partitions)), change
    with Session(make_engine(settings.database_url)) as session:
        entries = [e for e in session.scalars(select(AuditEntry)) if e.user_id == "root"]
    assert {e.action for e in entries} >= {"office.add", "terminal.add", "terminal.retire"}
    assert all(made.json()["secret"] not in json.dumps(e.detail) for e in entries)

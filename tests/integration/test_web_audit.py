"""The audit log records every denial and security event (issue 13, item 4): failed log-ins
(never the password), log-outs, another office's data and admin routes refused, CSRF
rejections; administrators read it, filtered by user, subject and action; nobody else can
read it, and nobody can change it through the app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ccwatch.broker import EmbeddedBroker
from ccwatch.settings import Settings
from tests.integration.webapp import login, web_app


@pytest.fixture
def api(broker: EmbeddedBroker, database_url: str) -> Iterator[tuple[TestClient, Settings]]:
    with web_app(broker, database_url) as client_and_settings:
        yield client_and_settings


def entries(client: TestClient, **filters: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/audit", params=filters)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_denials_and_security_events_are_recorded(api: tuple[TestClient, Settings]) -> None:
    client, _ = api
    wrong = client.post("/api/login", json={"username": "cy", "password": "letmein-please-1"})
    assert wrong.status_code == 401
    ghost = client.post("/api/login", json={"username": "ghost", "password": "letmein-please-2"})
    assert ghost.status_code == 401
    csrf = {"X-CSRF-Token": login(client, "cy")}
    assert client.get("/api/subjects/SS-0030").status_code == 404  # gouqi's
    assert client.get("/api/subjects/SS-0030/track").status_code == 404
    assert client.get("/api/subjects/SS-0030/orders").status_code == 404
    assert client.post("/api/alerts/a-2/acknowledge", headers=csrf, json={}).status_code == 404
    assert client.post("/api/alerts/a-1/acknowledge", json={}).status_code == 403  # no token
    wrong_token = {"X-CSRF-Token": "forged"}
    assert client.post("/api/alerts/a-1/resolve", headers=wrong_token, json={}).status_code == 403
    assert client.get("/api/admin/offices").status_code == 403
    assert client.get("/admin", follow_redirects=False).status_code == 307
    assert client.get("/api/audit").status_code == 403
    assert client.post("/api/logout", headers=csrf).status_code == 200

    login(client, "root")
    seen = entries(client, limit=1000)
    mine = {(e["user"], e["action"], e["target"]) for e in seen}
    assert {
        ("cy", "login.failed", "cy"),
        ("ghost", "login.failed", "ghost"),
        ("cy", "login", "cy"),
        ("cy", "subject.denied", "SS-0030"),
        ("cy", "track.denied", "SS-0030"),
        ("cy", "register.read.denied", "/api/subjects/SS-0030/orders"),
        ("cy", "alert.acknowledge.denied", "a-2"),
        ("cy", "csrf.denied", "/api/alerts/a-1/acknowledge"),
        ("cy", "csrf.denied", "/api/alerts/a-1/resolve"),
        ("cy", "role.denied", "/api/admin/offices"),
        ("cy", "page.denied", "/admin"),
        ("cy", "role.denied", "/api/audit"),
        ("cy", "logout", "cy"),
    } <= mine
    failed = {e["user"]: e["detail"] for e in seen if e["action"] == "login.failed"}
    assert failed["cy"]["known"] is True and failed["ghost"]["known"] is False
    assert "letmein" not in json.dumps(seen)  # never a password
    denied = next(e for e in seen if e["action"] == "subject.denied")
    assert denied["detail"]["status"] == 404 and denied["detail"]["method"] == "GET"


def test_administrators_filter_the_log(api: tuple[TestClient, Settings]) -> None:
    client, _ = api
    gq = {"X-CSRF-Token": login(client, "gq")}
    client.get("/api/subjects/SS-0030")
    client.get("/api/subjects/SS-0031")
    assert client.post("/api/alerts/a-2/acknowledge", headers=gq, json={}).status_code == 202
    login(client, "cy")
    client.get("/api/subjects/SS-0030")  # denied
    login(client, "root")

    by_gq = entries(client, user="gq")
    assert by_gq and {e["user"] for e in by_gq} == {"gq"}
    subject = entries(client, subject="SS-0030")
    assert {(e["user"], e["action"]) for e in subject} == {
        ("gq", "subject.read"),
        ("gq", "alert.acknowledge.requested"),  # names the subject in its detail
        ("cy", "subject.denied"),
    }
    logins = entries(client, action="login")  # a kind: login and login.*, not logout
    assert {e["action"] for e in logins} == {"login"} and len(logins) == 3
    assert {e["action"] for e in entries(client, action="subject.read")} == {"subject.read"}

    newest = entries(client, limit=2)
    older = entries(client, limit=2, before=newest[-1]["id"])
    assert len(newest) == len(older) == 2 and older[0]["id"] < newest[-1]["id"]
    assert entries(client, user="nobody") == []
    assert client.get("/api/audit", params={"limit": 0}).status_code == 422
    reads = entries(client, action="audit.read")
    assert {"user": "gq"} in [e["detail"]["wanted"] for e in reads]  # reading it is audited


def test_only_administrators_read_it_and_nobody_changes_it(
    api: tuple[TestClient, Settings],
) -> None:
    client, _ = api
    for user in ("cy", "cc"):  # an officer, the command center
        csrf = {"X-CSRF-Token": login(client, user)}
        assert client.get("/api/audit").status_code == 403
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert client.request(method, "/api/audit", headers=csrf).status_code == 405
    root = {"X-CSRF-Token": login(client, "root")}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/api/audit", headers=root).status_code == 405
    spec = client.app.openapi()  # type: ignore[attr-defined]
    assert set(spec["paths"]["/api/audit"]) == {"get"}

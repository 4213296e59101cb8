"""Server-side, revocable sessions and user management (issue 13, items 2 and 6): who the
caller is comes from the session row and the user row on every request, never from the
cookie; log-out, a password change or reset, a role or office change and deactivation end
every session of the user at once; idle and absolute timeouts; a reset password must be
changed before anything else; an existing user id is refused."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ccwatch.cli import app as cli
from ccwatch.settings import Settings
from ccwatch.web.app import create_app
from ccwatch.web.auth import hash_password
from models.access import AuditEntry, Role, User, WebSession
from models.db import make_engine
from tests.integration import test_web_api
from tests.integration.webapp import PASSWORD, login

api = test_web_api.api  # the same fixture: the app on a seeded database, users cc cy gq root
Api = tuple[TestClient, Settings]
NEW_PASSWORD = "a longer passphrase of mine"
USER = {"id": "new", "name": "新人", "role": "officer", "office_id": "caiyuan"}


def csrf(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token}


def other_client(client: TestClient) -> TestClient:
    """A second browser on the same app (its own cookies)."""
    return TestClient(client.app)


def edit_user(settings: Settings, user: str, **values: object) -> None:
    """Change a user's row directly in the database, as an operator with psql would."""
    with Session(make_engine(settings.database_url)) as session, session.begin():
        session.execute(update(User).where(User.id == user).values(**values))


def sessions_of(settings: Settings, user: str) -> list[WebSession]:
    with Session(make_engine(settings.database_url)) as session:
        rows = session.scalars(select(WebSession).where(WebSession.user_id == user))
        return list(rows)


def edit_sessions(settings: Settings, user: str, **values: object) -> None:
    with Session(make_engine(settings.database_url)) as session, session.begin():
        session.execute(update(WebSession).where(WebSession.user_id == user).values(**values))


def test_an_old_cookie_is_refused_after_log_out(api: Api) -> None:
    client, settings = api
    token = login(client, "cy")
    kept = dict(client.cookies)  # a copy of the cookie kept from before log-out
    elsewhere = other_client(client)
    login(elsewhere, "cy")  # the same user on another device
    assert client.post("/api/logout", headers=csrf(token)).status_code == 200
    assert client.get("/api/alerts").status_code == 401
    client.cookies.update(kept)
    assert client.get("/api/alerts").status_code == 401  # the old cookie opens nothing
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert elsewhere.get("/api/alerts").status_code == 401  # every session of the user ended
    assert {s.revoked_reason for s in sessions_of(settings, "cy")} == {"logged out"}


def test_the_cookie_holds_only_a_session_id_whose_hash_is_kept(api: Api) -> None:
    client, settings = api
    response = client.post("/api/login", json={"username": "cy", "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("ccwatch=")
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert len(session_id) == 43 and "." not in session_id  # 32 random bytes, nothing signed
    [row] = sessions_of(settings, "cy")
    assert row.id_hash == hashlib.sha256(session_id.encode()).hexdigest()  # not the id itself
    assert row.csrf == response.json()["csrf"] != session_id
    assert row.expires_at - row.created_at == timedelta(hours=12)

    secure = settings.model_copy(update={"web_secure_cookie": True})
    engine = make_engine(settings.database_url)
    answer = TestClient(create_app(secure, engine)).post(
        "/api/login", json={"username": "cy", "password": PASSWORD}
    )
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("__host-ccwatch=") and "; secure" in cookie and "path=/" in cookie


def test_a_demoted_administrator_cannot_create_users_on_their_session(api: Api) -> None:
    client, settings = api
    token = login(client, "root")
    edit_user(settings, "root", role=Role.OFFICER, office_id="caiyuan")  # demoted in the db
    made = client.post("/api/users", json={**USER, "password": PASSWORD}, headers=csrf(token))
    assert made.status_code == 403
    assert client.get("/api/me").json()["role"] == "officer"
    assert client.get("/api/subjects/SS-0030").status_code == 404  # now only caiyuan's
    edit_user(settings, "root", role=Role.ADMIN, office_id=None)

    # demoted through the API by another administrator: the session ends at once
    with Session(make_engine(settings.database_url)) as session, session.begin():
        hashed = hash_password(PASSWORD)
        session.add(User(id="root2", name="root2", role=Role.ADMIN, password_hash=hashed))
    admin = other_client(client)
    admin_token = login(admin, "root2")
    body = {"role": "officer", "office_id": "caiyuan"}
    demoted = admin.post("/api/users/root/access", json=body, headers=csrf(admin_token))
    assert demoted.status_code == 200 and demoted.json()["changed"] is True
    made = client.post("/api/users", json={**USER, "password": PASSWORD}, headers=csrf(token))
    assert made.status_code == 401
    again = admin.post("/api/users/root/access", json=body, headers=csrf(admin_token))
    assert again.json()["changed"] is False
    office = {"role": "officer", "office_id": "gouqi"}  # an office change ends sessions too
    token = login(client, "root")
    assert admin.post("/api/users/root/access", json=office, headers=csrf(admin_token)).is_success
    assert client.get("/api/alerts").status_code == 401


def test_a_deactivated_users_session_ends(api: Api) -> None:
    client, settings = api
    login(client, "cy")
    edit_user(settings, "cy", active=False)  # deactivated in the database
    assert client.get("/api/alerts").status_code == 401
    assert [s.revoked_reason for s in sessions_of(settings, "cy")] == ["inactive"]
    edit_user(settings, "cy", active=True)

    login(client, "cy")
    admin = other_client(client)
    token = login(admin, "root")
    assert admin.post("/api/users/cy/deactivate", headers=csrf(token)).json()["active"] is False
    assert client.get("/api/alerts").status_code == 401
    refused = client.post("/api/login", json={"username": "cy", "password": PASSWORD})
    assert refused.status_code == 401
    assert admin.post("/api/users/cy/reactivate", headers=csrf(token)).json()["active"] is True
    login(client, "cy")
    assert client.get("/api/alerts").status_code == 200


def test_idle_and_absolute_timeouts(api: Api) -> None:
    client, settings = api
    now = datetime.now(UTC)
    login(client, "cy")
    edit_sessions(settings, "cy", last_seen_at=now - timedelta(minutes=29))
    assert client.get("/api/alerts").status_code == 200  # used within 30 minutes: goes on
    [row] = sessions_of(settings, "cy")
    assert row.last_seen_at > now - timedelta(minutes=1)  # and the use postponed the end
    edit_sessions(settings, "cy", last_seen_at=now - timedelta(minutes=31))
    assert client.get("/api/alerts").status_code == 401
    assert [s.revoked_reason for s in sessions_of(settings, "cy")] == ["idle"]

    login(client, "cy")  # in use all along, but logged in 12 hours ago
    edit_sessions(settings, "cy", created_at=now - timedelta(hours=12, minutes=1))
    assert client.get("/api/alerts").status_code == 401
    login(client, "cy")
    edit_sessions(settings, "cy", expires_at=now - timedelta(seconds=1))
    assert client.get("/api/alerts").status_code == 401
    reasons = sorted(s.revoked_reason or "" for s in sessions_of(settings, "cy"))
    assert reasons == ["expired", "expired", "idle"]


def test_a_password_reset_forces_a_change(api: Api) -> None:
    client, settings = api
    login(client, "cy")
    admin = other_client(client)
    token = login(admin, "root")
    assert admin.post("/api/users/nobody/reset-password", headers=csrf(token)).status_code == 404
    reset = admin.post("/api/users/cy/reset-password", headers=csrf(token))
    assert reset.status_code == 200 and reset.json()["must_change_password"] is True
    temporary = reset.json()["temporary_password"]
    assert client.get("/api/alerts").status_code == 401  # the session before the reset ended
    old = client.post("/api/login", json={"username": "cy", "password": PASSWORD})
    assert old.status_code == 401

    answer = client.post("/api/login", json={"username": "cy", "password": temporary})
    assert answer.status_code == 200 and answer.json()["must_change_password"] is True
    cy = answer.json()["csrf"]
    assert client.get("/api/alerts").status_code == 403  # nothing else until it is changed
    assert client.get("/api/subjects/SS-0001").status_code == 403
    assert client.post("/api/alerts/a-1/acknowledge", json={}, headers=csrf(cy)).status_code == 403
    assert client.get("/", follow_redirects=False).headers["location"] == "/password"
    assert client.get("/password").status_code == 200
    assert client.get("/api/me").json()["must_change_password"] is True

    change = {"current_password": "wrong", "new_password": NEW_PASSWORD}
    assert client.post("/api/me/password", json=change, headers=csrf(cy)).status_code == 422
    same = {"current_password": temporary, "new_password": temporary}
    assert client.post("/api/me/password", json=same, headers=csrf(cy)).status_code == 422
    change["current_password"] = temporary
    done = client.post("/api/me/password", json=change, headers=csrf(cy))
    assert done.status_code == 200
    assert client.get("/api/alerts").status_code == 200  # the new session of this browser
    assert client.get("/", follow_redirects=False).status_code == 200
    gone = client.post("/api/login", json={"username": "cy", "password": temporary})
    assert gone.status_code == 401
    login_new = client.post("/api/login", json={"username": "cy", "password": NEW_PASSWORD})
    assert login_new.json()["must_change_password"] is False

    with Session(make_engine(settings.database_url)) as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.target == "cy")))
    actions = [e.action for e in entries]
    assert "user.reset_password" in actions and "user.change_password" in actions
    assert not any(temporary in str(e.detail) or NEW_PASSWORD in str(e.detail) for e in entries)


def test_a_password_change_ends_the_other_sessions(api: Api) -> None:
    client, _ = api
    token = login(client, "cy")
    elsewhere = other_client(client)
    login(elsewhere, "cy")
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    done = client.post("/api/me/password", json=change, headers=csrf(token))
    assert done.status_code == 200
    assert elsewhere.get("/api/alerts").status_code == 401
    fresh = done.json()["csrf"]
    assert client.post("/api/logout", headers=csrf(token)).status_code == 403  # old token
    assert client.post("/api/logout", headers=csrf(fresh)).status_code == 200


def test_a_duplicate_user_id_is_refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    client, settings = api
    token = login(client, "root")
    taken = {"id": "cy", "name": "x", "role": "admin", "password": "overwritten-1234"}
    made = client.post("/api/users", json=taken, headers=csrf(token))
    assert made.status_code == 409
    made = client.post("/api/users", json={**USER, "password": PASSWORD}, headers=csrf(token))
    assert made.status_code == 201
    again = client.post("/api/users", json={**USER, "password": PASSWORD}, headers=csrf(token))
    assert again.status_code == 409
    listed = {u["id"]: u for u in client.get("/api/users").json()}
    assert listed["cy"]["role"] == "officer" and listed["new"]["office_id"] == "caiyuan"
    assert not any("password_hash" in u or "$argon2" in str(u) for u in listed.values())
    login(other_client(client), "cy")  # the password was not overwritten either

    monkeypatch.setenv("CCWATCH_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    add = ["users", "add", "cy", "--role", "command", "--password", "another-password-1"]
    assert runner.invoke(cli, add).exit_code == 2
    secret = "temporary-from-cli-1"
    reset = runner.invoke(cli, ["users", "reset-password", "new", "--password", secret])
    assert reset.exit_code == 0 and secret not in reset.output
    listed_cli = runner.invoke(cli, ["users", "list"])
    assert "new" in listed_cli.output and "$argon2" not in listed_cli.output
    assert runner.invoke(cli, ["users", "deactivate", "nobody"]).exit_code == 2
    assert client.get("/api/users").status_code == 200
    assert runner.invoke(cli, ["users", "end-sessions", "--all"]).exit_code == 0
    assert client.get("/api/users").status_code == 401  # every user's sessions ended
    assert runner.invoke(cli, ["users", "deactivate", "new"]).exit_code == 0
    with Session(make_engine(settings.database_url)) as session:
        user = session.get(User, "new")
        assert user is not None and not user.active and user.must_change_password


def test_only_administrators_manage_users_and_one_stays(api: Api) -> None:
    client, _ = api
    token = login(client, "cc")
    assert client.get("/api/users").status_code == 403
    for action in ("deactivate", "reactivate", "reset-password", "end-sessions"):
        assert client.post(f"/api/users/cy/{action}", headers=csrf(token)).status_code == 403
    token = login(client, "root")
    for action in ("deactivate", "reactivate", "reset-password", "end-sessions"):
        assert client.post(f"/api/users/nobody/{action}", headers=csrf(token)).status_code == 404
    body = {"role": "command"}
    assert (
        client.post("/api/users/nobody/access", json=body, headers=csrf(token)).status_code == 404
    )
    last = client.post("/api/users/root/deactivate", headers=csrf(token))
    assert last.status_code == 422  # no administrator would be left
    assert client.post("/api/users/root/access", json=body, headers=csrf(token)).status_code == 422
    officer = {"role": "officer"}
    assert client.post("/api/users/cc/access", json=officer, headers=csrf(token)).status_code == 422
    elsewhere = other_client(client)
    login(elsewhere, "cy")
    ended = client.post("/api/users/cy/end-sessions", headers=csrf(token))
    assert ended.json()["sessions_ended"] == 1
    assert elsewhere.get("/api/alerts").status_code == 401


@pytest.mark.timeout(60)
def test_the_live_feed_ends_with_its_session(api: Api) -> None:
    client, _ = api
    token = login(client, "cc")
    elsewhere = other_client(client)

    def log_out_later() -> None:
        time.sleep(1)
        login(elsewhere, "cc")
        elsewhere.post("/api/logout", headers=csrf(elsewhere.get("/api/me").json()["csrf"]))

    threading.Thread(target=log_out_later, daemon=True).start()
    started = time.monotonic()
    with client.stream("GET", "/api/alerts/stream") as response:
        assert response.status_code == 200
        for _ in response.iter_lines():
            pass  # until the server ends the stream
    assert time.monotonic() - started < 20
    assert client.post("/api/logout", headers=csrf(token)).status_code == 401

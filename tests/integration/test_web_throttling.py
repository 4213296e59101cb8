"""Log-in throttling and lock-out (issue 13, item 3): growing delays per account and per
address answered with 429 and Retry-After, a lock-out an administrator lifts (API and
``ccwatch users unlock``), unknown users indistinguishable from wrong passwords, argon2 on a
bounded pool so a flood of log-ins does not starve other requests, and the password policy
on new users."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import ccwatch.web.auth
from ccwatch.broker import EmbeddedBroker
from ccwatch.cli import app as cli
from ccwatch.settings import Settings
from models.access import AuditEntry, User
from models.db import make_engine
from tests.integration.webapp import PASSWORD, login, web_app

WRONG = "not the password at all"
LOCK_AFTER = 6
FAST = {"login_delay_s": 0.2, "login_lockout_after": LOCK_AFTER, "login_lockout_s": 600}


@pytest.fixture
def api(broker: EmbeddedBroker, database_url: str) -> Iterator[tuple[TestClient, Settings]]:
    with web_app(broker, database_url, **FAST) as client_and_settings:
        yield client_and_settings


def attempt(client: TestClient, user: str, password: str) -> Any:
    """A log-in's answer (an httpx response)."""
    return client.post("/api/login", json={"username": user, "password": password})


def audit(settings: Settings) -> list[AuditEntry]:
    with Session(make_engine(settings.database_url)) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def fail_until_locked(client: TestClient, user: str) -> Any:
    """Wrong passwords, waiting out each delay, until the account is locked."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = attempt(client, user, WRONG)
        if answer.status_code == 429 and "locked" in answer.json()["detail"]:
            return answer
        assert answer.status_code in (401, 429), answer.text
        if answer.status_code == 429:
            time.sleep(0.1)
    raise AssertionError("never locked")


# The first delay outlasts a burst of refusals on a loaded machine (with 0.2 s, the right
# password "right after" the burst could arrive once the delay had run out).
SLOW = FAST | {"login_delay_s": 5.0, "login_lockout_after": 5}


def test_guessing_is_slowed_then_locked_and_an_administrator_unlocks(
    broker: EmbeddedBroker, database_url: str
) -> None:
    lock_after = SLOW["login_lockout_after"]
    with web_app(broker, database_url, **SLOW) as (client, settings):
        answers = [attempt(client, "cy", WRONG) for _ in range(40)]
        statuses = Counter(a.status_code for a in answers)
        assert statuses[401] <= lock_after and statuses[429] >= 30, statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert int(refused.headers["Retry-After"]) >= 1
        right = attempt(client, "cy", PASSWORD)  # the right one, right after: not now
        assert right.status_code == 429 and "Retry-After" in right.headers

        locked = fail_until_locked(client, "cy")
        assert 590 <= int(locked.headers["Retry-After"]) <= 600
        assert attempt(client, "cy", PASSWORD).status_code == 429  # locked, whatever the password

        gq = {"X-CSRF-Token": login(client, "gq")}  # others log in meanwhile
        assert client.post("/api/users/cy/unlock", headers=gq).status_code == 403
        assert client.get("/api/lockouts").status_code == 403
        root = {"X-CSRF-Token": login(client, "root")}
        [row] = client.get("/api/lockouts").json()
        assert row["user"] == "cy" and row["failures"] >= lock_after
        assert client.post("/api/users/nobody/unlock", headers=root).status_code == 404
        lifted = client.post("/api/users/cy/unlock", headers=root)
        assert lifted.status_code == 200 and lifted.json()["unlocked"] is True
        assert client.get("/api/lockouts").json() == []
        login(client, "cy")

        entries = audit(settings)
        actions = Counter((e.user_id, e.action) for e in entries)
        assert actions[("cy", "login.failed")] >= lock_after
        assert actions[("cy", "login.locked")] == 1 and actions[("cy", "login.throttled")] >= 1
        assert actions[("root", "user.unlock")] == 1 and actions[("cy", "login")] == 1
        assert actions[("gq", "role.denied")] == 2
        assert actions[("cy", "login.throttled")] < 20  # once per wait, not once per request
        assert not any(WRONG in json.dumps(e.detail) for e in entries)  # never the password


def test_a_lock_out_ends_by_itself(broker: EmbeddedBroker, database_url: str) -> None:
    short = FAST | {"login_lockout_after": 4, "login_lockout_s": 1.5}
    with web_app(broker, database_url, **short) as (client, _):
        fail_until_locked(client, "cc")
        assert attempt(client, "cc", PASSWORD).status_code == 429
        time.sleep(1.6)
        login(client, "cc")


def test_the_cli_lists_and_unlocks(api: tuple[TestClient, Settings]) -> None:
    client, settings = api
    fail_until_locked(client, "gq")
    runner = CliRunner()
    env = {"CCWATCH_DATABASE_URL": settings.database_url}
    listed = runner.invoke(cli, ["users", "locked"], env=env)
    assert listed.exit_code == 0 and "gq" in listed.output, listed.output
    assert runner.invoke(cli, ["users", "unlock", "nobody"], env=env).exit_code == 2
    unlocked = runner.invoke(cli, ["users", "unlock", "gq"], env=env)
    assert unlocked.exit_code == 0 and "unlocked" in unlocked.output, unlocked.output
    login(client, "gq")
    assert any(
        e.action == "user.unlock" and e.target == "gq" and e.user_id.startswith("cli:")
        for e in audit(settings)
    )


def test_one_address_trying_many_accounts_is_slowed(
    broker: EmbeddedBroker, database_url: str
) -> None:
    with web_app(broker, database_url, login_delay_s=5) as (client, _):
        spray(client)


def spray(client: TestClient) -> None:
    sprayer = TestClient(client.app, client=("198.51.100.7", 40000))
    answers = [attempt(sprayer, f"user{n}", "Summer2026!") for n in range(24)]
    assert [a.status_code for a in answers[:20]] == [401] * 20
    assert answers[-1].status_code == 429 and int(answers[-1].headers["Retry-After"]) >= 1
    assert attempt(sprayer, "cc", PASSWORD).status_code == 429  # that address waits
    elsewhere = TestClient(client.app, client=("192.0.2.10", 40000))
    assert attempt(elsewhere, "cc", PASSWORD).status_code == 200  # others do not


def test_unknown_users_and_wrong_passwords_look_alike(
    api: tuple[TestClient, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, settings = api
    with Session(make_engine(settings.database_url)) as session, session.begin():
        session.get_one(User, "gq").active = False
    spy = Spy(ccwatch.web.auth.HASHER)
    monkeypatch.setattr(ccwatch.web.auth, "HASHER", spy)
    seen = {}
    for user in ("nobody", "cy", "gq"):  # no such user, a wrong password, an inactive user
        spy.calls.clear()
        answer = attempt(client, user, WRONG)
        seen[user] = (answer.status_code, answer.json(), sorted(answer.headers))
        assert spy.calls == ["verify"], user  # one argon2 verification each
    assert seen["nobody"] == seen["cy"] == seen["gq"]
    for _ in range(LOCK_AFTER + 1):  # and unknown names lock alike
        attempt(client, "nobody", WRONG)
        attempt(client, "cy", WRONG)
        time.sleep(0.5)
    for user in ("nobody", "cy"):
        answer = attempt(client, user, WRONG)
        assert answer.status_code == 429 and "locked" in answer.json()["detail"], user

    engine = make_engine(settings.database_url)
    timings: dict[str, list[float]] = {"ghost": [], "cc": []}  # and take the same time
    for _ in range(5):
        for user, times in timings.items():
            start = time.perf_counter()
            assert ccwatch.web.auth.check_password(engine, user, WRONG) is None
            times.append(time.perf_counter() - start)
    ghost, cc = (sorted(t)[2] for t in timings.values())
    assert 0.5 < ghost / cc < 2.0, timings


class Spy:
    """The password hasher, noting each argon2 operation and how many run at once."""

    def __init__(self, hasher: Any) -> None:
        self.hasher, self.calls, self.running, self.most = hasher, list[str](), 0, 0
        self.lock = threading.Lock()

    def _counted(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        with self.lock:
            self.calls.append(name)
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return fn(*args)
        finally:
            with self.lock:
                self.running -= 1

    def verify(self, *args: Any) -> Any:
        return self._counted("verify", self.hasher.verify, *args)

    def hash(self, *args: Any) -> Any:
        return self._counted("hash", self.hasher.hash, *args)


def test_a_flood_of_log_ins_does_not_starve_other_requests(
    api: tuple[TestClient, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = api
    login(client, "cc")
    spy = Spy(ccwatch.web.auth.HASHER)
    monkeypatch.setattr(ccwatch.web.auth, "HASHER", spy)
    latencies: list[float] = []
    done = threading.Event()

    def other_requests() -> None:
        while not done.is_set():
            start = time.perf_counter()
            assert client.get("/api/alerts").status_code == 200
            latencies.append(time.perf_counter() - start)

    reader = threading.Thread(target=other_requests)
    reader.start()
    with ThreadPoolExecutor(30) as pool:
        flood = list(pool.map(lambda n: attempt(client, f"flood{n}", WRONG), range(30)))
    done.set()
    reader.join()
    assert {a.status_code for a in flood} <= {401, 429}
    assert any(a.status_code == 429 for a in flood)  # the rest refused, not queued forever
    assert spy.most == 1  # CCWATCH_LOGIN_CONCURRENCY
    assert latencies and max(latencies) < 2.0, latencies


def test_new_users_follow_the_password_policy(api: tuple[TestClient, Settings]) -> None:
    client, _ = api
    root = {"X-CSRF-Token": login(client, "root")}
    user = {"id": "zhangsan", "name": "张三", "role": "officer", "office_id": "caiyuan"}
    for weak in ("short but ok", "password12345678", "zhangsan-zhangsan", "iloveyouiloveyou"):
        refused = client.post("/api/users", headers=root, json=user | {"password": weak})
        assert refused.status_code == 422 and refused.json()["detail"]["zh"], weak
    made = client.post(
        "/api/users", headers=root, json=user | {"password": "海风吹过东海的渔港，船都回来了"}
    )
    assert made.status_code == 201, made.text
    nowhere = user | {"id": "lisi", "office_id": "nowhere", "password": PASSWORD}
    assert client.post("/api/users", headers=root, json=nowhere).status_code == 422

"""The command-center app on the embedded broker and a fresh database, with four users
(``cc`` command, ``cy`` and ``gq`` officers of caiyuan and gouqi, ``root`` administrator)
and an alert of each office, for the web test modules."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ccwatch.broker import EmbeddedBroker
from ccwatch.seed import seed
from ccwatch.settings import Settings
from ccwatch.web.app import create_app
from ccwatch.web.auth import hash_password
from models.access import Role, User
from models.db import make_engine, migrate
from models.events import AlertEvent
from streams.sink import DatabaseSink
from streams.topics import ensure_topics

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)
USERS = (
    ("cc", Role.COMMAND, None),
    ("cy", Role.OFFICER, "caiyuan"),
    ("gq", Role.OFFICER, "gouqi"),
    ("root", Role.ADMIN, None),
)


def alert(n: int, office: str, subject: str) -> AlertEvent:
    return AlertEvent(
        transition_id=f"t-{n}",
        alert_id=f"a-{n}",
        transition="opened",
        alert_type="out_of_bounds",
        severity="high" if n % 2 else "medium",
        subject_id=subject,
        office_id=office,
        zone="central",
        rule="out_of_bounds/2",
        evidence=[f"f-{n}"],
        occurred_at=NOW,
        recorded_at=NOW,
        reason_zh="越界",
        reason_en="out of bounds",
        sla_due=NOW,
    )


@contextmanager
def web_app(
    broker: EmbeddedBroker, database_url: str, **settings: Any
) -> Iterator[tuple[TestClient, Settings]]:
    """The app and its settings (``settings`` override the tests' defaults); a server
    error is an answer (500), not an exception in the test."""
    config = Settings(
        kafka_bootstrap=broker.bootstrap,
        database_url=database_url,
        topic_prefix=f"w{uuid.uuid4().hex[:8]}",
        **settings,
    )
    ensure_topics(broker.bootstrap, config.topics.all(), config.partitions)
    migrate(database_url)
    engine = make_engine(database_url)
    seed(engine)
    with Session(engine) as session, session.begin():
        for user, role, office in USERS:
            hashed = hash_password(PASSWORD)
            session.add(User(id=user, name=user, role=role, office_id=office, password_hash=hashed))
    DatabaseSink(engine).write_alerts(
        [alert(1, "caiyuan", "SS-0001"), alert(2, "gouqi", "SS-0030")]
    )
    app = create_app(config, engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, config


def login(client: TestClient, user: str, password: str = PASSWORD) -> str:
    response = client.post("/api/login", json={"username": user, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf"])

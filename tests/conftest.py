"""Shared fixtures: databases (SQLite always, PostgreSQL where its binaries exist)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import ccwatch.keys
from tests.factories import device_secret
from tests.postgres import PostgresServer, find_bindir

# Every database the tests seed enrols keys whose secrets derive from their ids, so the
# factories sign records without reading a database (tests/factories.py, `signed`).
ccwatch.keys.secret_for = device_secret


@pytest.fixture(autouse=True)
def piped_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI output as a pipe gets it, whatever terminal width the test run inherited
    (xdist workers are given ``COLUMNS``): full tables (ccwatch/printing.py)."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """The URL of a PostgreSQL server for this session, or None where none can run."""
    url = os.environ.get("CCWATCH_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL: install Debian's postgresql package")
        yield None
        return
    server = PostgresServer(bindir)
    try:
        yield server.start()
    finally:
        server.stop()


def fresh_postgres_db(server_url: str) -> str:
    name = f"ccwatch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend (migrations not yet run)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ccwatch.db'}"
    server = request.getfixturevalue("postgres_server")
    if server is None:
        pytest.skip("no PostgreSQL binaries on this machine")
    return fresh_postgres_db(server)

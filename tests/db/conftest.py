"""A migrated, seeded database of each backend, named to the CLI by the environment."""

from __future__ import annotations

import pytest

from ccwatch.seed import seed
from models.db import make_engine, migrate


@pytest.fixture
def url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    migrate(database_url)
    seed(make_engine(database_url))
    monkeypatch.setenv("CCWATCH_DATABASE_URL", database_url)
    return database_url

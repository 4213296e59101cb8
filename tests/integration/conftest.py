from __future__ import annotations

from collections.abc import Iterator

import pytest

from ccwatch.broker import EmbeddedBroker
from tests.conftest import fresh_postgres_db
from tests.factories import WATCHED_SINCE
from tests.integration.harness import System

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    broker = EmbeddedBroker(log_path=log).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def system(
    request: pytest.FixtureRequest, broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """One running worker per database backend, shared by a module's tests (a module may
    set ``WORKER_SETTINGS``, and ``WATCHED_SINCE``: None for a database never watched)."""
    workdir = tmp_path_factory.mktemp("system")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'ccwatch.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        if server is None:
            pytest.skip("no PostgreSQL binaries on this machine")
        url = fresh_postgres_db(server)
    system = System(
        broker.bootstrap,
        url,
        workdir,
        getattr(request.module, "WATCHED_SINCE", WATCHED_SINCE),
        **getattr(request.module, "WORKER_SETTINGS", {}),
    )
    system.start_worker()
    yield system
    system.close()

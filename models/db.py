"""Engines, sessions and migrations for any SQLAlchemy URL (SQLite file by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from models import access, records, reference  # noqa: F401  (register the tables)
from models.base import Base

metadata = Base.metadata
MIGRATIONS = Path(__file__).with_name("migrations")
# JSON columns (evidence lists) through msgspec: several times faster than the json module.
JSON_CODEC: dict[str, Any] = {
    "json_serializer": lambda obj: msgspec.json.encode(obj).decode(),
    "json_deserializer": msgspec.json.decode,
}


def make_engine(
    url: str,
    *,
    connect_timeout_s: float = 5.0,
    statement_timeout_s: float = 30.0,
    pool_size: int = 5,
) -> Engine:
    """An engine that never waits without bound: a connect timeout, a server-side statement
    (and lock) timeout and a pool checkout timeout. SQLite files get WAL, a busy timeout and
    enforced foreign keys. A statement's parameters (password hashes, personal data) are
    never repeated in its errors, which reach logs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": statement_timeout_s}, hide_parameters=True, **JSON_CODEC
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    ms = int(statement_timeout_s * 1000)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        hide_parameters=True,
        pool_timeout=connect_timeout_s,
        connect_args={
            "connect_timeout": max(1, round(connect_timeout_s)),
            "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
        },
        **JSON_CODEC,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` by running the Alembic migrations."""
    engine = make_engine(url)  # creates the SQLite folder
    engine.dispose()
    command.upgrade(alembic_config(url), revision)

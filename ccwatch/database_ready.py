"""Whether the configured database is there and set up, said plainly before a command reads it
(not an empty SQLite file left behind and a traceback about a missing table)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ccwatch.printing import cli_console
from ccwatch.settings import Settings
from models.db import make_engine

CREATE = (
    "create it with `ccwatch db upgrade` then `ccwatch db seed` (`ccwatch run` does both), "
    "or set CCWATCH_DATABASE_URL or CCWATCH_DATA_DIR to the one you have"
)


# Commands that create the database, need none, or (the services) wait for it themselves.
NO_CHECK = {"run", "db", "replay", "settings", "schemas", "openapi", "broker", "worker", "web"}


class DatabaseNotReady(RuntimeError):
    """The database is missing, unreachable or not migrated; the message says what to do."""


def require_database(url: str) -> None:
    """DatabaseNotReady unless ``url`` names a reachable database with ccwatch's tables."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseNotReady("CCWATCH_DATABASE_URL is not a database URL") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_file():  # connecting would create an empty one
            raise DatabaseNotReady(f"no database at {path.absolute()}: {CREATE}.")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            migrated = inspect(conn).has_table("alembic_version")
    except SQLAlchemyError as e:
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        raise DatabaseNotReady(f"cannot reach the database {shown}: {reason}") from None
    finally:
        engine.dispose()
    if not migrated:
        raise DatabaseNotReady(f"the database {shown} has no ccwatch tables yet: {CREATE}.")


def check_before(argv: list[str]) -> None:
    """For the command line ``argv`` (without the program): a command that reads the
    database finds it there and set up, or a message says how to create it (exit 2)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None or command in NO_CHECK or "--help" in argv:
        return
    try:
        require_database(Settings().database_url)
    except DatabaseNotReady as e:
        cli_console(stderr=True).print(str(e), style="red")
        raise SystemExit(2) from None

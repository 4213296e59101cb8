"""``ccwatch users``: users of the web app from the command line (docs/web.md, "Users").

The operator acts as ``cli:<login>`` in the audit log. No command prints a password or a
hash: a temporary password is typed in (hidden), as a new user's is. (The web app's
modules are imported by each command, so that ``ccwatch`` starts without them.)"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy import Engine

from ccwatch import printing
from ccwatch.printing import cli_console
from ccwatch.settings import Settings
from models.access import Role
from models.labels import label
from register.core import Actor, NotFound, Refused

T = TypeVar("T")
console = cli_console()
users_app = typer.Typer(help="Users of the web app.", no_args_is_help=True)


def _engine() -> Engine:
    from models.db import make_engine

    return make_engine(Settings().database_url)


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}")


def _change(do: Callable[[], T]) -> T:
    """Run a change of users; an unknown user or a refusal exits 2 with the reason."""
    try:
        return do()
    except NotFound as e:
        console.print(f"no user {e}", style="red")
        raise typer.Exit(2) from None
    except Refused as refused:
        console.print(f"{refused.zh} ({refused.en})", style="red")
        raise typer.Exit(2) from None


@users_app.command("add")
def users_add(
    user: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="officer, command or admin.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    office: Annotated[str, typer.Option(help="An officer's office id.")] = "",
    must_change: Annotated[
        bool, typer.Option(help="A temporary password: the user changes it at first log-in.")
    ] = False,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a user (the password is hashed with argon2id, never stored); an existing user
    is refused, never overwritten."""
    from ccwatch.web import users

    who = Role(role)
    if who == Role.OFFICER and not office:
        console.print("an officer needs --office", style="red")
        raise typer.Exit(2)
    engine = _engine()
    _change(
        lambda: users.create(
            engine, _actor(), user, name or user, who, office or None, password, must_change
        )
    )
    console.print(f"user {user} ({who.value}) created")


@users_app.command("list")
def users_list() -> None:
    """Users: role, office, active, whether they must change their password, open sessions."""
    from ccwatch.web import users

    table = printing.table("user", "name", "role", "office", "active", "must_change", "sessions")
    for u in users.users(_engine()):
        table.add_row(
            u["id"],
            u["name"],
            label("role", u["role"]),
            u["office_id"] or "",
            "是 yes" if u["active"] else "否 no",
            "是 yes" if u["must_change_password"] else "",
            str(u["sessions"]),
        )
    console.print(table)


@users_app.command("deactivate")
def users_deactivate(user: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """The user can no longer log in; their sessions end now."""
    from ccwatch.web import users

    engine = _engine()
    _change(lambda: users.deactivate(engine, _actor(), user))
    console.print(f"user {user} deactivated; their sessions ended")


@users_app.command("reactivate")
def users_reactivate(user: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """The user may log in again (with their password as it was)."""
    from ccwatch.web import users

    engine = _engine()
    _change(lambda: users.reactivate(engine, _actor(), user))
    console.print(f"user {user} reactivated")


@users_app.command("reset-password")
def users_reset_password(
    user: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[
        str,
        typer.Option(
            prompt="Temporary password",
            hide_input=True,
            confirmation_prompt=True,
            help="The temporary password (asked for; never printed).",
        ),
    ] = "",
) -> None:
    """Set a temporary password the user must change at their next log-in (until then
    nothing else is allowed); their sessions end now."""
    from ccwatch.web import users

    engine = _engine()
    _change(lambda: users.reset_password(engine, _actor(), user, password))
    console.print(
        f"user {user}: temporary password set, to change at the next log-in; their sessions ended"
    )


@users_app.command("set-access")
def users_set_access(
    user: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="officer, command or admin.")],
    office: Annotated[str, typer.Option(help="An officer's office id.")] = "",
) -> None:
    """Change a user's role and office; if either changes, their sessions end now."""
    from ccwatch.web import users

    engine = _engine()
    done = _change(lambda: users.set_access(engine, _actor(), user, Role(role), office or None))
    console.print(
        f"user {user}: {role}, {office or '-'}"
        + ("; their sessions ended" if done["changed"] else " (unchanged)")
    )


@users_app.command("end-sessions")
def users_end_sessions(
    user: Annotated[str, typer.Argument(help="Login name.")] = "",
    every: Annotated[bool, typer.Option("--all", help="Every user's sessions.")] = False,
) -> None:
    """End every session of the user (a lost or shared device), or with --all of every
    user (a suspected leak): they log in again."""
    from ccwatch.web import users

    if bool(user) == every:
        console.print("name one user, or give --all", style="red")
        raise typer.Exit(2)
    engine = _engine()
    if every:
        ended = users.end_every_session(engine, _actor())
        console.print(f"every user: {ended} session(s) ended")
        return
    ended = _change(lambda: users.end_all_sessions(engine, _actor(), user))
    console.print(f"user {user}: {ended} session(s) ended")


@users_app.command("unlock")
def users_unlock(user: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Lift a user's lock-out after failed log-ins (and forget their failures)."""
    from ccwatch.web import users

    engine = _engine()
    done = _change(lambda: users.unlock(engine, _actor(), user))
    console.print(f"user {user} " + ("unlocked" if done["unlocked"] else "was not locked"))


@users_app.command("locked")
def users_locked() -> None:
    """The accounts locked now after failed log-ins (user names that do not exist too)."""
    from ccwatch.web.throttle import Throttle

    table = printing.table("user", "failures", "last_attempt", "locked_until")
    for row in Throttle(_engine()).locked():
        table.add_row(
            row["user"],
            str(row["failures"]),
            printing.shown(row["last_attempt_at"]),
            printing.shown(row["locked_until"]),
        )
    console.print(table)


@users_app.command("create-admin")
def users_create_admin(
    user: str = "admin",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create the first administrator."""
    users_add(user, role="admin", name="Administrator", office="", password=password)

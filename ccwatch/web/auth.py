"""Log-in, roles and what each role may see: enforced in the API, not only in the page.

Who the caller is comes from their server-side session (:mod:`ccwatch.web.sessions`) and
their user row, read afresh on every request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from fastapi import HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.access import Role, User

if TYPE_CHECKING:
    from ccwatch.web.sessions import Live

HASHER = PasswordHasher()  # argon2id with the library's recommended parameters
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# What an unknown or inactive user's password is checked against: a hash of a random
# password with the same parameters, so that every log-in costs one argon2 verification.
STAND_IN_HASH = HASHER.hash(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: Role
    office_id: str | None
    must_change_password: bool = False  # until changed, only changing it is allowed

    @property
    def office_scope(self) -> str | None:
        """The one office an officer may see; None: every office."""
        return self.office_id if self.role == Role.OFFICER else None

    def may_see(self, office_id: str) -> bool:
        return self.office_scope is None or self.office_scope == office_id


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Account:
    """A user as log-in sees them: who, and the hash to check (None: no such active user)."""

    who: Principal | None
    password_hash: str | None


def find_account(engine: Engine, user_id: str) -> Account:
    with Session(engine) as session:
        user = session.get(User, user_id)
    if user is None or not user.active:
        return Account(None, None)
    who = Principal(user.id, user.name, user.role, user.office_id, user.must_change_password)
    return Account(who, user.password_hash)


def verify(account: Account, password: str) -> Principal | None:
    """The user if ``password`` is theirs: one argon2 verification whether or not the user
    exists, so that unknown users and wrong passwords take the same time."""
    matches = password_matches(account.password_hash or STAND_IN_HASH, password)
    return account.who if matches and account.password_hash else None


def check_password(engine: Engine, user_id: str, password: str) -> Principal | None:
    return verify(find_account(engine, user_id), password)


class Denied(HTTPException):
    """A refusal that the audit log records: the app's handler writes ``action`` on
    ``target`` (default: the request's path) for the session's user, then answers."""

    def __init__(self, status: int, detail: str, action: str, target: str = "", **extra: Any):
        super().__init__(status, detail)
        self.action, self.target, self.extra = action, target, extra


def current(request: Request, touch: bool = True) -> Live | None:
    """The caller's session in force, or None (``request.app.state.sessions``, the app's
    :class:`~ccwatch.web.sessions.SessionStore`)."""
    store = request.app.state.sessions
    live: Live | None = store.load(store.session_id(request), touch)
    return live


def live_session(request: Request) -> Live:
    """The caller's session; unsafe methods also need its CSRF token in X-CSRF-Token. A user
    who must change their password passes: for log-out, /api/me and changing it."""
    live = current(request)
    if live is None:
        raise HTTPException(401, "log in first")
    if request.method not in SAFE_METHODS and not secrets.compare_digest(
        request.headers.get("x-csrf-token", "").encode(), live.csrf.encode()
    ):
        raise Denied(403, "missing or wrong CSRF token", "csrf.denied")
    return live


def principal(request: Request) -> Principal:
    """The logged-in user, as the database has them now; unsafe methods also need the
    session's CSRF token in a header. Refused (403) until a reset password is changed."""
    who = live_session(request).who
    if who.must_change_password:
        raise Denied(
            403, "change your password first (POST /api/me/password)", "password.change_first"
        )
    return who


def require(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        needs = " or ".join(r.value for r in roles)
        raise Denied(403, f"needs the role {needs}", "role.denied", role=who.role.value)

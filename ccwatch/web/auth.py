"""Log-in, roles and what each role may see: enforced in the API, not only in the page.

Who the caller is comes from their server-side session (:mod:`ccwatch.web.sessions`) and
their user row, read afresh on every request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def check_password(engine: Engine, user_id: str, password: str) -> Principal | None:
    with Session(engine) as session:
        user = session.get(User, user_id)
    if user is None or not user.active:
        HASHER.hash(password)  # same cost whether or not the user exists
        return None
    if not password_matches(user.password_hash, password):
        return None
    return Principal(user.id, user.name, user.role, user.office_id, user.must_change_password)


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
        raise HTTPException(403, "missing or wrong CSRF token")
    return live


def principal(request: Request) -> Principal:
    """The logged-in user, as the database has them now; unsafe methods also need the
    session's CSRF token in a header. Refused (403) until a reset password is changed."""
    who = live_session(request).who
    if who.must_change_password:
        raise HTTPException(403, "change your password first (POST /api/me/password)")
    return who


def require(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        raise HTTPException(403, f"needs the role {' or '.join(r.value for r in roles)}")

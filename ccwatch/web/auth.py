"""Log-in, roles and what each role may see: enforced in the API, not only in the page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from fastapi import HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.access import Role, User

HASHER = PasswordHasher()  # argon2id with the library's recommended parameters
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: Role
    office_id: str | None

    @property
    def office_scope(self) -> str | None:
        """The one office an officer may see; None: every office."""
        return self.office_id if self.role == Role.OFFICER else None

    def may_see(self, office_id: str) -> bool:
        return self.office_scope is None or self.office_scope == office_id


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password(engine: Engine, user_id: str, password: str) -> Principal | None:
    with Session(engine) as session:
        user = session.get(User, user_id)
    if user is None or not user.active:
        HASHER.hash(password)  # same cost whether or not the user exists
        return None
    try:
        HASHER.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return Principal(user.id, user.name, user.role, user.office_id)


def start_session(request: Request, who: Principal) -> str:
    """Remember the user in the signed session cookie; returns the CSRF token."""
    request.session.clear()
    token = secrets.token_urlsafe(32)
    request.session.update(
        user=who.id, name=who.name, role=who.role.value, office=who.office_id, csrf=token
    )
    return token


def principal(request: Request) -> Principal:
    """The logged-in user; unsafe methods also need the session's CSRF token in a header."""
    session = request.session
    if "user" not in session:
        raise HTTPException(401, "log in first")
    if request.method not in SAFE_METHODS and not secrets.compare_digest(
        request.headers.get("x-csrf-token", ""), session.get("csrf", "")
    ):
        raise HTTPException(403, "missing or wrong CSRF token")
    return Principal(session["user"], session["name"], Role(session["role"]), session["office"])


def require(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        raise HTTPException(403, f"needs the role {' or '.join(r.value for r in roles)}")

"""Server-side sessions of the web app (docs/web.md, "Sessions").

The cookie carries a random session id and nothing else; the ``sessions`` table keeps its
SHA-256 (a copy of the database opens no session), the user, the session's CSRF token, and
when it began, was last used, must end and was ended. Every request reads the session row
and the user's row: role, office and whether the user is active come from the database,
never from the cookie, so ending a session or changing a user takes effect at the next
request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import CursorResult, Engine, delete, func, select, update
from sqlalchemy.orm import Session

from ccwatch.web.auth import Principal
from models.access import User, WebSession

COOKIE = "ccwatch"
SECURE_COOKIE = "__Host-ccwatch"  # the browser keeps it only if Secure, host-only, path /
TOUCH = timedelta(seconds=60)  # last use is written at most once a minute
KEEP_ENDED = timedelta(days=30)  # ended sessions' rows are deleted this long after their end
MAX_ID = 128  # longer cookies are not looked up


def utcnow() -> datetime:
    return datetime.now(UTC)


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def end_sessions(
    session: Session, user_id: str | None, reason: str, now: datetime | None = None
) -> int:
    """End every live session of a user (None: of every user) in the caller's transaction;
    how many there were."""
    whose = () if user_id is None else (WebSession.user_id == user_id,)
    result = session.execute(
        update(WebSession)
        .where(WebSession.revoked_at.is_(None), *whose)
        .values(revoked_at=now or utcnow(), revoked_reason=reason)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount


def live_sessions(session: Session, user_id: str, now: datetime | None = None) -> int:
    """Sessions of a user not ended and within their absolute end (idle ones included)."""
    return (
        session.scalar(
            select(func.count()).where(
                WebSession.user_id == user_id,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > (now or utcnow()),
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Live:
    """A session in force: who (as the database says now) and its CSRF token."""

    who: Principal
    csrf: str


class SessionStore:
    def __init__(
        self,
        engine: Engine,
        idle_s: float,
        absolute_s: float,
        secure: bool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.idle = timedelta(seconds=idle_s)
        self.absolute = timedelta(seconds=absolute_s)
        self.secure = secure
        self.clock = clock
        self.cookie = SECURE_COOKIE if secure else COOKIE

    def start(self, user_id: str, replacing: str | None = None) -> tuple[str, str]:
        """A new session of a logged-in user (and the end of the one its browser had):
        (session id for the cookie, CSRF token)."""
        now = self.clock()
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with Session(self.engine) as session, session.begin():
            if replacing and len(replacing) <= MAX_ID:
                session.execute(
                    update(WebSession)
                    .where(WebSession.id_hash == digest(replacing), WebSession.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_reason="replaced")
                )
            session.execute(delete(WebSession).where(WebSession.expires_at < now - KEEP_ENDED))
            session.add(
                WebSession(
                    id_hash=digest(session_id),
                    user_id=user_id,
                    csrf=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.absolute,
                )
            )
        return session_id, csrf

    def load(self, session_id: str | None, touch: bool = True) -> Live | None:
        """The session in force with this id, or None. A session past its idle or absolute
        timeout, or of a user no longer active, is ended here. ``touch``: this request is
        use of the session (it postpones the idle timeout)."""
        if not session_id or len(session_id) > MAX_ID:
            return None
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            row = session.get(WebSession, digest(session_id))
            if row is None or row.revoked_at is not None:
                return None
            user = session.get(User, row.user_id)
            ended = (
                "expired"
                if now >= row.expires_at or now >= row.created_at + self.absolute
                else "idle"
                if now - row.last_seen_at >= self.idle
                else "inactive"
                if user is None or not user.active
                else None
            )
            if ended is not None or user is None:
                row.revoked_at, row.revoked_reason = now, ended
                return None
            if touch and now - row.last_seen_at >= TOUCH:
                row.last_seen_at = now
            who = Principal(
                user.id, user.name, user.role, user.office_id, user.must_change_password
            )
            return Live(who, row.csrf)

    def end_all(self, user_id: str, reason: str) -> int:
        with Session(self.engine) as session, session.begin():
            return end_sessions(session, user_id, reason, self.clock())

    # the cookie -------------------------------------------------------------------------
    def session_id(self, request: Request) -> str | None:
        return request.cookies.get(self.cookie)

    def set_cookie(self, response: Response, session_id: str) -> None:
        response.set_cookie(
            self.cookie,
            session_id,
            max_age=int(self.absolute.total_seconds()),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            self.cookie, path="/", secure=self.secure, httponly=True, samesite="strict"
        )

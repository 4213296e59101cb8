"""Who may use the command-center app, and what they did: users and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class Role(enum.StrEnum):
    OFFICER = "officer"  # their own office's subjects and alerts only
    COMMAND = "command"  # the command center: everything
    ADMIN = "admin"  # users, offices, security periods


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="Login name")
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda m: [r.value for r in m])
    )
    office_id: Mapped[str | None] = mapped_column(ForeignKey("offices.id"))
    officer_id: Mapped[str | None] = mapped_column(ForeignKey("officers.id"))
    password_hash: Mapped[str] = mapped_column(Text, doc="argon2id")
    active: Mapped[bool] = mapped_column(default=True, server_default="1")
    must_change_password: Mapped[bool] = mapped_column(
        default=False,
        server_default="0",
        doc="Set by an administrator's password reset: until the user sets their own, "
        "only changing it is allowed",
    )


class WebSession(Base):
    """A log-in to the web app. The cookie holds only the random session id; this row holds
    its SHA-256, so a copy of the database opens no session. Role, office and whether the
    user is active are read from ``users`` on every request, never from the cookie."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True, doc="SHA-256, hex")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64), doc="Sent back in X-CSRF-Token")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True, doc="Absolute end")
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class AuditEntry(Base):
    """Every action and every read of a subject's data, with who and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class LoginAttempts(Base):
    """Failed log-ins counted per account (``user:NAME``, unknown names too) and per
    address (``addr:IP``): the delay before the next attempt, and an account's lock-out
    (:mod:`ccwatch.web.throttle`)."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0, doc="Since the last success or unlock")
    last_at: Mapped[datetime] = mapped_column(doc="The last attempt counted")
    retry_at: Mapped[datetime | None] = mapped_column(doc="No attempt before this")
    locked_until: Mapped[datetime | None] = mapped_column(doc="An account's lock-out")

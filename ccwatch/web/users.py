"""Users of the web app: create, deactivate, reactivate, reset a password, change role or
office, lift a log-in lock-out, change one's own password (docs/web.md, "Users").

Each change is audited in its own transaction, and every change to who a user is or how
they log in ends all of that user's sessions in that same transaction. Neither a password
nor its hash is ever returned or written to the audit log; a reset's temporary password is
returned once, to the administrator who asked for it.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ccwatch.web import throttle
from ccwatch.web.auth import hash_password, password_matches
from ccwatch.web.passwords import check_password_policy
from ccwatch.web.sessions import end_sessions, live_sessions
from models.access import Role, User
from models.reference import Office
from register.core import Actor, NotFound, Refused, audit


class Exists(Refused):
    """The user id is taken (the API answers 409)."""


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(user_id)
    return user


def _check_access(session: Session, role: Role, office_id: str | None) -> None:
    if role == Role.OFFICER and not office_id:
        raise Refused("司法所工作人员须指定司法所", "an officer needs an office")
    if office_id and session.get(Office, office_id) is None:
        raise Refused(f"没有司法所 {office_id}", f"no office {office_id}")


def _keep_an_administrator(session: Session, user: User) -> None:
    """Refuse a change that would leave no active administrator."""
    others = session.scalar(
        select(func.count()).where(User.role == Role.ADMIN, User.active, User.id != user.id)
    )
    if user.role == Role.ADMIN and user.active and not others:
        raise Refused("须至少保留一名在用的管理员", "keep at least one active administrator")


def user_dict(session: Session, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role.value,
        "office_id": user.office_id,
        "active": user.active,
        "must_change_password": user.must_change_password,
        "sessions": live_sessions(session, user.id),
    }


def users(engine: Engine) -> list[dict[str, Any]]:
    """Every user, with how many sessions they have open (never a password hash)."""
    with Session(engine) as session:
        return [user_dict(session, u) for u in session.scalars(select(User).order_by(User.id))]


def create(
    engine: Engine,
    actor: Actor,
    user_id: str,
    name: str,
    role: Role,
    office_id: str | None,
    password: str,
    must_change_password: bool = False,
) -> dict[str, Any]:
    """A new user; an id already taken is refused (:class:`Exists`), never overwritten."""
    with Session(engine) as session, session.begin():
        if session.get(User, user_id) is not None:
            raise Exists(f"用户 {user_id} 已存在", f"the user {user_id} exists already")
        _check_access(session, role, office_id)
        check_password_policy(password, user_id, name)
        user = User(
            id=user_id,
            name=name,
            role=role,
            office_id=office_id,
            password_hash=hash_password(password),
            active=True,
            must_change_password=must_change_password,
        )
        session.add(user)
        session.flush()
        audit(session, actor, "user.create", user_id, role=role.value, office=office_id)
        return user_dict(session, user)


def deactivate(engine: Engine, actor: Actor, user_id: str) -> dict[str, Any]:
    """The user can no longer log in; their sessions end now."""
    with Session(engine) as session, session.begin():
        user = _user(session, user_id)
        _keep_an_administrator(session, user)
        user.active = False
        ended = end_sessions(session, user_id, "deactivated")
        audit(session, actor, "user.deactivate", user_id, sessions_ended=ended)
        return user_dict(session, user)


def reactivate(engine: Engine, actor: Actor, user_id: str) -> dict[str, Any]:
    with Session(engine) as session, session.begin():
        user = _user(session, user_id)
        user.active = True
        audit(session, actor, "user.reactivate", user_id)
        return user_dict(session, user)


def reset_password(
    engine: Engine, actor: Actor, user_id: str, temporary: str | None = None
) -> tuple[dict[str, Any], str]:
    """Give the user a temporary password (``temporary``, or a new random one) that they
    must change at their next log-in; their sessions end now. (The user's record, the
    temporary password: for the administrator, once.)"""
    with Session(engine) as session, session.begin():
        user = _user(session, user_id)
        if temporary:
            check_password_policy(temporary, user_id, user.name)
        temporary = temporary or secrets.token_urlsafe(12)  # 16 characters
        user.password_hash = hash_password(temporary)
        user.must_change_password = True
        ended = end_sessions(session, user_id, "password reset")
        audit(session, actor, "user.reset_password", user_id, sessions_ended=ended)
        return user_dict(session, user), temporary


def set_access(
    engine: Engine, actor: Actor, user_id: str, role: Role, office_id: str | None
) -> dict[str, Any]:
    """Change a user's role and office; if either changes, their sessions end now (the
    answer's ``changed``)."""
    with Session(engine) as session, session.begin():
        user = _user(session, user_id)
        _check_access(session, role, office_id)
        if role != Role.ADMIN:
            _keep_an_administrator(session, user)
        before = (user.role, user.office_id)
        changed = before != (role, office_id)
        ended = 0
        if changed:
            user.role, user.office_id = role, office_id
            ended = end_sessions(session, user_id, "access changed")
            audit(
                session,
                actor,
                "user.access",
                user_id,
                role=[before[0].value, role.value],
                office=[before[1], office_id],
                sessions_ended=ended,
            )
        return {**user_dict(session, user), "changed": changed}


def unlock(engine: Engine, actor: Actor, user_id: str) -> dict[str, Any]:
    """Lift the user's lock-out after failed log-ins and forget their failures
    (:mod:`ccwatch.web.throttle`); ``unlocked``: whether there was anything to lift."""
    with Session(engine) as session, session.begin():
        user = _user(session, user_id)
        had = throttle.unlock(session, user_id)
        audit(session, actor, "user.unlock", user_id, had_failures=had)
        return {**user_dict(session, user), "unlocked": had}


def end_all_sessions(engine: Engine, actor: Actor, user_id: str) -> int:
    """End every session of a user (a lost or shared device); how many."""
    with Session(engine) as session, session.begin():
        _user(session, user_id)
        ended = end_sessions(session, user_id, "ended by administrator")
        audit(session, actor, "user.end_sessions", user_id, sessions_ended=ended)
        return ended


def end_every_session(engine: Engine, actor: Actor) -> int:
    """End the sessions of every user (a suspected leak): everyone logs in again."""
    with Session(engine) as session, session.begin():
        ended = end_sessions(session, None, "ended by administrator")
        audit(session, actor, "user.end_sessions", "*", sessions_ended=ended)
        return ended


def change_password(engine: Engine, user_id: str, current: str, new: str) -> None:
    """A user sets their own password, giving the current one; every session of theirs
    ends (the caller starts a new one for the browser that asked)."""
    with Session(engine) as session, session.begin():
        user = _user(session, user_id)
        if not password_matches(user.password_hash, current):
            raise Refused("当前密码不对", "the current password is wrong")
        if new == current:
            raise Refused("新密码须与当前密码不同", "choose a password other than the current one")
        check_password_policy(new, user_id, user.name)
        user.password_hash = hash_password(new)
        user.must_change_password = False
        ended = end_sessions(session, user_id, "password changed")
        audit(session, Actor(user_id), "user.change_password", user_id, sessions_ended=ended)

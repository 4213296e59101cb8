"""Users in the JSON API: administrators list, deactivate, reactivate, reset passwords,
change roles and offices and lift log-in lock-outs (403 for every other role, 404 for an
unknown user); each change of who a user is ends that user's sessions at once
(:mod:`ccwatch.web.users`). Creating a user stays ``POST /api/users`` (:mod:`ccwatch.web.app`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import Engine

from ccwatch.web import users
from ccwatch.web.admin_api import Admin
from ccwatch.web.register_api import actor
from models.access import Role
from register.core import NotFound, Refused

T = TypeVar("T")


class AccessBody(BaseModel):
    role: Role
    office_id: str | None = None


async def run(do: Callable[[], T]) -> T:
    """Run a change of users: unknown users are 404, an id taken 409, refusals 422."""
    try:
        return await asyncio.to_thread(do)
    except NotFound:
        raise HTTPException(404, "no such user") from None
    except users.Exists as taken:
        raise HTTPException(409, taken.as_dict()) from None
    except Refused as refused:
        raise HTTPException(422, refused.as_dict()) from None


def routes(engine: Engine) -> APIRouter:
    api = APIRouter(prefix="/api/users", tags=["admin"])

    @api.get("")
    async def list_users(_: Admin) -> list[dict[str, Any]]:
        """Every user: role, office, active, whether they must change their password, and
        their open sessions (never a password hash)."""
        return await asyncio.to_thread(users.users, engine)

    @api.post("/{user_id}/deactivate")
    async def deactivate(user_id: str, who: Admin) -> dict[str, Any]:
        """The user can no longer log in; their sessions end now."""
        return await run(lambda: users.deactivate(engine, actor(who), user_id))

    @api.post("/{user_id}/reactivate")
    async def reactivate(user_id: str, who: Admin) -> dict[str, Any]:
        return await run(lambda: users.reactivate(engine, actor(who), user_id))

    @api.post("/{user_id}/reset-password")
    async def reset_password(user_id: str, who: Admin) -> dict[str, Any]:
        """A temporary password, in the answer this once: the user must change it at their
        next log-in (until then nothing else is allowed); their sessions end now."""
        record, temporary = await run(lambda: users.reset_password(engine, actor(who), user_id))
        return {**record, "temporary_password": temporary}

    @api.post("/{user_id}/access")
    async def set_access(user_id: str, body: AccessBody, who: Admin) -> dict[str, Any]:
        """Change the user's role and office (an officer needs one); if either changes,
        their sessions end now (``changed``)."""
        return await run(
            lambda: users.set_access(engine, actor(who), user_id, body.role, body.office_id)
        )

    @api.post("/{user_id}/unlock")
    async def unlock(user_id: str, who: Admin) -> dict[str, Any]:
        """Lift the user's lock-out after failed log-ins, and forget their failures
        (``unlocked``: whether there was anything to lift). ``GET /api/lockouts`` lists the
        accounts locked."""
        return await run(lambda: users.unlock(engine, actor(who), user_id))

    @api.post("/{user_id}/end-sessions")
    async def end_sessions(user_id: str, who: Admin) -> dict[str, Any]:
        """End every session of the user (a lost device): they log in again."""
        ended = await run(lambda: users.end_all_sessions(engine, actor(who), user_id))
        return {"user": user_id, "sessions_ended": ended}

    return api

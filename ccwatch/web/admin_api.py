"""Offices and terminals in the JSON API, for administrators only (403 for other roles).
Each change is audited in its own transaction (:mod:`register.admin`) and told to the
workers at once; a new terminal's key secret is in the answer, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from ccwatch.settings import Settings
from ccwatch.web.auth import Principal, principal, require
from ccwatch.web.register_api import Aware, actor, run_change
from models.access import Role
from models.limits import MAX_ID
from models.reference import Zone
from register import admin

Id = Annotated[str, Field(max_length=MAX_ID)]  # refused in Chinese and English if malformed
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Name = Annotated[str, Field(min_length=1, max_length=64)]


def administrator(who: Annotated[Principal, Depends(principal)]) -> Principal:
    require(who, Role.ADMIN)
    return who


Admin = Annotated[Principal, Depends(administrator)]


class OfficeBody(BaseModel):
    office_id: Id
    name_zh: Name
    name_en: Name
    zone: Zone
    lat: Lat
    lon: Lon


class PlaceBody(BaseModel):
    """An office, and where at it (default: the office's location)."""

    office_id: Id
    lat: Lat | None = None
    lon: Lon | None = None

    def at(self) -> tuple[float, float] | None:
        return None if self.lat is None or self.lon is None else (self.lat, self.lon)


class TerminalBody(PlaceBody):
    terminal_id: Id


class RetireBody(BaseModel):
    at: Aware | None = None


def routes(engine: Engine, settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api/admin", tags=["admin"])

    async def change(kind: str, do: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return await run_change(settings, kind, None, do)

    @api.get("/offices")
    async def list_offices(_: Admin) -> list[dict[str, Any]]:
        return await asyncio.to_thread(admin.offices, engine)

    @api.post("/offices")
    async def save_office(body: OfficeBody, who: Admin) -> dict[str, Any]:
        """Add an office (司法所), or update its names, zone and location (``created``)."""
        fields = admin.OfficeFields(**body.model_dump())
        return await change("office.save", lambda: admin.save_office(engine, actor(who), fields))

    @api.get("/terminals")
    async def list_terminals(_: Admin, office: str | None = None) -> list[dict[str, Any]]:
        """Terminals, retired ones too, with the keys they sign with (never the secrets)."""
        return await asyncio.to_thread(admin.terminals, engine, office)

    @api.post("/terminals", status_code=201)
    async def add_terminal(body: TerminalBody, who: Admin) -> dict[str, Any]:
        """Add a terminal (自助矫正终端) to an office and enrol its signing key: the answer
        holds ``secret``, shown this once, for the terminal."""
        return await change(
            "terminal.add",
            lambda: admin.add_terminal(
                engine, actor(who), body.terminal_id, body.office_id, body.at()
            ),
        )

    @api.post("/terminals/{terminal_id}/move")
    async def move_terminal(terminal_id: str, body: PlaceBody, who: Admin) -> dict[str, Any]:
        """Move a terminal in service to another office."""
        return await change(
            "terminal.move",
            lambda: admin.move_terminal(engine, actor(who), terminal_id, body.office_id, body.at()),
        )

    @api.post("/terminals/{terminal_id}/retire")
    async def retire_terminal(terminal_id: str, body: RetireBody, who: Admin) -> dict[str, Any]:
        """Retire a terminal: records it signs from ``at`` (default now) on are refused."""
        return await change(
            "terminal.retire",
            lambda: admin.retire_terminal(engine, actor(who), terminal_id, body.at),
        )

    return api

"""The register in the JSON API: intake, transfer, release, leave. Every change is checked
by :mod:`register.rules`, audited in its own transaction, and told to the workers at once.

An officer acts for their own office; the command center and administrators for the county
bureau. A subject or leave the caller may not act for does not exist (404)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import Engine

from ccwatch.reference import shengsi
from ccwatch.settings import Settings
from ccwatch.web.auth import Denied, Principal, principal
from models.limits import MAX_ID
from models.reference import CorrectionType, EndReason, Level, PositioningReason
from register import orders, positioning, store
from register.core import Actor, NotFound, Refused
from register.notify import tell_workers
from register.rules import MAX_SUBJECT_ID, HomeCurfew, OrderZone

User = Annotated[Principal, Depends(principal)]
T = TypeVar("T")


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("give the time with its zone, e.g. +08:00")
    return when


Aware = Annotated[datetime, AfterValidator(_aware)]
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID)]
Text = Annotated[str, Field(max_length=512)]


class IntakeBody(BaseModel):
    subject_id: Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT_ID)]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    correction_type: CorrectionType
    decided_by: Annotated[str, Field(min_length=1, max_length=128)]
    decision_no: Annotated[str, Field(min_length=1, max_length=64)]
    starts_on: date
    ends_on: date
    office_id: Id
    officer_id: Id | None = None
    level: Level = Level.NORMAL
    home_lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    home_lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    devices: Annotated[list[Id], Field(max_length=8)] = []
    case_id: Id | None = None
    victims: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=20)
    ] = []


class TransferBody(BaseModel):
    office_id: Id
    officer_id: Id | None = None


class ReleaseBody(BaseModel):
    on: date
    reason: EndReason
    document: Annotated[str, Field(max_length=128)]


class LeaveBody(BaseModel):
    starts_at: Aware
    ends_at: Aware
    destination: Annotated[str, Field(min_length=1, max_length=256)]
    emergency: bool = False
    extends: Id | None = None


class ReturnBody(BaseModel):
    at: Aware


class DecisionBody(BaseModel):
    note: Text = ""


Hour = Annotated[int, Field(ge=0, le=23)]


class ZoneBody(BaseModel):
    """A circle (``lat``, ``lon``, ``radius_m``) or a GeoJSON polygon (lon/lat)."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    radius_m: Annotated[float, Field(gt=0, le=50_000)] | None = None
    polygon: dict[str, Any] | None = None
    from_hour: Hour | None = None
    to_hour: Hour | None = None

    def value(self) -> OrderZone:
        centre = (self.lat, self.lon) if self.lat is not None and self.lon is not None else None
        hours = None
        if self.from_hour is not None and self.to_hour is not None:
            hours = (self.from_hour, self.to_hour)
        return OrderZone(self.name, centre, self.radius_m, self.polygon, hours)


class CurfewBody(BaseModel):
    from_hour: Hour
    to_hour: Hour
    radius_m: Annotated[float, Field(gt=0, le=5_000)]


class OrderBody(BaseModel):
    document: Annotated[str, Field(min_length=1, max_length=128)]
    issued_by: Annotated[str, Field(min_length=1, max_length=128)]
    starts_on: date
    ends_on: date | None = None
    zones: Annotated[list[ZoneBody], Field(max_length=20)] = []
    curfew: CurfewBody | None = None
    no_contact: Annotated[list[Id], Field(max_length=20)] = []


class LiftBody(BaseModel):
    on: date
    reason: Annotated[str, Field(min_length=1, max_length=256)]


class PositioningBody(BaseModel):
    reason: PositioningReason
    approved_by: Annotated[str, Field(min_length=1, max_length=128)]
    starts_on: date
    ends_on: date
    note: Text = ""


class ExtendBody(BaseModel):
    approved_by: Annotated[str, Field(min_length=1, max_length=128)]
    ends_on: date
    note: Text = ""


class RevokeBody(BaseModel):
    at: Aware | None = None


def actor(who: Principal) -> Actor:
    return Actor(who.id, who.office_scope)


async def run_change(
    settings: Settings, kind: str, subject_id: str | None, do: Callable[[], T]
) -> T:
    """Run a register change; tell the workers; refusals are 422, hidden records 404."""
    try:
        done = await asyncio.to_thread(do)
    except NotFound:  # another office's record, or none: audited as a denial
        raise Denied(404, "no such record", f"{kind}.denied", subject_id or "") from None
    except Refused as refused:
        raise HTTPException(422, refused.as_dict()) from None
    await asyncio.to_thread(
        tell_workers,
        settings.kafka_bootstrap,
        settings.topics,
        settings.partitions,
        kind,
        subject_id,
    )
    return done


def routes(engine: Engine, settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["register"])

    async def change(kind: str, subject_id: str | None, do: Callable[[], T]) -> T:
        return await run_change(settings, kind, subject_id, do)

    async def read(do: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(do)
        except NotFound:
            raise Denied(404, "no such subject", "register.read.denied") from None

    @api.post("/subjects", status_code=201)
    async def intake(body: IntakeBody, who: User) -> dict[str, Any]:
        """Intake (入矫): the decision, the term, the supervising office, the devices."""
        home = None
        if body.home_lat is not None and body.home_lon is not None:
            home = (body.home_lat, body.home_lon)
        fields = body.model_dump(exclude={"home_lat", "home_lon", "devices", "victims"})
        devices, victims = tuple(body.devices), tuple(body.victims)
        new = store.Intake(**fields, home=home, devices=devices, victims=victims)
        return await change(
            "register.intake", body.subject_id, lambda: store.intake(engine, actor(who), new)
        )

    @api.post("/subjects/{subject_id}/transfer")
    async def transfer(subject_id: str, body: TransferBody, who: User) -> dict[str, Any]:
        """Transfer to another office (执行地变更) from now on."""
        return await change(
            "register.transfer",
            subject_id,
            lambda: store.transfer(engine, actor(who), subject_id, body.office_id, body.officer_id),
        )

    @api.post("/subjects/{subject_id}/release")
    async def release(subject_id: str, body: ReleaseBody, who: User) -> dict[str, Any]:
        """Release before the term's end (解矫): revocation, death or another end."""
        return await change(
            "register.release",
            subject_id,
            lambda: store.release(
                engine, actor(who), subject_id, body.on, body.reason, body.document
            ),
        )

    @api.get("/subjects/{subject_id}/leaves")
    async def subject_leaves(subject_id: str, who: User) -> list[dict[str, Any]]:
        return await read(lambda: store.leaves(engine, actor(who), subject_id))

    @api.post("/subjects/{subject_id}/leaves", status_code=201)
    async def request_leave(subject_id: str, body: LeaveBody, who: User) -> dict[str, Any]:
        """Request a leave (请假外出), or an extension of an approved one (``extends``)."""
        return await change(
            "leave.request",
            subject_id,
            lambda: store.request_leave(
                engine,
                actor(who),
                subject_id,
                body.starts_at,
                body.ends_at,
                body.destination,
                body.emergency,
                body.extends,
            ),
        )

    @api.get("/leaves/pending")
    async def pending(who: User) -> list[dict[str, Any]]:
        """Requests waiting for a decision, oldest first, each naming who may approve it."""
        return await read(lambda: store.pending_leaves(engine, actor(who)))

    @api.post("/leaves/{leave_id}/return")
    async def return_early(leave_id: str, body: ReturnBody, who: User) -> dict[str, Any]:
        """Back before the leave's end (销假)."""
        return await change(
            "leave.return", None, lambda: store.return_early(engine, actor(who), leave_id, body.at)
        )

    @api.post("/leaves/{leave_id}/{decision}")
    async def decide(
        leave_id: str,
        decision: Literal["approve", "reject", "cancel"],
        body: DecisionBody,
        who: User,
    ) -> dict[str, Any]:
        """Approve or reject a request (the office up to 7 days, the county beyond), or
        withdraw it."""
        if decision == "cancel":
            return await change(
                "leave.cancel", None, lambda: store.cancel_leave(engine, actor(who), leave_id)
            )
        return await change(
            f"leave.{decision}",
            None,
            lambda: store.decide_leave(
                engine, actor(who), leave_id, decision == "approve", body.note
            ),
        )

    # prohibition orders (禁止令) ------------------------------------------------------
    @api.get("/places")
    async def places(who: User) -> list[dict[str, Any]]:
        """Named places an order may forbid (a circle each), to pick instead of typing."""
        return [asdict(v) for v in shengsi().venues]

    @api.get("/subjects/{subject_id}/orders")
    async def subject_orders(subject_id: str, who: User) -> list[dict[str, Any]]:
        return await read(lambda: orders.orders(engine, actor(who), subject_id))

    @api.post("/subjects/{subject_id}/orders", status_code=201)
    async def issue_order(subject_id: str, body: OrderBody, who: User) -> dict[str, Any]:
        """Register a prohibition order: forbidden zones, a home curfew (宵禁: be at home in
        given hours, not a forbidden zone at night), persons not to meet."""
        curfew = HomeCurfew(**body.curfew.model_dump()) if body.curfew else None
        return await change(
            "order.issue",
            subject_id,
            lambda: orders.issue_order(
                engine,
                actor(who),
                subject_id,
                document=body.document,
                issued_by=body.issued_by,
                starts_on=body.starts_on,
                ends_on=body.ends_on,
                zones=[z.value() for z in body.zones],
                curfew=curfew,
                no_contact=body.no_contact,
            ),
        )

    @api.post("/orders/{order_id}/lift")
    async def lift_order(order_id: str, body: LiftBody, who: User) -> dict[str, Any]:
        return await change(
            "order.lift",
            None,
            lambda: orders.lift_order(engine, actor(who), order_id, body.on, body.reason),
        )

    # e-positioning approvals (art. 29) --------------------------------------------------
    @api.post("/subjects/{subject_id}/positioning", status_code=201)
    async def approve_positioning(
        subject_id: str, body: PositioningBody, who: User
    ) -> dict[str, Any]:
        """Record an approval of electronic positioning (at most 3 months)."""
        return await change(
            "positioning.approve",
            subject_id,
            lambda: positioning.approve_positioning(
                engine,
                actor(who),
                subject_id,
                body.reason,
                body.approved_by,
                body.starts_on,
                body.ends_on,
                body.note,
            ),
        )

    @api.post("/positioning/{approval_id}/extend", status_code=201)
    async def extend_positioning(approval_id: str, body: ExtendBody, who: User) -> dict[str, Any]:
        """Extend an approval by at most 3 months, from the day after it ends."""
        return await change(
            "positioning.extend",
            None,
            lambda: positioning.extend_positioning(
                engine, actor(who), approval_id, body.approved_by, body.ends_on, body.note
            ),
        )

    @api.post("/positioning/{approval_id}/revoke")
    async def revoke_positioning(approval_id: str, body: RevokeBody, who: User) -> dict[str, Any]:
        return await change(
            "positioning.revoke",
            None,
            lambda: positioning.revoke_positioning(engine, actor(who), approval_id, body.at),
        )

    return api

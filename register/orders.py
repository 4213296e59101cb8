"""Prohibition orders (禁止令) on the register: issue, lift, list.

An order has up to three parts, judged by three detectors under three alert types, so that
nobody takes one for another:

- forbidden zones (进入禁止区域, :mod:`alerts.forbidden`): places not to enter, a circle or a
  polygon, some only at given local hours (a bar at night is still a place);
- a home curfew (宵禁, :mod:`alerts.curfew`): be at home, within a radius of the registered
  home, between given local hours;
- persons not to meet (禁止接触, :mod:`alerts.no_contact`): other subjects under supervision.

As in :mod:`register.store`: checked by :mod:`register.rules`, the rows and their audit
entry in one transaction, returned as plain dicts; the caller then tells the workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from models.ids import derive_id
from models.reference import Geofence, GeofenceKind, NoContact, ProhibitionOrder, Subject
from register import rules
from register.core import Actor, NotFound, Refused, audit
from register.rules import HomeCurfew, OrderZone
from register.store import changing, subject_for, term_of


def order_dict(o: ProhibitionOrder) -> dict[str, Any]:
    last = o.last_day()
    return {
        "order_id": o.id,
        "subject_id": o.subject_id,
        "document": o.document,
        "issued_by": o.issued_by,
        "starts_on": o.starts_on.isoformat(),
        "ends_on": o.ends_on.isoformat() if o.ends_on else None,
        "lifted_on": o.lifted_on.isoformat() if o.lifted_on else None,
        "last_day": last.isoformat() if last else None,
        "zones": [
            {
                "zone_id": z.id,
                "name": z.name,
                "geometry": z.geometry,
                "buffer_m": z.buffer_m,
                "hours": _hours(z.active_from_hour, z.active_to_hour),
            }
            for z in o.zones
        ],
        "curfew": None
        if o.curfew_from_hour is None
        else {
            "hours": _hours(o.curfew_from_hour, o.curfew_to_hour),
            "home_radius_m": o.home_radius_m,
        },
        "no_contact": [p.person_id for p in o.no_contact],
        "created_by": o.created_by,
    }


def issue_order(
    engine: Engine,
    actor: Actor,
    subject_id: str,
    *,
    document: str,
    issued_by: str,
    starts_on: date,
    ends_on: date | None = None,
    zones: Sequence[OrderZone] = (),
    curfew: HomeCurfew | None = None,
    no_contact: Sequence[str] = (),
) -> dict[str, Any]:
    """Register an order (its document number and court, its days) with its parts."""
    with changing(engine) as session:
        subject = subject_for(session, actor, subject_id)
        home = subject.home_lat is not None and subject.home_lon is not None
        parts = (zones, curfew, no_contact)
        rules.check_order(
            subject_id, term_of(subject), home, document, issued_by, starts_on, ends_on, *parts
        )
        known = set(session.scalars(select(Subject.id).where(Subject.id.in_(no_contact))))
        if missing := ", ".join(sorted(set(no_contact) - known)):
            raise Refused(f"禁止接触人员 {missing} 不在册", f"no subject {missing} on the register")
        order_id = derive_id("prohibition-order", subject_id, document.strip())
        if session.get(ProhibitionOrder, order_id) is not None:
            raise Refused("该禁止令已登记", "this order is already on the register")
        start, end = (curfew.from_hour, curfew.to_hour) if curfew else (None, None)
        order = ProhibitionOrder(
            id=order_id,
            subject_id=subject_id,
            document=document.strip(),
            issued_by=issued_by.strip(),
            starts_on=starts_on,
            ends_on=ends_on,
            curfew_from_hour=start,
            curfew_to_hour=end,
            home_radius_m=curfew.radius_m if curfew else None,
            created_by=actor.id,
            zones=[_fence(order_id, n, subject_id, z) for n, z in enumerate(zones, start=1)],
            no_contact=[NoContact(person_id=p) for p in no_contact],
        )
        session.add(order)
        session.flush()
        audit(session, actor, "order.issue", order_id, **_summary(order_dict(order)))
        return order_dict(order)


def lift_order(
    engine: Engine, actor: Actor, order_id: str, on: date, reason: str
) -> dict[str, Any]:
    """The order, all its parts, is no longer in force from ``on`` (lifted by the court, or
    entered in error: then on its first day)."""
    with changing(engine) as session:
        order = _order(session, actor, order_id)
        rules.check_lift(order.starts_on, order.last_day(), bool(order.lifted_on), on, reason)
        order.lifted_on = on
        audit(session, actor, "order.lift", order_id, on=on.isoformat(), reason=reason.strip())
        return order_dict(order)


def orders(engine: Engine, actor: Actor, subject_id: str) -> list[dict[str, Any]]:
    """A subject's orders, lifted ones too, earliest first."""
    with Session(engine) as session:
        subject_for(session, actor, subject_id)
        rows = session.scalars(
            select(ProhibitionOrder)
            .where(ProhibitionOrder.subject_id == subject_id)
            .options(
                selectinload(ProhibitionOrder.zones), selectinload(ProhibitionOrder.no_contact)
            )
            .order_by(ProhibitionOrder.starts_on, ProhibitionOrder.id)
        )
        return [order_dict(o) for o in rows]


def _order(session: Session, actor: Actor, order_id: str) -> ProhibitionOrder:
    order = session.get(ProhibitionOrder, order_id)
    if order is None:
        raise NotFound(order_id)
    subject_for(session, actor, order.subject_id)
    return order


def _fence(order_id: str, n: int, subject_id: str, zone: OrderZone) -> Geofence:
    start, end = zone.hours or (None, None)
    return Geofence(
        id=derive_id(order_id, "zone", str(n)),
        kind=GeofenceKind.FORBIDDEN,
        name=zone.name.strip(),
        subject_id=subject_id,
        geometry=zone.geometry(),
        buffer_m=zone.buffer_m,
        active_from_hour=start,
        active_to_hour=end,
    )


def _summary(order: dict[str, Any]) -> dict[str, Any]:
    """What the audit entry keeps of an order (not its zones' outlines)."""
    zones = [{k: v for k, v in z.items() if k != "geometry"} for z in order["zones"]]
    return {k: v for k, v in order.items() if k not in ("order_id", "zones")} | {"zones": zones}


def _hours(start: int | None, end: int | None) -> list[int] | None:
    return None if start is None or end is None else [start, end]

"""Prohibition orders (禁止令) on the register: issued with their zones, curfew and named
persons, lifted, listed, audited in the same transaction, and read into the workers'
registry; refused whole when anything is wrong (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.access import AuditEntry
from models.db import make_engine
from models.localtime import LOCAL_TZ
from models.reference import Geofence, NoContact, ProhibitionOrder, Subject
from models.registry import load_registry, load_snapshot, save_snapshot
from models.values import Days
from register.core import Actor, NotFound, Refused
from register.orders import issue_order, lift_order, orders
from register.rules import HomeCurfew, OrderZone

CAIYUAN = Actor("officer-caiyuan", "caiyuan", "O-caiyuan-1")
GOUQI = Actor("officer-gouqi", "gouqi", "O-gouqi-1")
STARTS = date(2026, 11, 1)  # within SS-0007's term (2026-10-09 to 2029-10-08)
BAR = OrderZone("菜园镇酒吧 Caiyuan bar", centre=(30.7165, 122.4560), radius_m=80, hours=(20, 2))
SCHOOL = OrderZone(
    "小学 primary school",
    polygon={
        "type": "Polygon",
        "coordinates": [[[122.49, 30.72], [122.50, 30.72], [122.50, 30.73], [122.49, 30.72]]],
    },
)
CURFEW = HomeCurfew(22, 6, 300.0)


def _issue(
    url: str, actor: Actor = CAIYUAN, subject: str = "SS-0007", **change: Any
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "document": "(2026)浙0922刑初88号",
        "issued_by": "嵊泗县人民法院",
        "starts_on": STARTS,
        "zones": (BAR, SCHOOL),
        "curfew": CURFEW,
        "no_contact": ("SS-0008",),
    } | change
    return issue_order(make_engine(url), actor, subject, **fields)


def _count(url: str, table: type[Any]) -> int:
    with Session(make_engine(url)) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_an_order_with_its_parts_and_its_audit_entry_reaches_the_registry(
    url: str, tmp_path: Path
) -> None:
    made = _issue(url)
    assert made["curfew"] == {"hours": [22, 6], "home_radius_m": 300.0}
    assert made["no_contact"] == ["SS-0008"] and made["last_day"] is None
    assert [z["hours"] for z in made["zones"]] == [[20, 2], None]
    with Session(make_engine(url)) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "order.issue"))
        assert (entry.user_id, entry.target) == ("officer-caiyuan", made["order_id"])
        assert entry.detail["curfew"] == made["curfew"] and "geometry" not in str(entry.detail)

    registry = load_registry(make_engine(url))
    [order] = registry.orders["SS-0007"]
    assert order.days == Days(STARTS) and order.curfew == (22, 6)
    assert order.home_radius_m == 300.0 and order.no_contact == ("SS-0008",)
    assert order.home is not None  # the subject's registered home
    zones = {z.name: z for z in registry.forbidden["SS-0007"]}
    assert zones["菜园镇酒吧 Caiyuan bar"].hours == (20, 2)
    assert zones["小学 primary school"].days == Days(STARTS)
    save_snapshot(registry, tmp_path / "registry.json")  # a worker starting without the db
    assert load_snapshot(tmp_path / "registry.json") == registry


def test_a_lifted_order_ends_the_day_before_and_is_listed_still(url: str) -> None:
    made = _issue(url, ends_on=date(2027, 5, 1))
    engine = make_engine(url)
    with pytest.raises(Refused):  # the reason is required
        lift_order(engine, CAIYUAN, made["order_id"], date(2026, 12, 10), " ")
    with pytest.raises(NotFound):  # another office's subject does not exist for this officer
        lift_order(engine, GOUQI, made["order_id"], date(2026, 12, 10), "法院裁定解除")
    lifted = lift_order(engine, CAIYUAN, made["order_id"], date(2026, 12, 10), "法院裁定解除")
    assert lifted["last_day"] == "2026-12-09" and lifted["ends_on"] == "2027-05-01"
    with pytest.raises(Refused):  # once
        lift_order(engine, CAIYUAN, made["order_id"], date(2026, 12, 11), "again")
    [order] = load_registry(engine).orders["SS-0007"]
    assert order.days == Days(STARTS, date(2026, 12, 9))
    assert all(z.days == order.days for z in load_registry(engine).forbidden["SS-0007"])
    assert [o["lifted_on"] for o in orders(engine, CAIYUAN, "SS-0007")] == ["2026-12-10"]
    with pytest.raises(NotFound):
        orders(engine, GOUQI, "SS-0007")


OPEN_RING = {"type": "Polygon", "coordinates": [[[122.49, 30.72], [122.50, 30.72]]]}
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"curfew": HomeCurfew(22, 24, 300.0)}, "hours run from 0 to 23"),
        ({"curfew": HomeCurfew(22, 22, 300.0)}, "start and end at different times"),
        ({"curfew": HomeCurfew(22, 6, 0.0)}, "home radius must be more than 0"),
        ({"zones": (OrderZone("x", centre=(30.7, 122.4), radius_m=-5),)}, "radius"),
        ({"zones": (OrderZone("x", polygon=OPEN_RING),)}, "not a valid GeoJSON polygon"),
        ({"zones": (OrderZone("x", polygon=BOWTIE),)}, "not a valid GeoJSON polygon"),
        ({"zones": (OrderZone("x"),)}, "a circle or a polygon"),
        ({"zones": (OrderZone("x", centre=(30.7, 122.4), radius_m=50, hours=(-1, 6)),)}, "0 to 23"),
        ({"no_contact": ("SS-0007",)}, "cannot be a person not to meet"),
        ({"no_contact": ("SS-9999",)}, "no subject SS-9999"),
        ({"zones": (), "curfew": None, "no_contact": ()}, "an order forbids"),
        ({"starts_on": date(2026, 1, 1)}, "start within the term"),
        ({"ends_on": date(2026, 10, 31)}, "end after it starts"),
        ({"document": " "}, "document"),
    ],
)
def test_an_order_is_refused_whole_when_a_part_is_wrong(
    url: str, change: dict[str, Any], why: str
) -> None:
    with pytest.raises(Refused, match=why):
        _issue(url, **change)
    for table in (ProhibitionOrder, NoContact, AuditEntry):
        assert _count(url, table) == 0
    assert "SS-0007" not in load_registry(make_engine(url)).orders


def test_a_repeated_order_another_offices_subject_and_no_home(url: str) -> None:
    _issue(url)
    fences = _count(url, Geofence)
    with pytest.raises(Refused, match="already on the register"):
        _issue(url)
    assert _count(url, Geofence) == fences
    with pytest.raises(NotFound):
        _issue(url, actor=GOUQI)
    with Session(make_engine(url)) as session, session.begin():
        subject = session.get(Subject, "SS-0008")
        assert subject is not None
        subject.home_lat = subject.home_lon = None
    with pytest.raises(Refused, match="needs the subject's home"):
        _issue(url, subject="SS-0008", document="(2026)浙0922刑初89号", no_contact=())


def test_the_map_draws_the_zones_of_orders_in_force_only(url: str) -> None:
    from ccwatch.web.auth import Principal
    from ccwatch.web.queries import geo
    from models.access import Role

    engine = make_engine(url)
    today = datetime.now(LOCAL_TZ).date()
    zone = OrderZone("赌场 casino", (30.72, 122.45), 80.0)
    made = issue_order(engine, CAIYUAN, "SS-0001", document="禁1", issued_by="法院",
                       starts_on=today - timedelta(days=10), zones=[zone])  # fmt: skip
    who = Principal("cc", "cc", Role.COMMAND, None)

    def drawn() -> set[str]:
        return {
            f["properties"]["name"]
            for f in geo(engine, who)["features"]
            if f["properties"]["kind"] == "forbidden"
        }

    assert "赌场 casino" in drawn()
    lift_order(engine, CAIYUAN, made["order_id"], today, "法院撤销")
    assert "赌场 casino" not in drawn()

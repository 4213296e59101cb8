"""E-positioning approvals in the register (art. 29): approved, extended and revoked with
their audit entry in one transaction, refused with the reason, read by the workers as
windows of time, and shown to officers (their office only) when they are about to end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ccwatch.settings import Settings
from ccwatch.web import queries, users
from ccwatch.web.app import create_app
from models.access import AuditEntry, Role
from models.db import make_engine
from models.localtime import LOCAL_TZ
from models.reference import (
    CorrectionType,
    Level,
    PositioningApproval,
    PositioningReason,
    Subject,
)
from models.registry import load_registry
from register.core import Actor, NotFound, Refused
from register.positioning import (
    approvals,
    approve_positioning,
    extend_positioning,
    revoke_positioning,
)

DAY = timedelta(days=1)
TODAY = queries.today()
REASON = PositioningReason.LEFT_WITHOUT_APPROVAL
OFFICER = Actor("cy", "caiyuan")
PASSWORD = "correct horse battery"


@pytest.fixture
def engine(url: str) -> Engine:
    """The seeded database and two subjects without approvals, in Caiyuan and Gouqi."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        for subject_id, office in (("SS-9001", "caiyuan"), ("SS-9002", "gouqi")):
            session.add(
                Subject(
                    id=subject_id,
                    name=subject_id,
                    office_id=office,
                    correction_type=CorrectionType.PROBATION,
                    level=Level.NORMAL,
                    starts_on=TODAY - 100 * DAY,
                    ends_on=TODAY + 400 * DAY,
                )
            )
    return engine


def approve(engine: Engine, first: date, last: date, **over: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        actor=OFFICER,
        subject_id="SS-9001",
        reason=REASON,
        approved_by="县司法局 王局长",
        starts_on=first,
        ends_on=last,
    )
    return approve_positioning(engine, **(args | over))


def audit_actions(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action.like("positioning.%")))
        return [(e.user_id, e.action, e.target) for e in rows]


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(PositioningApproval)) or 0


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL_TZ)


def test_an_approval_is_recorded_audited_and_read_by_the_workers(engine: Engine) -> None:
    first = TODAY - 10 * DAY
    made = approve(engine, first, first + 20 * DAY, note="离县未报告")
    assert made["decided_by"] == "cy" and made["reason"] == "left_without_approval"
    assert approvals(engine, "SS-9001") == [made]
    assert audit_actions(engine) == [("cy", "positioning.approve", made["id"])]
    [window] = load_registry(engine).positioning["SS-9001"]
    assert (window.starts_at, window.ends_at) == (midnight(first), midnight(first + 21 * DAY))
    # local midnights held in UTC, as event times are: compared without time-zone arithmetic
    assert window.starts_at.tzinfo is window.ends_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("actor", "last", "error", "why"),
    [
        (OFFICER, 92, Refused, "3 months at most"),
        (OFFICER, -1, Refused, "the end is before the start"),
        (Actor("gq", "gouqi"), 10, NotFound, None),  # another office's subject
    ],
)
def test_refusals_write_nothing(
    engine: Engine, actor: Actor, last: int, error: type[Exception], why: str | None
) -> None:
    with pytest.raises(error, match=why):
        approve(engine, TODAY, TODAY + last * DAY, actor=actor)
    assert not approvals(engine, "SS-9001") and audit_actions(engine) == []


def test_no_approval_without_an_approver(engine: Engine) -> None:
    with pytest.raises(Refused, match="who approved"):
        approve(engine, TODAY, TODAY, approved_by="  ")


def test_two_approvals_may_not_overlap(engine: Engine) -> None:
    made = approve(engine, TODAY, TODAY + 30 * DAY)
    with pytest.raises(Refused, match=f"overlaps approval {made['id']}"):
        approve(engine, TODAY + 30 * DAY, TODAY + 60 * DAY)


def test_an_extension_runs_from_the_day_after_for_three_months_at_most(engine: Engine) -> None:
    first = approve(engine, TODAY - 10 * DAY, TODAY + 3 * DAY)
    with pytest.raises(Refused, match="3 months at most"):
        extend_positioning(engine, OFFICER, first["id"], "王局长", TODAY + 100 * DAY)
    more = extend_positioning(engine, OFFICER, first["id"], "王局长", TODAY + 60 * DAY)
    assert (more["starts_on"], more["extends"]) == ((TODAY + 4 * DAY).isoformat(), first["id"])
    assert more["reason"] == first["reason"]
    with pytest.raises(Refused, match=f"overlaps approval {more['id']}"):  # extended already
        extend_positioning(engine, OFFICER, first["id"], "王局长", TODAY + 30 * DAY)
    with pytest.raises(NotFound):
        extend_positioning(engine, Actor("gq", "gouqi"), first["id"], "王局长", TODAY + 30 * DAY)
    windows = load_registry(engine).positioning["SS-9001"]
    assert [w.ends_at for w in windows] == [midnight(TODAY + 4 * DAY), midnight(TODAY + 61 * DAY)]
    assert [a for _, a, _ in audit_actions(engine)] == ["positioning.approve", "positioning.extend"]


def test_revoking_ends_positioning_with_its_extensions(engine: Engine) -> None:
    first = approve(engine, TODAY - 10 * DAY, TODAY + 3 * DAY)
    more = extend_positioning(engine, OFFICER, first["id"], "王局长", TODAY + 60 * DAY)
    at = midnight(TODAY) + timedelta(hours=10)
    revoked = revoke_positioning(engine, OFFICER, first["id"], at)
    assert revoked["revoked_by"] == "cy"
    assert [a["revoked_at"] for a in approvals(engine, "SS-9001")] == [
        at.astimezone(UTC).isoformat()
    ] * 2
    [cut, empty] = load_registry(engine).positioning["SS-9001"]
    assert (cut.id, cut.ends_at, empty.id) == (first["id"], at, more["id"])
    assert empty.ends_at == empty.starts_at == midnight(TODAY + 4 * DAY)  # revoked before it began
    with pytest.raises(Refused, match="already revoked"):
        revoke_positioning(engine, OFFICER, first["id"], at)
    with pytest.raises(Refused, match="revoked approval cannot be extended"):
        extend_positioning(engine, OFFICER, first["id"], "王局长", TODAY + 30 * DAY)
    assert approve(engine, TODAY + DAY, TODAY + 30 * DAY)  # a new approval may follow


def test_officers_see_the_approvals_ending_soon_of_their_office(engine: Engine, url: str) -> None:
    ending = approve(engine, TODAY - 10 * DAY, TODAY + 3 * DAY)
    other = approve(
        engine, TODAY - 10 * DAY, TODAY + 5 * DAY, actor=Actor("gq", "gouqi"), subject_id="SS-9002"
    )

    def soon(scope: str | None, within: int = 7) -> list[str]:
        found = queries.expiring_approvals(engine, scope, TODAY, within)
        return [a["id"] for a in found if a["subject_id"].startswith("SS-90")]

    assert soon(None) == [ending["id"], other["id"]]
    assert soon("caiyuan") == [ending["id"]] and soon("caiyuan", 2) == []
    extend_positioning(engine, OFFICER, ending["id"], "王局长", TODAY + 60 * DAY)
    assert soon("caiyuan") == []  # extended: positioning goes on
    [row] = [a for a in queries.expiring_approvals(engine, None, TODAY) if a["id"] == other["id"]]
    assert (row["office_id"], row["days_left"], row["term_ends"]) == ("gouqi", 5, False)
    record = queries.subject(engine, "SS-9002")
    assert record is not None and record["positioning"] == approvals(engine, "SS-9002")

    app = create_app(Settings(database_url=url, kafka_bootstrap="unused:9"), engine)
    users.create(engine, Actor("root"), "gq", "gq", Role.OFFICER, "gouqi", PASSWORD)
    client = TestClient(app)  # no lifespan: no alert feed
    assert client.get("/api/positioning/expiring").status_code == 401
    assert client.post("/api/login", json={"username": "gq", "password": PASSWORD}).is_success
    listed = client.get("/api/positioning/expiring").json()
    assert {a["office_id"] for a in listed} == {"gouqi"} and other["id"] in {
        a["id"] for a in listed
    }
    assert client.get("/api/positioning/expiring?within_days=1000").status_code == 422
    assert ("gq", "positioning.read", "expiring") in audit_actions(engine)

"""The register in the database: intake, transfer, release and the leave workflow, each
checked by the law's limits, audited, and read by the workers' registry."""

from __future__ import annotations

import getpass
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ccwatch.cli import app
from models.access import AuditEntry
from models.db import make_engine
from models.reference import CorrectionType, EndReason, SecurityPeriodRow
from models.registry import load_registry
from register.core import Actor, NotFound, Refused
from register.positioning import approvals
from register.store import (
    Intake,
    cancel_leave,
    decide_leave,
    intake,
    leaves,
    pending_leaves,
    release,
    request_leave,
    return_early,
    transfer,
)

COUNTY = Actor("bureau")
CAIYUAN = Actor("officer-caiyuan", "caiyuan", "O-caiyuan-1")
GOUQI = Actor("officer-gouqi", "gouqi", "O-gouqi-1")
NOW = datetime.now(UTC).replace(microsecond=0)
D = timedelta(days=1)


def _new(subject_id: str = "SS-9001", **change: Any) -> Intake:
    fields: dict[str, object] = {
        "subject_id": subject_id,
        "name": "新对象",
        "correction_type": CorrectionType.PAROLE,
        "decided_by": "舟山市中级人民法院",
        "decision_no": "(2026)浙09刑更123号",
        "starts_on": NOW.date() - 30 * D,
        "ends_on": NOW.date() + 365 * D,
        "office_id": "caiyuan",
        "officer_id": "O-caiyuan-1",
        "home": (30.716, 122.461),
        "devices": ("P-SS-9001",),
        "victims": ("王五",),
    } | change
    return Intake(**fields)  # type: ignore[arg-type]


def _actions(url: str) -> list[tuple[str, str, str]]:
    with Session(make_engine(url)) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.user_id, e.action, e.target) for e in rows]


def test_intake_puts_the_subject_on_the_register_with_its_keys_and_an_audit_entry(
    url: str,
) -> None:
    engine = make_engine(url)
    made = intake(engine, CAIYUAN, _new())
    assert made["decision_no"] == "(2026)浙09刑更123号" and made["keys"] == ["P-SS-9001.k1"]
    assert made["victims"] == ["王五"]
    registry = load_registry(engine)
    assert registry.subjects["SS-9001"].office_id == "caiyuan"
    assert registry.keys["P-SS-9001.k1"].subject_id == "SS-9001"
    assert ("officer-caiyuan", "register.intake", "SS-9001") in _actions(url)


@pytest.mark.parametrize(
    ("actor", "change", "error"),
    [
        (CAIYUAN, {"ends_on": NOW.date() - 30 * D}, Refused),  # ends before it starts
        (CAIYUAN, {"officer_id": "O-gouqi-1"}, Refused),  # another office's officer
        (CAIYUAN, {"subject_id": "SS-0001"}, Refused),  # the id is taken
        (CAIYUAN, {"subject_id": "S" * 33}, Refused),  # longer than the register holds
        (GOUQI, {}, NotFound),  # an officer enters subjects of their own office only
    ],
)
def test_intake_refuses_what_the_register_cannot_hold(
    url: str, actor: Actor, change: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        intake(make_engine(url), actor, _new(**change))
    assert "SS-9001" not in load_registry(make_engine(url)).subjects
    assert not [a for a in _actions(url) if a[1] == "register.intake"]


def test_a_transfer_moves_the_subject_and_the_old_office_no_longer_sees_it(url: str) -> None:
    engine = make_engine(url)
    intake(engine, COUNTY, _new())
    moved = transfer(engine, CAIYUAN, "SS-9001", "gouqi", "O-gouqi-1")
    assert moved["office_id"] == "gouqi" and load_registry(engine).subjects["SS-9001"].zone
    with pytest.raises(NotFound):
        transfer(engine, CAIYUAN, "SS-9001", "caiyuan", None)
    with pytest.raises(Refused):
        transfer(engine, GOUQI, "SS-9001", "gouqi", "O-caiyuan-1")


def test_a_release_ends_supervision_from_its_day_and_keeps_the_record(url: str) -> None:
    engine = make_engine(url)
    intake(engine, COUNTY, _new())
    with pytest.raises(Refused):  # the term's end needs no act
        release(engine, CAIYUAN, "SS-9001", NOW.date(), EndReason.TERM_END, "x")
    with pytest.raises(Refused):  # a revocation names its document
        release(engine, CAIYUAN, "SS-9001", NOW.date(), EndReason.REVOKED, " ")
    done = release(engine, CAIYUAN, "SS-9001", NOW.date(), EndReason.REVOKED, "(2026)收监1号")
    assert done["last_day"] == (NOW.date() - D).isoformat()
    ref = load_registry(engine).subjects["SS-9001"]
    assert ref.supervised_on(NOW.date() - D) and not ref.supervised_on(NOW.date())


def test_the_office_approves_up_to_seven_days_and_the_county_beyond(url: str) -> None:
    engine = make_engine(url)
    week = request_leave(engine, CAIYUAN, "SS-0001", NOW, NOW + 7 * D, "上海 Shanghai")
    assert week["approver"] == "office" and week["status"] == "requested"
    long = request_leave(engine, CAIYUAN, "SS-0001", NOW, NOW + 8 * D, "杭州 Hangzhou")
    assert long["approver"] == "county"
    assert decide_leave(engine, CAIYUAN, week["leave_id"], True)["status"] == "approved"
    with pytest.raises(Refused, match="county bureau"):
        decide_leave(engine, CAIYUAN, long["leave_id"], True)
    assert decide_leave(engine, COUNTY, long["leave_id"], True)["decided_by"] == "bureau"
    with pytest.raises(Refused):  # one approval covers at most 30 days
        request_leave(engine, CAIYUAN, "SS-0001", NOW, NOW + 31 * D, "北京")
    with pytest.raises(NotFound):  # another office's subject
        request_leave(engine, GOUQI, "SS-0001", NOW, NOW + D, "上海")
    windows = load_registry(engine).leaves["SS-0001"]
    assert {w.id for w in windows} == {week["leave_id"], long["leave_id"]}


def test_an_extension_is_approved_by_whoever_may_approve_the_whole_leave(url: str) -> None:
    engine = make_engine(url)
    first = request_leave(engine, CAIYUAN, "SS-0001", NOW, NOW + 5 * D, "宁波")
    decide_leave(engine, CAIYUAN, first["leave_id"], True)
    with pytest.raises(Refused):  # an extension starts where the leave ends
        request_leave(
            engine, CAIYUAN, "SS-0001", NOW + D, NOW + 9 * D, "宁波", extends=first["leave_id"]
        )
    more = request_leave(
        engine, CAIYUAN, "SS-0001", NOW + 5 * D, NOW + 9 * D, "宁波", extends=first["leave_id"]
    )
    assert more["approver"] == "office"  # on its own 4 days, but 9 days in all
    with pytest.raises(Refused, match="county bureau"):
        decide_leave(engine, CAIYUAN, more["leave_id"], True)
    decide_leave(engine, COUNTY, more["leave_id"], True)
    assert [w.ends_at for w in load_registry(engine).leaves["SS-0001"]] == [
        NOW + 5 * D,
        NOW + 9 * D,
    ]


def test_no_new_leave_in_a_security_period_except_emergencies(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        session.add(
            SecurityPeriodRow(
                id="p1", name="进博会", starts_at=NOW - D, ends_at=NOW + D, offices=[]
            )
        )
    plain = request_leave(engine, CAIYUAN, "SS-0001", NOW, NOW + D, "上海")
    urgent = request_leave(engine, CAIYUAN, "SS-0001", NOW, NOW + D, "上海", emergency=True)
    with pytest.raises(Refused, match="security period"):
        decide_leave(engine, CAIYUAN, plain["leave_id"], True)
    assert decide_leave(engine, CAIYUAN, urgent["leave_id"], True)["status"] == "approved"
    assert decide_leave(engine, CAIYUAN, plain["leave_id"], False)["status"] == "rejected"


def test_early_return_cancel_and_the_lists(url: str) -> None:
    engine = make_engine(url)
    trip = request_leave(engine, CAIYUAN, "SS-0001", NOW, NOW + 3 * D, "上海")
    other = request_leave(engine, CAIYUAN, "SS-0001", NOW + 5 * D, NOW + 6 * D, "上海")
    assert {p["leave_id"] for p in pending_leaves(engine, CAIYUAN)} == {
        trip["leave_id"],
        other["leave_id"],
    }
    assert pending_leaves(engine, GOUQI) == []
    decide_leave(engine, CAIYUAN, trip["leave_id"], True)
    back = return_early(engine, CAIYUAN, trip["leave_id"], NOW + D)
    assert back["ends_at"] == back["returned_at"] == (NOW + D).isoformat()
    assert cancel_leave(engine, CAIYUAN, other["leave_id"])["status"] == "cancelled"
    with pytest.raises(Refused):
        cancel_leave(engine, CAIYUAN, trip["leave_id"])
    assert [p["status"] for p in leaves(engine, CAIYUAN, "SS-0001")] == ["cancelled", "approved"]
    window = load_registry(engine).leaves["SS-0001"][0]
    assert window.ends_at == NOW + D
    actions = [a[1] for a in _actions(url)]
    for action in ("leave.request", "leave.approve", "leave.return", "leave.cancel"):
        assert action in actions


def test_a_leave_lies_within_the_term(url: str) -> None:
    engine = make_engine(url)
    intake(engine, COUNTY, _new(ends_on=NOW.date() + 2 * D))
    with pytest.raises(Refused, match="within the term"):
        request_leave(engine, CAIYUAN, "SS-9001", NOW, NOW + 5 * D, "上海")


def test_the_register_from_the_command_line(url: str) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "subject", "intake", "SS-9002", "--name", "张三", "--type", "probation",
            "--decided-by", "嵊泗县人民法院", "--decision-no", "(2026)浙0922刑初9号",
            "--from", "2026-11-01", "--to", "2027-10-31", "--office", "gouqi",
            "--officer", "O-gouqi-1", "--device", "P-SS-9002", "--home", "30.705,122.782",
        ],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "P-SS-9002.k1" in made.output
    asked = runner.invoke(
        app,
        [
            "leave", "request", "SS-9002", "--from", "2026-12-20T08:00",
            "--to", "2027-01-05T18:00", "--destination", "上海[/x]",
        ],
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    assert "county" in asked.output and "上海[/x]" in asked.output  # text, not markup
    [leave_id] = re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", asked.output)
    assert runner.invoke(app, ["leave", "approve", leave_id]).exit_code == 0
    listed = runner.invoke(app, ["leave", "list", "SS-9002"])
    assert "approved" in listed.output and "2026-12-20 08:00" in listed.output
    late = runner.invoke(
        app, ["subject", "release", "SS-9002", "--on", "2028-01-01", "--reason", "death",
              "--document", "死亡证明"],
    )  # fmt: skip
    assert late.exit_code == 2 and "矫正期内" in late.output
    assert runner.invoke(app, ["subject", "transfer", "SS-404", "--office", "gouqi"]).exit_code == 1
    actor = f"cli:{getpass.getuser()}"
    assert (actor, "register.intake", "SS-9002") in _actions(url)


def test_orders_and_positioning_approvals_from_the_command_line(url: str) -> None:
    runner = CliRunner()
    today = NOW.date()
    issued = runner.invoke(
        app,
        [
            "order", "issue", "SS-0001", "--document", "(2026)禁字1号",
            "--issued-by", "嵊泗县人民法院", "--from", today.isoformat(),
            "--zone", "网吧[b]:30.72,122.45,80@20-6", "--curfew", "22-6:200",
            "--no-contact", "SS-0002",
        ],
    )  # fmt: skip
    assert issued.exit_code == 0, issued.output
    listed = runner.invoke(app, ["order", "list", "SS-0001"])
    assert "网吧[b]" in listed.output and "22-6" in listed.output and "SS-0002" in listed.output
    bad = runner.invoke(app, ["order", "issue", "SS-0001", "--document", "x", "--issued-by",
                              "y", "--from", today.isoformat(), "--zone", "nowhere"])  # fmt: skip
    assert bad.exit_code == 2
    expiring = runner.invoke(app, ["positioning", "expiring", "--within", "92"])
    assert expiring.exit_code == 0, expiring.output
    last = approvals(make_engine(url), "SS-0001")[-1]  # the seed's chain to the term's end
    too_long = runner.invoke(
        app,
        ["positioning", "extend", last["id"], "--approved-by", "王局长",
         "--to", (date.fromisoformat(last["ends_on"]) + timedelta(days=200)).isoformat()],
    )  # fmt: skip
    assert too_long.exit_code == 2 and "三个月" in too_long.output
    assert ("cli:" + getpass.getuser(), "order.issue") in {(u, a) for u, a, _ in _actions(url)}

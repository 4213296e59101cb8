"""``ccwatch subject``, ``leave``, ``order``, ``positioning``, ``office`` and ``terminal``: the
register and its reference data from the command line.

The operator at the command line acts for the county bureau (the audit log names them as
``cli:<login>``). Each change is checked, audited and told to the workers like one made in
the web app; times are local (Asia/Shanghai)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import typer
from kafka.errors import KafkaError
from rich.console import Console

from ccwatch import printing
from ccwatch.printing import cli_console
from ccwatch.settings import Settings
from models.db import make_engine
from models.labels import label
from models.localtime import LOCAL_TZ, local
from models.reference import CorrectionType, EndReason, Level, PositioningReason, Zone
from register import admin, orders, positioning, store
from register.core import Actor, NotFound, Refused
from register.notify import tell_workers
from register.rules import HomeCurfew, OrderZone

subject_app = typer.Typer(
    help="The register: intake (入矫), transfer (执行地变更), release (解矫).",
    no_args_is_help=True,
)
leave_app = typer.Typer(
    help="Leave (请假外出): request, approve, reject, return early, extend.",
    no_args_is_help=True,
)


def _console() -> Console:
    """Full tables also when piped (not cut to 80 columns); text printed as written."""
    return cli_console()


T = TypeVar("T")
LocalTime = Annotated[str, typer.Option(help="Local time, YYYY-MM-DDTHH:MM.")]


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}")


def _when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        _console().print(f"not a local time YYYY-MM-DDTHH:MM: {text}", style="red")
        raise typer.Exit(2) from None


def _change(kind: str, subject_id: str | None, do: Callable[[Settings], T]) -> T:
    """Run a change, print a refusal in Chinese and English, then tell the workers."""
    settings = Settings()
    try:
        done = do(settings)
    except NotFound as missing:
        _console().print(f"没有该记录 no such record: {missing}", style="red")
        raise typer.Exit(1) from None
    except Refused as refused:
        _console().print(f"{refused.zh} ({refused.en})", style="red")
        raise typer.Exit(2) from None
    if settings.kafka_bootstrap:
        try:
            tell_workers(
                settings.kafka_bootstrap, settings.topics, settings.partitions, kind, subject_id
            )
            return done
        except KafkaError:
            pass
    every = f"{settings.registry_refresh_s:g} s"
    _console().print(f"workers read the change at their next refresh ({every})", style="yellow")
    return done


def _engine(settings: Settings) -> Any:
    return make_engine(settings.database_url)


def _read(do: Callable[[Any], T]) -> T:
    """A read of the register; a subject the actor may not see is exit 1."""
    try:
        return do(make_engine(Settings().database_url))
    except NotFound as missing:
        _console().print(f"没有该记录 no such record: {missing}", style="red")
        raise typer.Exit(1) from None


def _place(text: str) -> tuple[float, float]:
    """``LAT,LON``."""
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        _console().print(f"a place is LAT,LON: {text}", style="red")
        raise typer.Exit(2) from None
    return lat, lon


def _row(leave: dict[str, Any]) -> list[str]:
    """A leave as printed: id, subject, status, local window, destination, approver."""
    starts, ends = (local(datetime.fromisoformat(leave[k])) for k in ("starts_at", "ends_at"))
    return [
        leave["leave_id"],
        leave["subject_id"],
        label("leave_status", leave["status"]),
        f"{starts:%Y-%m-%d %H:%M}",
        f"{ends:%Y-%m-%d %H:%M}",
        leave["destination"],
        label("approver", leave["approver"]),
    ]


def _leave_line(leave: dict[str, Any]) -> str:
    return " ".join(_row(leave))


@subject_app.command("intake")
def intake(
    subject_id: str,
    name: Annotated[str, typer.Option()],
    correction_type: Annotated[CorrectionType, typer.Option("--type")],
    decided_by: Annotated[str, typer.Option(help="The deciding court or organ.")],
    decision_no: Annotated[str, typer.Option(help="Its document number.")],
    starts_on: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    ends_on: Annotated[str, typer.Option("--to", help="Last day of the term, YYYY-MM-DD.")],
    office: Annotated[str, typer.Option()],
    officer: Annotated[str | None, typer.Option()] = None,
    level: Annotated[Level, typer.Option()] = Level.NORMAL,
    home: Annotated[str | None, typer.Option(help="lat,lon")] = None,
    device: Annotated[list[str] | None, typer.Option(help="A phone or bracelet.")] = None,
    case: Annotated[str | None, typer.Option(help="Co-offenders share a case id.")] = None,
    victim: Annotated[list[str] | None, typer.Option(help="A victim, by name.")] = None,
) -> None:
    """Enter a subject on the register and enrol a signing key for each device."""
    new = store.Intake(
        subject_id=subject_id,
        name=name,
        correction_type=correction_type,
        decided_by=decided_by,
        decision_no=decision_no,
        starts_on=date.fromisoformat(starts_on),
        ends_on=date.fromisoformat(ends_on),
        office_id=office,
        officer_id=officer,
        level=level,
        home=_place(home) if home else None,
        devices=tuple(device or ()),
        case_id=case,
        victims=tuple(victim or ()),
    )
    done = _change("register.intake", subject_id, lambda s: store.intake(_engine(s), _actor(), new))
    keys = ", ".join(done["keys"]) or "none"
    _console().print(f"入矫 {subject_id}: {done['starts_on']} - {done['ends_on']}; keys {keys}")


@subject_app.command("transfer")
def transfer(
    subject_id: str,
    office: Annotated[str, typer.Option()],
    officer: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Move supervision to another office from now on."""
    _change(
        "register.transfer",
        subject_id,
        lambda s: store.transfer(_engine(s), _actor(), subject_id, office, officer),
    )
    _console().print(f"执行地变更 {subject_id} -> {office}")


@subject_app.command("release")
def release(
    subject_id: str,
    on: Annotated[str, typer.Option(help="First day no longer supervised, YYYY-MM-DD.")],
    reason: Annotated[EndReason, typer.Option()],
    document: Annotated[str, typer.Option(help="The release document.")],
) -> None:
    """End supervision before the term's end (revocation, death, other)."""
    done = _change(
        "register.release",
        subject_id,
        lambda s: store.release(
            _engine(s), _actor(), subject_id, date.fromisoformat(on), reason, document
        ),
    )
    _console().print(f"解矫 {subject_id}: last day {done['last_day']}")


@leave_app.command("request")
def request(
    subject_id: str,
    starts: Annotated[str, typer.Option("--from", help="Local time, YYYY-MM-DDTHH:MM.")],
    ends: Annotated[str, typer.Option("--to", help="Local time, YYYY-MM-DDTHH:MM.")],
    destination: Annotated[str, typer.Option()],
    emergency: Annotated[bool, typer.Option(help="Allowed in a security period.")] = False,
    extends: Annotated[str | None, typer.Option(help="The approved leave to extend.")] = None,
) -> None:
    """Request a leave, or an extension starting where an approved leave ends."""
    done = _change(
        "leave.request",
        subject_id,
        lambda s: store.request_leave(
            _engine(s),
            _actor(),
            subject_id,
            _when(starts),
            _when(ends),
            destination,
            emergency,
            extends,
        ),
    )
    _console().print(_leave_line(done))


@leave_app.command("approve")
def approve(leave_id: str, note: str = "") -> None:
    """Approve a request (the command line acts for the county bureau)."""
    _decide(leave_id, True, note)


@leave_app.command("reject")
def reject(leave_id: str, note: str = "") -> None:
    """Reject a request."""
    _decide(leave_id, False, note)


def _decide(leave_id: str, approve: bool, note: str) -> None:
    done = _change(
        "leave.approve" if approve else "leave.reject",
        None,
        lambda s: store.decide_leave(_engine(s), _actor(), leave_id, approve, note),
    )
    _console().print(_leave_line(done))


@leave_app.command("return")
def return_early(leave_id: str, at: LocalTime) -> None:
    """The subject came back early (销假): the leave ends then."""
    done = _change(
        "leave.return",
        None,
        lambda s: store.return_early(_engine(s), _actor(), leave_id, _when(at)),
    )
    _console().print(_leave_line(done))


@leave_app.command("list")
def list_leaves(
    subject_id: Annotated[str | None, typer.Argument(help="None: requests pending.")] = None,
) -> None:
    """A subject's leaves, or every request waiting for a decision."""
    found = _read(
        lambda e: (
            store.leaves(e, _actor(), subject_id)
            if subject_id
            else store.pending_leaves(e, _actor())
        )
    )
    table = printing.table("id", "subject", "status", "from", "to", "destination", "approver")
    for leave in found:
        table.add_row(*_row(leave))
    _console().print(table)


order_app = typer.Typer(
    help="Prohibition orders (禁止令): forbidden zones, home curfew, persons not to meet.",
    no_args_is_help=True,
)
positioning_app = typer.Typer(
    help="E-positioning approvals (电子定位审批, art. 29): at most 3 months each.",
    no_args_is_help=True,
)


def _hours(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return int(start), int(end)


def _zone(text: str) -> OrderZone:
    """``NAME:LAT,LON,RADIUS_M`` with an optional ``@FROM-TO`` (local hours)."""
    try:
        name, rest = text.rsplit(":", 1)
        where, _, hours = rest.partition("@")
        lat, lon, radius = (float(x) for x in where.split(","))
        return OrderZone(name, (lat, lon), radius, None, _hours(hours) if hours else None)
    except ValueError:
        _console().print(f"a zone is NAME:LAT,LON,RADIUS_M[@FROM-TO]: {text}", style="red")
        raise typer.Exit(2) from None


@order_app.command("issue")
def order_issue(
    subject_id: str,
    document: Annotated[str, typer.Option(help="The order's document number.")],
    issued_by: Annotated[str, typer.Option(help="The court.")],
    starts_on: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    ends_on: Annotated[str | None, typer.Option("--to", help="Last day (none: the term).")] = None,
    zone: Annotated[
        list[str] | None, typer.Option(help="A forbidden zone: NAME:LAT,LON,RADIUS_M[@FROM-TO].")
    ] = None,
    curfew: Annotated[
        str | None, typer.Option(help="Home curfew FROM-TO:RADIUS_M, e.g. 22-6:200.")
    ] = None,
    no_contact: Annotated[list[str] | None, typer.Option(help="A subject not to meet.")] = None,
) -> None:
    """Register a prohibition order. A home curfew (be at home between the hours) is not a
    forbidden zone at night (be away from a place)."""
    home = None
    if curfew:
        hours, _, radius = curfew.partition(":")
        home = HomeCurfew(*_hours(hours), float(radius))
    zones = [_zone(z) for z in zone or ()]
    done = _change(
        "order.issue",
        subject_id,
        lambda s: orders.issue_order(
            _engine(s),
            _actor(),
            subject_id,
            document=document,
            issued_by=issued_by,
            starts_on=date.fromisoformat(starts_on),
            ends_on=date.fromisoformat(ends_on) if ends_on else None,
            zones=zones,
            curfew=home,
            no_contact=no_contact or (),
        ),
    )
    _console().print(f"禁止令 {done['order_id']} {subject_id} from {done['starts_on']}")


@order_app.command("lift")
def order_lift(
    order_id: str,
    on: Annotated[str, typer.Option(help="First day no longer in force, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option()],
) -> None:
    """The order and all its parts are no longer in force from a day."""
    _change(
        "order.lift",
        None,
        lambda s: orders.lift_order(_engine(s), _actor(), order_id, date.fromisoformat(on), reason),
    )
    _console().print(f"解除禁止令 {order_id} from {on}")


@order_app.command("list")
def order_list(subject_id: str) -> None:
    """A subject's orders, lifted ones too."""
    found = _read(lambda e: orders.orders(e, _actor(), subject_id))
    table = printing.table(
        "id", "document", "from_day", "last_day", "zones", "curfew", "no_contact"
    )
    for o in found:
        curfew = o["curfew"] or {}
        table.add_row(
            o["order_id"],
            o["document"],
            o["starts_on"],
            o["last_day"] or "",
            ", ".join(z["name"] for z in o["zones"]),
            "-".join(str(h) for h in curfew.get("hours") or ()),
            ", ".join(o["no_contact"]),
        )
    _console().print(table)


@positioning_app.command("approve")
def positioning_approve(
    subject_id: str,
    reason: Annotated[PositioningReason, typer.Option(help="One of art. 29's five cases.")],
    approved_by: Annotated[str, typer.Option(help="Who approved it (the bureau's head).")],
    starts_on: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    ends_on: Annotated[str, typer.Option("--to", help="Last day, at most 3 months on.")],
    note: str = "",
) -> None:
    """Record an approval of electronic positioning."""
    done = _change(
        "positioning.approve",
        subject_id,
        lambda s: positioning.approve_positioning(
            _engine(s),
            _actor(),
            subject_id,
            reason,
            approved_by,
            date.fromisoformat(starts_on),
            date.fromisoformat(ends_on),
            note,
        ),
    )
    _console().print(f"电子定位 {done['id']}: {done['starts_on']} - {done['ends_on']}")


@positioning_app.command("extend")
def positioning_extend(
    approval_id: str,
    approved_by: Annotated[str, typer.Option()],
    ends_on: Annotated[str, typer.Option("--to", help="New last day, at most 3 months more.")],
    note: str = "",
) -> None:
    """Extend an approval from the day after it ends."""
    done = _change(
        "positioning.extend",
        None,
        lambda s: positioning.extend_positioning(
            _engine(s), _actor(), approval_id, approved_by, date.fromisoformat(ends_on), note
        ),
    )
    _console().print(f"延长 {done['id']}: {done['starts_on']} - {done['ends_on']}")


@positioning_app.command("revoke")
def positioning_revoke(approval_id: str) -> None:
    """End positioning now (the approval and its extensions)."""
    _change(
        "positioning.revoke",
        None,
        lambda s: positioning.revoke_positioning(_engine(s), _actor(), approval_id),
    )
    _console().print(f"撤销 {approval_id}")


@positioning_app.command("expiring")
def positioning_expiring(
    within: Annotated[int, typer.Option(help="Days from today.")] = 7,
) -> None:
    """Approvals that end within the days given and are not extended."""
    from ccwatch.web.queries import expiring_approvals

    today = datetime.now(LOCAL_TZ).date()
    found = _read(lambda e: expiring_approvals(e, None, today, within))
    table = printing.table("id", "subject", "office", "ends_on", "days_left")
    for a in found:
        table.add_row(
            a["id"], a["subject_id"], a["office_id"], a["ends_on"],
            str(a["days_left"]),
        )  # fmt: skip
    _console().print(table)


office_app = typer.Typer(
    help="Judicial offices (司法所): add or update, list.", no_args_is_help=True
)
terminal_app = typer.Typer(
    help="Self-service terminals (自助矫正终端): add (with a signing key), move, retire, list.",
    no_args_is_help=True,
)
Place = Annotated[str | None, typer.Option(help="LAT,LON; default: the office's location.")]


def _at(location: str | None) -> tuple[float, float] | None:
    return _place(location) if location else None


@office_app.command("add")
def office_add(
    office_id: str,
    name_zh: Annotated[str, typer.Option("--zh", help="Chinese name, e.g. 菜园镇司法所.")],
    name_en: Annotated[str, typer.Option("--en", help="English name.")],
    zone: Annotated[Zone, typer.Option()],
    location: Annotated[str, typer.Option(help="LAT,LON")],
) -> None:
    """Add an office, or update the names, zone and location of one."""
    lat, lon = _place(location)
    fields = admin.OfficeFields(office_id, name_zh, name_en, zone, lat, lon)
    done = _change("office.save", None, lambda s: admin.save_office(_engine(s), _actor(), fields))
    _console().print(f"{'新增 added' if done['created'] else '更新 updated'} {office_id}")


@office_app.command("list")
def office_list() -> None:
    """Every office."""
    table = printing.table("id", "name_zh", "name_en", "zone", "lat", "lon")
    for o in _read(admin.offices):
        table.add_row(
            o["office_id"], o["name_zh"], o["name_en"],
            label("zone", o["zone"]), str(o["lat"]), str(o["lon"]),
        )  # fmt: skip
    _console().print(table)


@terminal_app.command("add")
def terminal_add(
    terminal_id: str, office: Annotated[str, typer.Option()], location: Place = None
) -> None:
    """Add a terminal to an office and enrol its signing key; prints the secret, once, for
    the terminal."""
    done = _change(
        "terminal.add",
        None,
        lambda s: admin.add_terminal(_engine(s), _actor(), terminal_id, office, _at(location)),
    )
    _console().print(f"终端 {terminal_id} at {office}: key {done['key_id']}")
    _console().print("secret (shown once, give it to the terminal only):")
    print(done["secret"])


@terminal_app.command("move")
def terminal_move(
    terminal_id: str, office: Annotated[str, typer.Option()], location: Place = None
) -> None:
    """Move a terminal in service to another office."""
    _change(
        "terminal.move",
        None,
        lambda s: admin.move_terminal(_engine(s), _actor(), terminal_id, office, _at(location)),
    )
    _console().print(f"终端 {terminal_id} -> {office}")


@terminal_app.command("retire")
def terminal_retire(
    terminal_id: str,
    at: Annotated[
        str | None, typer.Option(help="Local time, YYYY-MM-DDTHH:MM; default now.")
    ] = None,
) -> None:
    """Take a terminal out of service: its keys are retired from --at (default now)."""
    done = _change(
        "terminal.retire",
        None,
        lambda s: admin.retire_terminal(
            _engine(s), _actor(), terminal_id, _when(at) if at else None
        ),
    )
    _console().print(f"停用 {terminal_id} from {printing.shown(done['retired_at'])}")


@terminal_app.command("list")
def terminal_list(office: Annotated[str | None, typer.Option()] = None) -> None:
    """Terminals, retired ones too, with their keys in force (never the secrets)."""
    table = printing.table("id", "office", "lat", "lon", "keys_in_force", "retired")
    for t in _read(lambda e: admin.terminals(e, office)):
        table.add_row(
            t["terminal_id"], t["office_id"], str(t["lat"]), str(t["lon"]),
            ", ".join(t["keys"]), printing.shown(t["retired_at"]),
        )  # fmt: skip
    _console().print(table)

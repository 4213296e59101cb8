"""The alert lifecycle: open -> acknowledged -> dispatched -> resolved, one open per type.

Pure: every function takes the subject's alert book and returns the new book and the
transitions to publish. Who acted and when is in each transition; ids derive from the
evidence, so a redelivered event or action changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

import msgspec

from alerts.kinds import KINDS
from alerts.policy import Severity
from models.events import AlertAction, AlertEvent, AlertOutcome, AlertTransition, AlertType
from models.ids import derive_id
from models.values import SubjectRef

if TYPE_CHECKING:
    from alerts.protocol import Context

COMMAND_CENTER = "command-center"


class OpenAlert(msgspec.Struct, frozen=True):
    alert_id: str
    alert_type: AlertType
    severity: Severity
    rule: str
    state: Literal["open", "acknowledged", "dispatched"]
    opened_at: datetime
    sla_due: datetime
    evidence: list[str]
    escalated: bool = False
    assignee: str | None = None


class AlertBook(msgspec.Struct, frozen=True, omit_defaults=True):
    """A subject's alerts that are not resolved, by type."""

    open: dict[str, OpenAlert] = {}

    def get(self, alert_type: str) -> OpenAlert | None:
        return self.open.get(alert_type)


Where = tuple[float, float, float] | None  # lat, lon, accuracy of the evidence


def raise_alert(
    ctx: Context,
    book: AlertBook,
    alert_type: AlertType,
    evidence: list[str],
    occurred_at: datetime,
    reason: tuple[str, str],
    where: Where = None,
) -> tuple[AlertBook, list[AlertEvent]]:
    """Open an alert unless one of the type is open. ``occurred_at`` is when the condition
    began (event time, evidence); the SLA runs from ``ctx.now``, when it is raised. In a
    security period it goes straight to the command center with the shorter SLA. Nothing
    opens on a late input (history)."""
    if alert_type in book.open or ctx.late:
        return book, []
    kind = KINDS[alert_type]
    alert_id = derive_id("alert", ctx.subject.id, alert_type, evidence[0])
    due = ctx.now + ctx.limits.sla(kind.severity)
    alert = OpenAlert(
        alert_id, alert_type, kind.severity, kind.rule, "open", occurred_at, due, evidence
    )
    subject, now = ctx.subject, ctx.now
    events = [_event(alert, subject, "opened", evidence, occurred_at, now, reason, where=where)]
    if ctx.period is not None:
        name = ctx.period.name
        alert = msgspec.structs.replace(alert, escalated=True, assignee=COMMAND_CENTER)
        events.append(
            _event(
                alert,
                subject,
                "escalated",
                [evidence[0]],
                occurred_at,
                now,
                (f"安保期({name}):直报指挥中心", f"security period {name}: to the command center"),
                assignee=COMMAND_CENTER,
            )
        )
    return AlertBook({**book.open, alert_type: alert}), events


def clear(
    ctx: Context,
    book: AlertBook,
    alert_type: AlertType,
    evidence: str,
    occurred_at: datetime,
    reason: tuple[str, str],
    where: Where = None,
) -> tuple[AlertBook, list[AlertEvent]]:
    """The condition cleared: auto-resolve if nobody has acted yet (recorded as such).
    A late input (history) clears nothing: the officers resolve what is open."""
    subject, now = ctx.subject, ctx.now
    alert = book.open.get(alert_type)
    if alert is None or alert.state != "open" or ctx.late:
        return book, []
    zh, en = reason
    event = _event(
        alert,
        subject,
        "resolved",
        [evidence],
        occurred_at,
        now,
        (f"自动解除:{zh}", f"auto-resolved: {en}"),
        outcome="auto_resolved",
        where=where,
    )
    return _without(book, alert_type), [event]


def overdue(
    book: AlertBook, subject: SubjectRef, now: datetime
) -> tuple[AlertBook, list[AlertEvent]]:
    """Alerts not acknowledged within their SLA escalate to the command center, once.
    ``now`` is processing time, as the SLA deadline is."""
    events, alerts = [], dict(book.open)
    for kind, alert in book.open.items():
        if alert.state == "open" and not alert.escalated and now >= alert.sla_due:
            alerts[kind] = msgspec.structs.replace(alert, escalated=True, assignee=COMMAND_CENTER)
            events.append(
                _event(
                    alert,
                    subject,
                    "escalated",
                    ["sla"],
                    alert.opened_at,
                    now,
                    (
                        "超时未签收,升级至指挥中心",
                        "not acknowledged within its SLA: to the command center",
                    ),
                    assignee=COMMAND_CENTER,
                )
            )
    return (AlertBook(alerts) if events else book), events


def act(
    book: AlertBook, subject: SubjectRef, action: AlertAction, now: datetime
) -> tuple[AlertBook, list[AlertEvent]] | str:
    """An officer's action; a string explains why it cannot apply."""
    found = next((a for a in book.open.values() if a.alert_id == action.alert_id), None)
    if found is None:
        return f"alert {action.alert_id} is not open for {subject.id}"
    by = action.officer_id
    if action.action == "acknowledge":
        if found.state != "open":
            return f"alert {action.alert_id} is already {found.state}"
        new = msgspec.structs.replace(found, state="acknowledged")
        reason = (f"{by} 已签收", f"acknowledged by {by}")
    elif action.action == "dispatch":
        if not action.assignee:
            return "dispatch needs an assignee (office or officer id)"
        new = msgspec.structs.replace(found, state="dispatched", assignee=action.assignee)
        reason = (f"{by} 派发至 {action.assignee}", f"dispatched by {by} to {action.assignee}")
    else:
        if action.outcome is None or action.outcome == "auto_resolved":
            return "resolve needs an outcome: false_alarm, verified_violation or explained"
        reason = (f"{by} 处置完毕:{action.outcome}", f"resolved by {by}: {action.outcome}")
        event = _event(
            found,
            subject,
            "resolved",
            [action.event_id],
            action.occurred_at,
            now,
            _noted(reason, action.note),
            actor=by,
            outcome=action.outcome,
        )
        return _without(book, found.alert_type), [event]
    transition: AlertTransition = "acknowledged" if action.action == "acknowledge" else "dispatched"
    event = _event(
        new,
        subject,
        transition,
        [action.event_id],
        action.occurred_at,
        now,
        _noted(reason, action.note),
        actor=by,
        assignee=new.assignee,
    )
    return AlertBook({**book.open, found.alert_type: new}), [event]


def _noted(reason: tuple[str, str], note: str) -> tuple[str, str]:
    return (f"{reason[0]}({note})", f"{reason[1]} ({note})") if note else reason


def _without(book: AlertBook, alert_type: str) -> AlertBook:
    return AlertBook({k: v for k, v in book.open.items() if k != alert_type})


def _event(
    alert: OpenAlert,
    subject: SubjectRef,
    transition: AlertTransition,
    evidence: list[str],
    occurred_at: datetime,
    now: datetime,
    reason: tuple[str, str],
    *,
    actor: str = "system",
    outcome: AlertOutcome | None = None,
    assignee: str | None = None,
    where: Where = None,
) -> AlertEvent:
    lat, lon, accuracy = where or (None, None, None)
    return AlertEvent(
        transition_id=derive_id(alert.alert_id, transition, *evidence),
        alert_id=alert.alert_id,
        transition=transition,
        alert_type=alert.alert_type,
        severity=alert.severity,
        subject_id=subject.id,
        office_id=subject.office_id,
        zone=subject.zone,
        rule=alert.rule,
        evidence=evidence,
        occurred_at=occurred_at,
        recorded_at=now,
        reason_zh=f"{KINDS[alert.alert_type].zh}:{reason[0]}",
        reason_en=f"{KINDS[alert.alert_type].en}: {reason[1]}",
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        actor=actor,
        outcome=outcome,
        assignee=assignee,
        sla_due=alert.sla_due,
    )

"""Apply a rule set to events: pure, deterministic, every entry naming its rule and evidence."""

from __future__ import annotations

from datetime import datetime

import msgspec

from models.events import CheckIn, PointsEntry
from models.ids import derive_id
from models.registry import SubjectRef, TerminalRef
from scoring.localtime import local, local_day, local_month
from scoring.rules import Rule, RuleSet


class CreditState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Per rule with a limit: the current period and how many entries it already has."""

    used: dict[str, tuple[str, int]] = {}


def score_checkin(
    ruleset: RuleSet,
    state: CreditState,
    event: CheckIn,
    subject: SubjectRef,
    terminal: TerminalRef,
    now: datetime,
) -> tuple[CreditState, list[PointsEntry]]:
    """The points entries one check-in earns, and the updated limit counters."""
    entries: list[PointsEntry] = []
    used = state.used
    for rule in ruleset.rules:
        if rule.event != "checkin" or not _matches(rule, event, subject, terminal):
            continue
        slot = event.event_id
        if rule.limit is not None:
            period = _period(rule, event.occurred_at)
            seen_period, count = used.get(rule.id, ("", 0))
            count = count if seen_period == period else 0
            if count >= rule.limit.count:
                continue
            used = {**used, rule.id: (period, count + 1)}
            slot = f"{period}#{count + 1}"
        entries.append(_entry(ruleset, rule, subject, event, slot, now))
    return (CreditState(used) if used is not state.used else state), entries


def _matches(rule: Rule, event: CheckIn, subject: SubjectRef, terminal: TerminalRef) -> bool:
    cond = rule.when
    start, end = cond.local_hours
    return (
        event.match_score >= cond.min_match_score
        and (not cond.own_office or terminal.office_id == subject.office_id)
        and start <= local(event.occurred_at).hour < end
    )


def _period(rule: Rule, when: datetime) -> str:
    assert rule.limit is not None
    return local_day(when) if rule.limit.per == "day" else local_month(when)


def _entry(
    ruleset: RuleSet, rule: Rule, subject: SubjectRef, event: CheckIn, slot: str, now: datetime
) -> PointsEntry:
    return PointsEntry(
        entry_id=derive_id("points", ruleset.id, ruleset.version, rule.id, subject.id, slot),
        subject_id=subject.id,
        office_id=subject.office_id,
        occurred_at=event.occurred_at,
        local_month=local_month(event.occurred_at),
        ruleset_id=ruleset.id,
        ruleset_version=ruleset.version,
        rule_id=rule.id,
        delta=rule.points,
        evidence=[event.event_id],
        reason_zh=rule.label_zh,
        reason_en=rule.label_en,
        recorded_at=now,
    )

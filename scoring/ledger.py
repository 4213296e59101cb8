"""The points ledger of one subject: pure, order-independent, every entry explained.

Event rules make one entry per event (its id derives from the rule and the event), so any
arrival order yields the same entries. What depends on a whole month (the base score,
monthly caps, missed check-in periods, hour requirements, commendations, the level review)
is decided at the monthly close from order-independent tallies. Sanctions and level changes
are recommendations; officers' decisions are events too, so a replay reproduces them.

A closed month is never rewritten: an event that finds its month closed (:meth:`Ledger.closed`)
is booked in the first open month after it, as a correction entry naming the month it
belongs to (``corrects_month``), never dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

import msgspec

from models import labels
from models.events import (
    Activity,
    AlertEvent,
    CheckIn,
    Decision,
    MonthClose,
    PointsEntry,
    Recommendation,
)
from models.ids import derive_id
from models.localtime import (
    Span,
    add_months,
    first_whole_day,
    local,
    local_month,
    month_span,
    months_between,
    periods_ending_in,
)
from models.values import SubjectRef, TerminalRef
from scoring.rules import (
    ActivityTrigger,
    AlertTrigger,
    CheckInTrigger,
    MissedCheckInTrigger,
    MonthCloseTrigger,
    Rule,
    RuleSet,
    ShortfallTrigger,
)

KEEP_REPORTS_DAYS = 100  # check-ins older than the longest open period are dropped at close


class MonthTally(msgspec.Struct, frozen=True, omit_defaults=True):
    """Sums of one open month: points per event rule, hours per activity, and the events
    already counted (so a redelivered event changes nothing)."""

    points: dict[str, int] = {}
    hours: dict[str, float] = {}
    events: list[str] = []


class LedgerState(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the ledger keeps per subject between events (a few hundred bytes)."""

    months: dict[str, MonthTally] = {}
    reports: list[tuple[datetime, str]] = []  # qualifying check-ins: (event time, event id)
    closed: list[str] = []  # closed months, the last 6 (the registry has them all)
    scores: dict[str, int] = {}  # closed month -> monthly score, the last 6
    level: str | None = None
    level_since: str | None = None  # month the current level took effect
    admonitions: list[str] = []  # confirmed, not yet counted toward a warning
    warnings: list[str] = []  # confirmed, not yet counted toward a revocation request
    admonitions_total: int = 0
    commended: list[str] = []  # months with a confirmed commendation, the last 6
    pending: dict[str, Recommendation] = {}
    verified: dict[str, list[tuple[str, str, int]]] = {}  # alert -> (entry, rule, delta)


@dataclass
class LedgerOutcome:
    state: LedgerState
    entries: list[PointsEntry] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)


class Ledger:
    """Applies one rule set; stateless itself, every method returns the new state.

    ``closed_months``: every month whose close was requested, and when (the database's
    ``closed_months``, through the registry). ``watch_started``: when ccwatch began
    watching (None: unknown, all time counts); the close judges no day before it."""

    def __init__(
        self,
        ruleset: RuleSet,
        closed_months: Mapping[str, datetime] | None = None,
        watch_started: datetime | None = None,
    ):
        self.ruleset = ruleset
        self.closed_months: Mapping[str, datetime] = closed_months or {}
        self.watch_started = watch_started

    def first_judged(self, subject: SubjectRef) -> date:
        """The subject's first day the close judges: intake, or the first day ccwatch
        watched whole if that is later. The last is ``subject.ends_on``."""
        if self.watch_started is None:
            return subject.starts_on
        return max(subject.starts_on, first_whole_day(self.watch_started))

    def share(self, subject: SubjectRef, month: str) -> tuple[Fraction, str, str]:
        """How much of ``month`` the close judges: 1, all of it; a part, the judged days'
        share if the rule set prorates, else 0 (exempt); and, for a part, why (to append to
        the reasons)."""
        whole = month_span(month)
        first, last = max(whole.first, self.first_judged(subject)), min(whole.last, subject.ends_on)
        days = max((last - first).days + 1, 0)
        if days == whole.days():
            return Fraction(1), "", ""
        if self.ruleset.partial_months == "exempt" or days == 0:
            return Fraction(0), "", ""
        n = f"{days}/{whole.days()}"
        return Fraction(days, whole.days()), f",按本月 {n} 天折算", f", prorated, {n} days"

    def closed(self, state: LedgerState, month: str, received_at: datetime | None) -> bool:
        """Whether an event of ``month`` finds it closed: the subject's own closes say so
        (it, or a later month, was closed for the subject), or the registry says its close
        was requested before the event reached Kafka (``received_at``; unknown, as in a
        replay from a file that closes its months last: only the subject's closes count)."""
        if month in state.closed or (state.closed and month < max(state.closed)):
            return True
        at = self.closed_months.get(month)
        return at is not None and received_at is not None and received_at >= at

    def booking_month(self, state: LedgerState, month: str) -> str:
        """Where an event of a closed ``month`` is booked: the first month after it that
        is closed neither for the subject nor in the registry."""
        latest = max(state.closed, default="")
        after = add_months(month, 1)
        while after in state.closed or after in self.closed_months or after < latest:
            after = add_months(after, 1)
        return after

    # event rules --------------------------------------------------------------------------
    def on_checkin(
        self,
        state: LedgerState,
        event: CheckIn,
        subject: SubjectRef,
        terminal: TerminalRef,
        now: datetime,
        received_at: datetime | None = None,
    ) -> LedgerOutcome:
        hour = local(event.occurred_at).hour

        def counts(t: CheckInTrigger) -> bool:
            return (
                event.match_score >= t.min_match_score
                and (not t.own_office or terminal.office_id == subject.office_id)
                and t.local_hours[0] <= hour < t.local_hours[1]
            )

        triggers = self._rules(CheckInTrigger)
        rules = [(r, r.points) for r in triggers if counts(r.trigger)]  # type: ignore[arg-type]
        out = self._event_entries(
            state, rules, subject, event.event_id, event.occurred_at, now, received_at
        )
        # Any check-in whose face matched is the required report, also one that earns no
        # points (outside the points hours, at another office's kiosk).
        matched = min((r.trigger.min_match_score for r in triggers), default=0.0)  # type: ignore[union-attr]
        reported = event.match_score >= matched
        if reported and (event.occurred_at, event.event_id) not in out.state.reports:
            reports = sorted([*out.state.reports, (event.occurred_at, event.event_id)])
            out.state = msgspec.structs.replace(out.state, reports=reports)
        return out

    def on_activity(
        self,
        state: LedgerState,
        event: Activity,
        subject: SubjectRef,
        now: datetime,
        received_at: datetime | None = None,
    ) -> LedgerOutcome:
        rules = [
            (r, r.points * (int(event.hours) if r.trigger.per == "hour" else 1))  # type: ignore[union-attr]
            for r in self._rules(ActivityTrigger)
            if r.trigger.activity == event.activity  # type: ignore[union-attr]
        ]
        hours: dict[str, float] = {event.activity: event.hours} if event.hours else {}
        return self._event_entries(
            state, rules, subject, event.event_id, event.occurred_at, now, received_at, hours=hours
        )

    def on_alert(
        self,
        state: LedgerState,
        alert: AlertEvent,
        subject: SubjectRef,
        now: datetime,
        received_at: datetime | None = None,
    ) -> LedgerOutcome:
        """Score an alert transition; a verification later overturned is reversed."""
        if alert.outcome in ("false_alarm", "explained") and alert.alert_id in state.verified:
            return self._reverse(state, alert, subject, now, received_at)
        rules = [
            (r, r.points)
            for r in self._rules(AlertTrigger)
            if r.trigger.alert_type == alert.alert_type  # type: ignore[union-attr]
            and r.trigger.transition == alert.transition  # type: ignore[union-attr]
            and r.trigger.outcome in (None, alert.outcome)  # type: ignore[union-attr]
        ]
        evidence = [alert.transition_id, alert.alert_id, *alert.evidence]
        out = self._event_entries(
            state,
            rules,
            subject,
            alert.transition_id,
            alert.occurred_at,
            now,
            received_at,
            evidence,
        )
        if out.entries:
            scored = [(e.entry_id, e.rule_id, e.delta) for e in out.entries]
            verified = {**out.state.verified, alert.alert_id: scored}
            out.state = msgspec.structs.replace(out.state, verified=verified)
        return out

    def _reverse(
        self,
        state: LedgerState,
        alert: AlertEvent,
        subject: SubjectRef,
        now: datetime,
        received_at: datetime | None,
    ) -> LedgerOutcome:
        """Corrections are new entries that name the entry they reverse; nothing is edited
        (in a closed month, they are booked in the first open one)."""
        month, corrects = local_month(alert.occurred_at), None
        if self.closed(state, month, received_at):
            month, corrects = self.booking_month(state, month), month
        tally = state.months.get(month, MonthTally())
        points = dict(tally.points)
        entries = []
        for entry_id, rule_id, delta in state.verified[alert.alert_id]:
            rule = self.ruleset.rule(rule_id)
            entry = self._entry(
                subject,
                rule,
                -delta,
                f"reverse:{entry_id}",
                alert.occurred_at,
                month,
                [alert.transition_id, entry_id],
                f"更正,复核结论为{alert.outcome}" + _belongs_zh(corrects),
                f"correction, reviewed as {alert.outcome}" + _belongs_en(corrects),
                now,
                corrects,
            )
            entries.append(msgspec.structs.replace(entry, reverses_entry_id=entry_id))
            points[rule_id] = points.get(rule_id, 0) - delta
        verified = {k: v for k, v in state.verified.items() if k != alert.alert_id}
        months = {**state.months, month: msgspec.structs.replace(tally, points=points)}
        new = msgspec.structs.replace(state, verified=verified, months=months)
        return LedgerOutcome(new, entries)

    def _event_entries(
        self,
        state: LedgerState,
        rules: list[tuple[Rule, int]],
        subject: SubjectRef,
        event_id: str,
        occurred_at: datetime,
        now: datetime,
        received_at: datetime | None,
        evidence: list[str] | None = None,
        hours: dict[str, float] | None = None,
    ) -> LedgerOutcome:
        """One entry per matching rule; the month's tallies grow by deltas and hours. An
        event of a closed month is booked in the first open one, as a correction (its
        hours are not: the closed month's requirements were judged at its close)."""
        month, corrects, slot = local_month(occurred_at), None, event_id
        if not (rules or hours) or not _supervised(subject, month):
            return LedgerOutcome(state)
        if self.closed(state, month, received_at):
            month, corrects, slot, hours = (
                self.booking_month(state, month),
                month,
                f"late:{event_id}",
                None,
            )
            if not rules:
                return LedgerOutcome(state)
        tally = state.months.get(month, MonthTally())
        if event_id in tally.events:
            return LedgerOutcome(state)  # a redelivered event changes nothing
        points, spent = dict(tally.points), dict(tally.hours)
        entries, recs = [], []
        for rule, delta in rules:
            entry = self._entry(
                subject,
                rule,
                delta,
                slot,
                occurred_at,
                month,
                evidence or [event_id],
                _belongs_zh(corrects).lstrip(","),
                _belongs_en(corrects).lstrip(", "),
                now,
                corrects,
            )
            entries.append(entry)
            points[rule.id] = points.get(rule.id, 0) + delta
            if rule.escalation:
                recs.append(self._sanction(subject, rule, entry, now))
        for kind, h in (hours or {}).items():
            spent[kind] = spent.get(kind, 0.0) + h
        tally = MonthTally(points, spent, sorted([*tally.events, event_id]))
        pending = {**state.pending, **{r.recommendation_id: r for r in recs}}
        new = msgspec.structs.replace(state, months={**state.months, month: tally}, pending=pending)
        return LedgerOutcome(new, entries, recs)

    # the monthly close ---------------------------------------------------------------------
    def close_month(
        self, state: LedgerState, subject: SubjectRef, close: MonthClose, now: datetime
    ) -> LedgerOutcome:
        """Base, caps, missed periods, requirements, score, commendation, level review."""
        month = close.month
        if month in state.closed or not _supervised(subject, month):
            return LedgerOutcome(state)
        level = state.level or subject.level
        tally = state.months.get(month, MonthTally())
        part, part_zh, part_en = self.share(subject, month)
        entries: list[PointsEntry] = []

        def add(rule: Rule, delta: int, slot: str, zh: str, en: str) -> None:
            entries.append(
                self._entry(
                    subject,
                    rule,
                    delta,
                    slot,
                    month_span(month).last_second(),
                    month,
                    [close.event_id],
                    zh,
                    en,
                    now,
                )
            )

        for rule in self.ruleset.rules:
            trigger = rule.trigger
            earned = tally.points.get(rule.id, 0)
            if rule.cap_per_month is not None and abs(earned) > rule.cap_per_month:
                capped = rule.cap_per_month if earned > 0 else -rule.cap_per_month
                add(
                    rule,
                    capped - earned,
                    f"cap:{month}",
                    f"本月上限 {rule.cap_per_month} 分(累计 {earned})",
                    f"monthly cap of {rule.cap_per_month} (earned {earned})",
                )
            elif isinstance(trigger, MonthCloseTrigger):
                base = math.ceil(rule.points * part)  # a part rounds toward the higher score
                if base:
                    add(rule, base, f"base:{month}", part_zh.lstrip(","), part_en.lstrip(", "))
            elif isinstance(trigger, MissedCheckInTrigger) and part:
                for span in self._missed_periods(state, subject, level, month):
                    add(
                        rule,
                        rule.points,
                        f"missed:{span.key}",
                        f"{span.key}({span.first}~{span.last})未报到",
                        f"no check-in in {span.key} ({span.first} to {span.last})",
                    )
            elif isinstance(trigger, ShortfallTrigger) and part:
                need = self.ruleset.levels[level].min_hours.get(trigger.activity, 0.0)  # type: ignore[index]
                if part < 1:  # a part: whole hours, rounded down
                    need = math.floor(Fraction(need) * part)
                have = tally.hours.get(trigger.activity, 0.0)
                if have < need:
                    add(
                        rule,
                        rule.points,
                        f"short:{trigger.activity}:{month}",
                        f"{have:g} 小时,{labels.zh('level', level)}要求 {need:g} 小时{part_zh}",
                        f"{have:g} h, {level} level requires {need:g} h{part_en}",
                    )
        recs = [
            self._sanction(subject, self.ruleset.rule(e.rule_id), e, now)
            for e in entries
            if self.ruleset.rule(e.rule_id).escalation
        ]
        score = sum(tally.points.values()) + sum(e.delta for e in entries)
        if score >= self.ruleset.ladder.commendation_min_score:
            recs.append(
                self._recommend(
                    subject,
                    "commendation",
                    month,
                    [close.event_id],
                    close.occurred_at,
                    now,
                    f"{month} 月度考核 {score} 分",
                    f"scored {score} in {month}",
                )
            )
        new = msgspec.structs.replace(
            state,
            months={m: t for m, t in state.months.items() if m != month},
            closed=[*state.closed, month][-6:],
            scores=dict(list({**state.scores, month: score}.items())[-6:]),
            reports=[
                r
                for r in state.reports
                if (month_span(month).end() - r[0]).days <= KEEP_REPORTS_DAYS
            ],
            level=level,
            level_since=state.level_since or local_month(_start(subject)),
        )
        review = self._review_level(new, subject, month, close, now)
        recs += review
        pending = {**new.pending, **{r.recommendation_id: r for r in recs}}
        return LedgerOutcome(msgspec.structs.replace(new, pending=pending), entries, recs)

    def _missed_periods(
        self, state: LedgerState, subject: SubjectRef, level: str, month: str
    ) -> list[Span]:
        period = self.ruleset.levels[level].checkin_period  # type: ignore[index]
        missed = []
        first = self.first_judged(subject)
        for span in periods_ending_in(month, period):
            if span.first < first or span.last > subject.ends_on:
                continue  # only whole periods under supervision and watched are required
            if not any(span.holds(when) for when, _ in state.reports):
                missed.append(span)
        return missed

    def _review_level(
        self,
        state: LedgerState,
        subject: SubjectRef,
        month: str,
        close: MonthClose,
        now: datetime,
    ) -> list[Recommendation]:
        c, level = self.ruleset.classification, state.level or subject.level
        months_in = months_between(local_month(_start(subject)), month) + 1
        if (
            level == "strict"
            and months_in == c.new_subject_strict_months
            and not (state.admonitions_total >= c.strict_on_admonitions)
        ):
            return [
                self._level_change(
                    subject,
                    level,
                    "normal",
                    month,
                    close,
                    now,
                    f"入矫满 {months_in} 个月",
                    f"{months_in} months since admission",
                )
            ]
        if level != "normal" or state.level_since is None:
            return []
        at_normal = months_between(state.level_since, month) + 1
        if at_normal < c.promote_after_months_at_normal:
            return []
        quarter = [state.scores.get(add_months(month, -i)) for i in range(3)]
        if None not in quarter:
            average = sum(q for q in quarter if q is not None) / 3
            if average >= c.promote_min_quarter_average:
                return [
                    self._level_change(
                        subject,
                        level,
                        "lenient",
                        month,
                        close,
                        now,
                        f"普管 {at_normal} 个月,季度平均 {average:.1f} 分",
                        f"{at_normal} months at normal, quarterly average {average:.1f}",
                    )
                ]
        in_row = c.promote_commendations_in_row
        if all(add_months(month, -i) in state.commended for i in range(in_row)):
            return [
                self._level_change(
                    subject,
                    level,
                    "lenient",
                    month,
                    close,
                    now,
                    f"连续 {in_row} 次表扬",
                    f"{in_row} commendations in a row",
                )
            ]
        return []

    # decisions -----------------------------------------------------------------------------
    def on_decision(
        self, state: LedgerState, decision: Decision, subject: SubjectRef, now: datetime
    ) -> LedgerOutcome:
        """Record an officer's decision; confirmed sanctions climb the ladder."""
        rec = state.pending.get(decision.recommendation_id)
        if rec is None:
            return LedgerOutcome(state)
        decided = msgspec.structs.replace(
            rec,
            status=decision.decision,
            decided_by=decision.officer_id,
            decided_at=decision.occurred_at,
            decision_note=decision.note,
            recorded_at=now,
        )
        pending = {k: v for k, v in state.pending.items() if k != rec.recommendation_id}
        new = msgspec.structs.replace(state, pending=pending)
        recs = [decided]
        if decision.decision == "confirmed":
            new, more = self._confirmed(new, subject, decided, now)
            recs += more
            pending = {**new.pending, **{r.recommendation_id: r for r in more}}
            new = msgspec.structs.replace(new, pending=pending)
        return LedgerOutcome(new, [], recs)

    def _confirmed(
        self, state: LedgerState, subject: SubjectRef, rec: Recommendation, now: datetime
    ) -> tuple[LedgerState, list[Recommendation]]:
        ladder, c = self.ruleset.ladder, self.ruleset.classification
        month, when = local_month(rec.decided_at or now), rec.decided_at or now
        level = state.level or subject.level
        more: list[Recommendation] = []
        if rec.kind == "level_change" and rec.level_to:
            return msgspec.structs.replace(state, level=rec.level_to, level_since=month), []
        if rec.kind == "commendation":
            return msgspec.structs.replace(state, commended=[*state.commended, rec.month][-6:]), []
        if rec.kind == "admonition":
            admonitions = sorted([*state.admonitions, rec.recommendation_id])
            state = msgspec.structs.replace(
                state, admonitions=admonitions, admonitions_total=state.admonitions_total + 1
            )
            if len(admonitions) >= ladder.admonitions_for_warning:
                more.append(
                    self._recommend(
                        subject,
                        "warning",
                        month,
                        admonitions,
                        when,
                        now,
                        f"{len(admonitions)} 次训诫后仍未改正",
                        f"{len(admonitions)} admonitions without correction",
                    )
                )
                state = msgspec.structs.replace(state, admonitions=[])
            if state.admonitions_total >= c.strict_on_admonitions and level != "strict":
                more.append(
                    self._level_change(
                        subject,
                        level,
                        "strict",
                        month,
                        None,
                        now,
                        f"累计训诫 {state.admonitions_total} 次",
                        f"{state.admonitions_total} admonitions",
                        when,
                    )
                )
        if rec.kind == "warning":
            warnings = sorted([*state.warnings, rec.recommendation_id])
            state = msgspec.structs.replace(state, warnings=warnings)
            if len(warnings) >= ladder.warnings_for_revocation:
                more.append(
                    self._recommend(
                        subject,
                        "revocation_request",
                        month,
                        warnings,
                        when,
                        now,
                        f"{len(warnings)} 次警告后仍未改正",
                        f"{len(warnings)} warnings without correction",
                    )
                )
                state = msgspec.structs.replace(state, warnings=[])
            if c.strict_on_warning and level != "strict":
                more.append(
                    self._level_change(
                        subject,
                        level,
                        "strict",
                        month,
                        None,
                        now,
                        "受到警告",
                        "received a warning",
                        when,
                    )
                )
        return state, more

    # record builders -----------------------------------------------------------------------
    def _rules(self, kind: type) -> Iterable[Rule]:
        return [r for r in self.ruleset.rules if isinstance(r.trigger, kind)]

    def _entry(
        self,
        subject: SubjectRef,
        rule: Rule,
        delta: int,
        slot: str,
        occurred_at: datetime,
        month: str,
        evidence: list[str],
        zh: str,
        en: str,
        now: datetime,
        corrects_month: str | None = None,
    ) -> PointsEntry:
        rs = self.ruleset
        return PointsEntry(
            entry_id=derive_id("points", rs.id, rs.version, rule.id, subject.id, slot),
            subject_id=subject.id,
            office_id=subject.office_id,
            occurred_at=occurred_at,
            local_month=month,
            ruleset_id=rs.id,
            ruleset_version=rs.version,
            rule_id=rule.id,
            rule_version=rule.version,
            delta=delta,
            evidence=evidence,
            reason_zh=f"{rule.label_zh}:{zh}" if zh else rule.label_zh,
            reason_en=f"{rule.label_en}: {en}" if en else rule.label_en,
            recorded_at=now,
            corrects_month=corrects_month,
        )

    def _sanction(
        self, subject: SubjectRef, rule: Rule, entry: PointsEntry, now: datetime
    ) -> Recommendation:
        assert rule.escalation is not None
        return self._recommend(
            subject,
            rule.escalation,
            entry.local_month,
            [entry.entry_id, *entry.evidence],
            entry.occurred_at,
            now,
            entry.reason_zh,
            entry.reason_en,
        )

    def _level_change(
        self,
        subject: SubjectRef,
        level_from: str,
        level_to: str,
        month: str,
        close: MonthClose | None,
        now: datetime,
        zh: str,
        en: str,
        when: datetime | None = None,
    ) -> Recommendation:
        evidence = [close.event_id] if close else []
        rec = self._recommend(
            subject,
            "level_change",
            month,
            evidence,
            when or (close.occurred_at if close else now),
            now,
            f"{labels.zh('level', level_from)}→{labels.zh('level', level_to)}:{zh}",
            f"{level_from} -> {level_to}: {en}",
            extra=level_to,
        )
        return msgspec.structs.replace(rec, level_from=level_from, level_to=level_to)

    def _recommend(
        self,
        subject: SubjectRef,
        kind: str,
        month: str,
        evidence: list[str],
        occurred_at: datetime,
        now: datetime,
        zh: str,
        en: str,
        extra: str = "",
    ) -> Recommendation:
        rs = self.ruleset
        return Recommendation(
            recommendation_id=derive_id(
                "rec", rs.id, rs.version, subject.id, kind, month, extra, *evidence
            ),
            subject_id=subject.id,
            office_id=subject.office_id,
            kind=kind,  # type: ignore[arg-type]
            month=month,
            ruleset_id=rs.id,
            ruleset_version=rs.version,
            evidence=evidence,
            reason_zh=f"建议{labels.zh('recommendation_kind', kind)}:{zh}",
            reason_en=f"propose {kind}: {en}",
            occurred_at=occurred_at,
            recorded_at=now,
        )


def _belongs_zh(month: str | None) -> str:
    return f",补记:所属月份 {month} 已结账" if month else ""


def _belongs_en(month: str | None) -> str:
    return f", late entry: its month {month} was already closed" if month else ""


def _supervised(subject: SubjectRef, month: str) -> bool:
    span = month_span(month)
    return subject.starts_on <= span.last and subject.ends_on >= span.first


def _start(subject: SubjectRef) -> datetime:
    return Span("", subject.starts_on, subject.starts_on).start()

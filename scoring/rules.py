"""Rule sets as data: a TOML file with an id and version, decoded strictly or not at all.

A rule set holds the points rules (trigger, points, monthly cap, escalation), the
escalation ladder, what each classification level requires, and the classification review.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from models.events import ActivityKind, AlertType

DEFAULT_RULESET = "shengsi-2020.toml"

Identifier = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=64)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Hour = Annotated[int, msgspec.Meta(ge=0, le=24)]
Level = Literal["strict", "normal", "lenient"]
Sanction = Literal["admonition", "warning", "revocation_request"]


class Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of the file's tables: a misspelt key is an error, not a silent default."""


class CheckInTrigger(Strict, frozen=True, tag="checkin", tag_field="kind"):
    """A verified check-in, at the subject's own office, in opening hours (local)."""

    min_match_score: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.8
    own_office: bool = True
    local_hours: tuple[Hour, Hour] = (0, 24)


class ActivityTrigger(Strict, frozen=True, tag="activity", tag_field="kind"):
    """Study, community service, a report or a test recorded at a terminal."""

    activity: ActivityKind
    per: Literal["event", "hour"] = "event"  # "hour": points per whole hour


class AlertTrigger(Strict, frozen=True, tag="alert", tag_field="kind"):
    """An alert transition, e.g. resolved by an officer as a verified violation."""

    alert_type: AlertType
    transition: Literal["opened", "resolved"] = "resolved"
    outcome: Literal["verified_violation", "false_alarm", "explained"] | None = None


class MonthCloseTrigger(Strict, frozen=True, tag="month_close", tag_field="kind"):
    """Once per subject and supervised local month, at the monthly close (the base score)."""


class MissedCheckInTrigger(Strict, frozen=True, tag="checkin_missed", tag_field="kind"):
    """At the close: each required check-in period of the subject's level with none."""


class ShortfallTrigger(Strict, frozen=True, tag="requirement_missed", tag_field="kind"):
    """At the close: fewer hours of an activity than the subject's level requires."""

    activity: ActivityKind


Trigger = (
    CheckInTrigger
    | ActivityTrigger
    | AlertTrigger
    | MonthCloseTrigger
    | MissedCheckInTrigger
    | ShortfallTrigger
)
CLOSE_TRIGGERS = (MonthCloseTrigger, MissedCheckInTrigger, ShortfallTrigger)


class Rule(Strict, frozen=True):
    id: Identifier
    version: Annotated[int, msgspec.Meta(ge=1)]
    label_zh: Label
    label_en: Label
    trigger: Trigger
    points: int
    cap_per_month: Annotated[int, msgspec.Meta(ge=0)] | None = None  # of |sum| per month
    escalation: Sanction | None = None  # each entry proposes this sanction


class Ladder(Strict, frozen=True):
    """How sanctions accumulate (2020 measures: two and two; 2012 rules: two and three)."""

    admonitions_for_warning: Annotated[int, msgspec.Meta(ge=1)]
    warnings_for_revocation: Annotated[int, msgspec.Meta(ge=1)]
    commendation_min_score: int  # a closed month scoring at least this proposes 表扬


class LevelRules(Strict, frozen=True):
    checkin_period: Literal["week", "month", "quarter"]
    min_hours: dict[ActivityKind, Annotated[float, msgspec.Meta(ge=0)]] = {}


class Classification(Strict, frozen=True):
    new_subject_strict_months: Annotated[int, msgspec.Meta(ge=0)]
    promote_after_months_at_normal: Annotated[int, msgspec.Meta(ge=1)]
    promote_min_quarter_average: float
    promote_commendations_in_row: Annotated[int, msgspec.Meta(ge=1)]
    strict_on_admonitions: Annotated[int, msgspec.Meta(ge=1)]
    strict_on_warning: bool = True


class RuleSet(Strict, frozen=True):
    id: Identifier
    version: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    description: str
    # A month judged only in part (intake, release, the start of the watch): "exempt", no
    # base and no requirements; "prorate", both scaled by the share of its days judged.
    partial_months: Literal["exempt", "prorate"]
    ladder: Ladder
    levels: dict[Level, LevelRules]
    classification: Classification
    rules: list[Rule]

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


class RuleFileError(ValueError):
    """A rule file that cannot be used; the message names the file, the rule and the problem."""


def load_ruleset(path: Path | str | None = None) -> RuleSet:
    """Load and validate a rule file: a shipped name (``shengsi-2012.toml``), a path, or the
    default when None. Nothing half-loaded is ever returned."""
    if not path:
        path = None
    if path is None or (isinstance(path, str) and "/" not in path and not Path(path).exists()):
        name = f"scoring/rulesets/{path or DEFAULT_RULESET}"
        try:
            data = (
                resources.files("scoring.rulesets").joinpath(path or DEFAULT_RULESET).read_bytes()
            )
        except FileNotFoundError:
            raise RuleFileError(f"{name}: no such shipped rule set") from None
    else:
        name = str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise RuleFileError(f"{name}: cannot read: {exc.strerror}") from None
    try:
        ruleset = msgspec.toml.decode(data, type=RuleSet)
    except msgspec.ValidationError as exc:
        raise RuleFileError(f"{name}: {_rule_of(data, str(exc))}{exc}") from None
    except msgspec.DecodeError as exc:
        raise RuleFileError(f"{name}: not valid TOML: {exc}") from None
    _check(name, ruleset)
    return ruleset


def _check(name: str, ruleset: RuleSet) -> None:
    """Consistency checks that a schema cannot express."""
    missing = {"strict", "normal", "lenient"} - set(ruleset.levels)
    if missing:
        raise RuleFileError(f"{name}: levels: missing {sorted(missing)}")
    seen: set[str] = set()
    for rule in ruleset.rules:
        where = f"{name}: rule {rule.id!r}"
        if rule.id in seen:
            raise RuleFileError(f"{where}: duplicate rule id")
        seen.add(rule.id)
        trigger = rule.trigger
        if isinstance(trigger, CheckInTrigger) and trigger.local_hours[0] >= trigger.local_hours[1]:
            raise RuleFileError(f"{where}: local_hours start must be before end")
        if isinstance(trigger, CLOSE_TRIGGERS) and rule.cap_per_month is not None:
            raise RuleFileError(f"{where}: cap_per_month applies to event rules only")
        if rule.escalation and rule.points > 0:
            raise RuleFileError(f"{where}: a reward cannot escalate to a sanction")


def _rule_of(data: bytes, message: str) -> str:
    """'rule <id>: ' for an error inside ``$.rules[i]``, when that rule has a readable id."""
    marker = "`$.rules["
    if marker not in message:
        return ""
    index = int(message.split(marker, 1)[1].split("]", 1)[0])
    try:
        raw = msgspec.toml.decode(data)
        return f"rule {raw['rules'][index].get('id', f'#{index + 1}')!r}: "
    except (msgspec.DecodeError, KeyError, IndexError, AttributeError):
        return f"rule #{index + 1}: "

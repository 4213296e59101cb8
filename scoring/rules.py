"""Rule sets as data: a TOML file with an id and version, decoded strictly or not at all."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

DEFAULT_RULESET = "default.toml"

Identifier = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=64)]


class CheckInCondition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When a check-in counts: verified, at the subject's own office, in opening hours."""

    min_match_score: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.8
    own_office: bool = True
    local_hours: tuple[
        Annotated[int, msgspec.Meta(ge=0, le=24)], Annotated[int, msgspec.Meta(ge=0, le=24)]
    ] = (0, 24)


class Limit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """At most ``count`` entries of the rule per subject per local ``per`` period."""

    per: Literal["day", "month"]
    count: Annotated[int, msgspec.Meta(ge=1)] = 1


class Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Identifier
    event: Literal["checkin"]
    points: int
    label_zh: Annotated[str, msgspec.Meta(min_length=1)]
    label_en: Annotated[str, msgspec.Meta(min_length=1)]
    when: CheckInCondition = CheckInCondition()
    limit: Limit | None = None


class RuleSet(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Identifier
    version: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    description: str
    rules: list[Rule]


class RuleFileError(ValueError):
    """A rule file that cannot be used; the message names the file, the rule and the problem."""


def load_ruleset(path: Path | None = None) -> RuleSet:
    """Load and validate a rule file (the shipped default when ``path`` is None)."""
    if path is None:
        name = f"scoring/rulesets/{DEFAULT_RULESET}"
        data = resources.files("scoring.rulesets").joinpath(DEFAULT_RULESET).read_bytes()
    else:
        name, data = str(path), Path(path).read_bytes()
    try:
        ruleset = msgspec.toml.decode(data, type=RuleSet)
    except msgspec.ValidationError as exc:
        raise RuleFileError(f"{name}: {_rule_of(data, str(exc))}{exc}") from None
    except msgspec.DecodeError as exc:
        raise RuleFileError(f"{name}: not valid TOML: {exc}") from None
    seen: set[str] = set()
    for rule in ruleset.rules:
        if rule.id in seen:
            raise RuleFileError(f"{name}: rule {rule.id!r}: duplicate rule id")
        seen.add(rule.id)
        start, end = rule.when.local_hours
        if start >= end:
            raise RuleFileError(f"{name}: rule {rule.id!r}: local_hours start must be < end")
    return ruleset


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

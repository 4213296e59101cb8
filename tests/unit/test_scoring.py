"""The first points rule and the rule-file loader."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from models.events import CheckIn
from scoring.engine import CreditState, score_checkin
from scoring.rules import RuleFileError, RuleSet, load_ruleset
from tests.factories import T0, checkin, registry

RULES = load_ruleset()
REG = registry()
H = timedelta(hours=1)


def score(events: list[CheckIn], rules: RuleSet = RULES) -> list[tuple[str, int, str]]:
    state, out = CreditState(), []
    for e in events:
        state, entries = score_checkin(
            rules, state, e, REG.subjects[e.subject_id], REG.terminals[e.terminal_id], T0
        )
        out += [(x.rule_id, x.delta, x.evidence[0]) for x in entries]
    return out


def test_on_time_checkin_earns_the_rule_points_with_evidence() -> None:
    assert score([checkin(1, 0 * H)]) == [("checkin.on_time", 1, "chk-SS-0001-1")]


def test_entry_names_ruleset_month_and_reason() -> None:
    event = checkin(1, 0 * H)
    _, [entry] = score_checkin(
        RULES, CreditState(), event, REG.subjects["SS-0001"], REG.terminals["T-caiyuan-1"], T0
    )
    assert (entry.ruleset_id, entry.ruleset_version) == ("shengsi-points", "2026.1")
    assert entry.local_month == "2026-11" and entry.reason_zh and entry.reason_en
    assert entry.occurred_at == event.occurred_at


@pytest.mark.parametrize(
    "event",
    [
        checkin(1, 0 * H, match_score=0.5),  # identity not verified
        checkin(1, 0 * H, terminal="T-gouqi-1"),  # another office's kiosk
        checkin(1, -5 * H),  # 07:00 local, before opening
        checkin(1, 6 * H),  # 18:00 local, closed
    ],
)
def test_checkins_that_do_not_count(event: CheckIn) -> None:
    assert score([event]) == []


def test_one_credit_per_local_day_and_retries_change_nothing() -> None:
    first = checkin(1, 0 * H)
    entries = score([first, first, checkin(2, 2 * H), checkin(3, 24 * H)])
    assert [e[2] for e in entries] == ["chk-SS-0001-1", "chk-SS-0001-3"]


def test_entry_ids_are_stable_across_replays() -> None:
    def ids() -> list[str]:
        _, entries = score_checkin(
            RULES,
            CreditState(),
            checkin(1, 0 * H),
            REG.subjects["SS-0001"],
            REG.terminals["T-caiyuan-1"],
            T0,
        )
        return [e.entry_id for e in entries]

    assert ids() == ids()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    return path


HEADER = 'id = "test"\nversion = "1"\ndescription = "t"\n'
RULE = (
    '[[rules]]\nid = "checkin.x"\nevent = "checkin"\npoints = 1\n'
    'label_zh = "报到"\nlabel_en = "check-in"\n'
)


def test_a_custom_rule_file_loads(tmp_path: Path) -> None:
    rules = load_ruleset(write(tmp_path, HEADER + RULE))
    assert [r.id for r in rules.rules] == ["checkin.x"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + RULE.replace("points = 1", 'points = "many"'), "rule 'checkin.x'"),
        (HEADER + RULE + "colour = 3\n", "unknown field `colour`"),
        (HEADER + RULE + RULE, "duplicate rule id"),
        (HEADER + RULE + "when = { local_hours = [18, 8] }\n", "local_hours"),
        (HEADER + RULE.replace('event = "checkin"', 'event = "dance"'), "rule 'checkin.x'"),
        ('id = "test"\n' + RULE, "missing required field `version`"),
        (HEADER + "[[rules]\n", "not valid TOML"),
    ],
)
def test_malformed_rule_files_name_file_rule_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as err:
        load_ruleset(path)
    assert str(path) in str(err.value) and message in str(err.value)

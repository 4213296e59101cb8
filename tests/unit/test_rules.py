"""Rule files: the shipped sets load; malformed files fail naming file, rule and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.rules import CLOSE_TRIGGERS, RuleFileError, load_ruleset

SHIPPED = sorted(
    p.name for p in (Path(__file__).parents[2] / "scoring" / "rulesets").glob("*.toml")
)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_rule_sets_load(name: str) -> None:
    rules = load_ruleset(name)
    assert rules.id == "shengsi-points" and rules.rules
    assert {r.id.split(".")[0] for r in rules.rules} >= {"base", "checkin", "study", "violation"}
    assert any(isinstance(r.trigger, CLOSE_TRIGGERS) for r in rules.rules)


def test_the_two_sets_differ_in_the_ladder_only() -> None:
    a, b = load_ruleset("shengsi-2020.toml"), load_ruleset("shengsi-2012.toml")
    assert (a.ladder.warnings_for_revocation, b.ladder.warnings_for_revocation) == (2, 3)
    assert a.rules == b.rules and a.version != b.version


HEAD = """id = "test"
version = "1"
description = "t"
partial_months = "prorate"
[ladder]
admonitions_for_warning = 2
warnings_for_revocation = 2
commendation_min_score = 90
[levels.strict]
checkin_period = "week"
[levels.normal]
checkin_period = "month"
[levels.lenient]
checkin_period = "quarter"
[classification]
new_subject_strict_months = 2
promote_after_months_at_normal = 6
promote_min_quarter_average = 80
promote_commendations_in_row = 3
strict_on_admonitions = 2
"""
RULE = """[[rules]]
id = "checkin.x"
version = 1
label_zh = "报到"
label_en = "check-in"
trigger = { kind = "checkin" }
points = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_minimal_custom_file_loads(tmp_path: Path) -> None:
    assert [r.id for r in load_ruleset(write(tmp_path, HEAD + RULE)).rules] == ["checkin.x"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + RULE.replace("points = 1", 'points = "many"'), "rule 'checkin.x': Expected `int`"),
        (HEAD + RULE + "colour = 3\n", "rule 'checkin.x': Object contains unknown field `colour`"),
        (HEAD + RULE + RULE, "rule 'checkin.x': duplicate rule id"),
        (HEAD + RULE.replace('kind = "checkin"', 'kind = "dance"'), "rule 'checkin.x'"),
        (HEAD + RULE.replace('{ kind = "checkin" }', '{ kind = "checkin", local_hours = [18, 8] }'),
         "rule 'checkin.x': local_hours"),
        (HEAD + RULE.replace('{ kind = "checkin" }', '{ kind = "month_close" }')
         + "cap_per_month = 5\n", "cap_per_month applies to event rules only"),
        (HEAD + RULE.replace("points = 1", "points = 1\nescalation = \"warning\""),
         "a reward cannot escalate"),
        (HEAD + RULE.replace('{ kind = "checkin" }',
                             '{ kind = "alert", alert_type = "teleport" }'), "rule 'checkin.x'"),
        (HEAD.replace('[levels.lenient]\ncheckin_period = "quarter"\n', "") + RULE,
         "levels: missing ['lenient']"),
        (HEAD.replace('version = "1"\n', "") + RULE, "missing required field `version`"),
        (HEAD.replace('partial_months = "prorate"\n', "") + RULE,
         "missing required field `partial_months`"),
        (HEAD.replace('"prorate"', '"halve"') + RULE, "at `$.partial_months`"),
        (HEAD + "[[rules]\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_malformed_rule_files_name_file_rule_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as err:
        load_ruleset(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_unknown_shipped_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="no such shipped rule set"):
        load_ruleset("nope.toml")
    with pytest.raises(RuleFileError, match="cannot read"):
        load_ruleset(tmp_path / "absent.toml")


def test_an_empty_setting_means_the_default() -> None:
    assert load_ruleset("") == load_ruleset(None) == load_ruleset("shengsi-2020.toml")

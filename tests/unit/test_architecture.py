"""The architecture the README promises: a pure core, and one table of alert types that
names, detects and scores every type of the wire contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alerts.engine import DETECTORS
from alerts.kinds import ALERT_TYPES, KINDS
from scoring.rules import AlertTrigger, load_ruleset

REPO = Path(__file__).parents[2]
PURE = [
    "alerts",
    *sorted(f"alerts.{p.stem}" for p in (REPO / "alerts").glob("*.py") if p.stem != "__init__"),
    "scoring.ledger",
    "scoring.rules",
    "scoring.levels",
    "models.events",
    "models.datum",
    "models.values",
    "models.localtime",
    "models.rows",
    "register.core",
    "register.rules",
    "register.stats",
]
SHELL = ("sqlalchemy", "alembic", "faust", "fastapi", "aiokafka", "kafka", "starlette", "psycopg")


def test_the_core_loads_no_database_broker_or_web_code() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {PURE!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SHELL!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("alert_type", ALERT_TYPES)
def test_every_alert_type_has_labels_a_detector_and_a_points_mapping(alert_type: str) -> None:
    kind = KINDS[alert_type]  # type: ignore[index]
    assert kind.zh and kind.en and kind.rule.startswith(f"{alert_type}/")
    assert [d.name for d in DETECTORS if alert_type in d.kinds], "no detector raises it"
    for name in ("shengsi-2020.toml", "shengsi-2012.toml"):
        triggers = [
            r.trigger
            for r in load_ruleset(name).rules
            if isinstance(r.trigger, AlertTrigger) and r.trigger.alert_type == alert_type
        ]
        if kind.scored == "verified":
            assert [t for t in triggers if t.outcome == "verified_violation"], name
        else:  # scored at the monthly close, or a suspicion only: never by the alert
            assert not triggers, name


def test_detectors_have_distinct_names_and_declare_only_known_types() -> None:
    assert len({d.name for d in DETECTORS}) == len(DETECTORS)
    assert {k for d in DETECTORS for k in d.kinds} == set(ALERT_TYPES)

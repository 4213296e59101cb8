"""Security periods from the CLI, and the daily zero reports they call for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ccwatch.cli import app
from models.db import make_engine
from models.events import AlertEvent
from models.records import ZeroReport
from models.registry import load_registry
from streams.sink import DatabaseSink

DAY = date(2026, 11, 29)


def test_periods_from_the_cli_reach_the_registry(url: str) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "period",
            "add",
            "两会",
            "--start",
            "2026-11-29T00:00",
            "--end",
            "2026-12-01T00:00",
            "--office",
            "caiyuan",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["period", "list"])
    assert "两会" in listed.output and "caiyuan" in listed.output
    [period] = load_registry(make_engine(url)).periods
    assert period.offices == ("caiyuan",)
    assert period.covers(datetime(2026, 11, 29, 12, tzinfo=UTC), "caiyuan")
    assert not period.covers(datetime(2026, 11, 29, 12, tzinfo=UTC), "gouqi")
    bad = runner.invoke(
        app, ["period", "add", "x", "--start", "2026-11-29T00:00", "--end", "2026-11-28T00:00"]
    )
    assert bad.exit_code == 2


def test_zero_reports_for_the_offices_a_period_covers(url: str) -> None:
    CliRunner().invoke(
        app,
        [
            "period",
            "add",
            "两会",
            "--start",
            "2026-11-29T00:00",
            "--end",
            "2026-12-01T00:00",
            "--office",
            "caiyuan",
            "--office",
            "gouqi",
        ],
    )
    engine = make_engine(url)
    sink = DatabaseSink(engine)
    at = datetime(2026, 11, 29, 5, tzinfo=UTC)
    sink.write_alerts(
        [
            AlertEvent(
                transition_id="t-1",
                alert_id="a-1",
                transition="opened",
                alert_type="out_of_bounds",
                severity="high",
                subject_id="SS-0007",
                office_id="caiyuan",
                zone="central",
                rule="out_of_bounds/2",
                evidence=["f-1"],
                occurred_at=at,
                recorded_at=at,
                reason_zh="越界",
                reason_en="out of bounds",
            )
        ]
    )
    periods = load_registry(engine).periods
    assert sink.write_zero_reports(DAY, periods, at + timedelta(days=1)) == 2
    assert sink.write_zero_reports(DAY, periods, at + timedelta(days=1)) == 0  # once a day
    with Session(engine) as session:
        rows = {z.office_id: z for z in session.scalars(select(ZeroReport))}
    assert rows["caiyuan"].status == "incidents" and rows["caiyuan"].alerts_opened == 1
    assert rows["gouqi"].status == "zero" and rows["gouqi"].alerts_open == 0
    shown = CliRunner().invoke(app, ["zero-reports", "--date", "2026-11-29"])
    assert "incidents" in shown.output and "zero" in shown.output


def test_the_alerts_command_shows_chinese_labels_and_local_times(url: str) -> None:
    """Issue 14: codes come with their Chinese labels (models/labels.py), times are local."""
    at = datetime(2026, 12, 1, 5, 50, tzinfo=UTC)  # 13:50 in Beijing
    DatabaseSink(make_engine(url)).write_alerts(
        [
            AlertEvent(
                transition_id="t-9", alert_id="a-9", transition="opened",
                alert_type="out_of_bounds", severity="high", subject_id="SS-0007",
                office_id="caiyuan", zone="central", rule="out_of_bounds/3", evidence=["f-9"],
                occurred_at=at, recorded_at=at, reason_zh="离开县域", reason_en="left",
            )
        ]
    )  # fmt: skip
    shown = CliRunner().invoke(app, ["alerts"])
    assert shown.exit_code == 0, shown.output
    assert "越界" in shown.output and "待签收" in shown.output  # out_of_bounds, open
    assert "13:50" in shown.output and "05:50" not in shown.output

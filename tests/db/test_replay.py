"""Replaying the same events, in any arrival order, gives a byte-identical monthly report."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from alerts.clock import SystemClock
from ccwatch.seed import seed
from models.db import make_engine, migrate
from models.registry import load_registry
from reports.render_html import render_html
from reports.render_pdf import render_pdf
from reports.report import MonthlyReport, build_report, csv_text
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline
from streams.replay import LogRecord, read_log, replay, write_log
from streams.sink import DatabaseSink
from streams.topics import TopicNames
from terminals.producer import topic_of
from terminals.simulator import simulate_days
from tests.factories import keyring

TOPICS = TopicNames("ccwatch")


def month_log(tmp_path: Path) -> Path:
    events = simulate_days(date(2026, 11, 29), 29, keys=keyring())
    path = tmp_path / "events.jsonl"
    write_log(path, (LogRecord(topic_of(TOPICS, e).removeprefix("ccwatch."), e.key, e.value)
                     for e in events))  # fmt: skip
    return path


def rebuild(url: str, records: list[LogRecord]) -> MonthlyReport:
    migrate(url)
    engine = make_engine(url)
    seed(engine)
    pipeline = Pipeline(load_registry(engine), load_ruleset(), SystemClock(), 300)
    result = replay(records, pipeline, DatabaseSink(engine), ["2026-11"])
    assert result.entries > 100 and result.rejected.keys() <= {
        "undecodable",
        "timestamp_without_offset",
        "coordinates_out_of_range",
        "unknown_subject",
        "unsigned",  # the simulator's faulty positions
        "forged",
    }
    return build_report(engine, "2026-11")


@pytest.fixture(scope="module")
def in_order(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[LogRecord], MonthlyReport]:
    """A month's log and its report rebuilt in order on SQLite: built once, for both backends."""
    work = tmp_path_factory.mktemp("in-order")
    records = list(read_log(month_log(work)))
    return records, rebuild(f"sqlite:///{work / 'first.db'}", records)


def test_replay_in_any_order_on_any_backend_is_byte_identical(
    tmp_path: Path, database_url: str, in_order: tuple[list[LogRecord], MonthlyReport]
) -> None:
    records, first = in_order
    shuffled = random.Random(2026).sample(records, len(records))
    second = rebuild(database_url, shuffled)
    assert csv_text(first) == csv_text(second)
    assert render_html(first) == render_html(second)
    render_pdf(first, tmp_path / "first.pdf")
    render_pdf(second, tmp_path / "second.pdf")
    assert (tmp_path / "first.pdf").read_bytes() == (tmp_path / "second.pdf").read_bytes()
    subjects, entries = csv_text(first)
    assert subjects.count("\n") == len(first.subjects) + 1
    assert "base.monthly" in entries and "checkin.on_time" in entries


def test_the_log_keeps_undecodable_records_byte_for_byte(tmp_path: Path) -> None:
    raw = LogRecord("locations", b"SS-0001", b"\x00\x9f not json")
    write_log(tmp_path / "log.jsonl", [raw])
    assert list(read_log(tmp_path / "log.jsonl")) == [raw]

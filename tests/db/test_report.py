"""The monthly report from a database: exact CSV, scopes, opening balances, the trend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ccwatch.reference import shengsi
from ccwatch.seed import seed
from models.db import make_engine, migrate
from models.events import PointsEntry, Recommendation
from register.stats import Figures
from reports.files import write_report
from reports.report import build_report, csv_text
from streams.sink import DatabaseSink


def entry(
    n: int, subject: str, when: datetime, rule: str, delta: int, **over: object
) -> PointsEntry:
    month = (when + timedelta(hours=8)).strftime("%Y-%m")
    fields: dict[str, object] = dict(
        entry_id=f"e-{n}",
        subject_id=subject,
        office_id="caiyuan" if subject != "SS-0002" else "gouqi",
        occurred_at=when,
        local_month=over.pop("month", month),
        ruleset_id="shengsi-points",
        ruleset_version="2020.1",
        rule_id=rule,
        rule_version=1,
        delta=delta,
        evidence=[f"ev-{n}"],
        reason_zh=f"规则{rule}",
        reason_en=f'rule {rule}, "quoted"',
        recorded_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return PointsEntry(**(fields | over))  # type: ignore[arg-type]


@pytest.fixture
def engine(database_url: str) -> Engine:
    ref = shengsi()
    people = (
        replace(
            ref.subjects[0],
            id="SS-0001",
            office_id="caiyuan",
            level="normal",
            starts_on=date(2026, 1, 1),
            ends_on=date(2027, 1, 1),
        ),
        replace(
            ref.subjects[1],
            id="SS-0002",
            name="对象002",
            office_id="gouqi",
            level="strict",
            starts_on=date(2026, 1, 1),
            ends_on=date(2027, 1, 1),
        ),
        replace(
            ref.subjects[2],
            id="SS-0003",
            office_id="caiyuan",
            starts_on=date(2025, 1, 1),
            ends_on=date(2026, 10, 1),
        ),  # supervision over before November
    )
    migrate(database_url)
    engine = make_engine(database_url)
    seed(engine, replace(ref, subjects=people))
    sink = DatabaseSink(engine)
    oct_, nov = datetime(2026, 10, 10, 2, tzinfo=UTC), datetime(2026, 11, 9, 2, 30, tzinfo=UTC)
    sink.write_points(
        [
            entry(1, "SS-0001", oct_, "base.monthly", 60),
            entry(2, "SS-0001", nov, "checkin.on_time", 2),
            entry(3, "SS-0001", datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), "base.monthly", 60),
            entry(4, "SS-0002", nov, "violation.out_of_bounds", -10),
            entry(5, "SS-0002", nov, "violation.out_of_bounds", 10, reverses_entry_id="e-4"),
            entry(6, "SS-0003", oct_, "base.monthly", 60),
        ]
    )
    sink.write_recommendations(
        [
            Recommendation(
                recommendation_id="r-1",
                subject_id="SS-0001",
                office_id="caiyuan",
                kind="commendation",
                month="2026-11",
                ruleset_id="shengsi-points",
                ruleset_version="2020.1",
                evidence=["e-3"],
                reason_zh="建议表扬",
                reason_en="propose commendation",
                occurred_at=nov,
                recorded_at=nov,
            )
        ]
    )
    return engine


def test_csv_content_is_exact(engine: Engine) -> None:
    subjects, entries = csv_text(build_report(engine, "2026-11"))
    assert subjects == (
        "月份(month),对象编号(subject_id),姓名(name),司法所(office_id),片区(zone),"
        "管理等级(level),月初余额(opening),本月得分(score),月末余额(closing),"
        "计分条数(entries),奖惩建议(recommendations)\n"
        "2026-11,SS-0001,对象001,caiyuan,central,normal,60,62,122,2,commendation:proposed\n"
        "2026-11,SS-0002,对象002,gouqi,east,strict,0,0,0,2,\n"
    )
    assert entries == (
        "月份(month),对象编号(subject_id),发生时间(occurred_at),规则(rule_id),"
        "规则版次(rule_version),规则集(ruleset),分值(delta),原因(reason_zh),"
        "原因英文(reason_en),证据(evidence),条目编号(entry_id),冲正条目(reverses_entry_id)\n"
        "2026-11,SS-0001,2026-11-09T10:30:00+08:00,checkin.on_time,1,shengsi-points@2020.1,2,"
        '规则checkin.on_time,"rule checkin.on_time, ""quoted""",ev-2,e-2,\n'
        "2026-11,SS-0001,2026-11-30T23:59:59+08:00,base.monthly,1,shengsi-points@2020.1,60,"
        '规则base.monthly,"rule base.monthly, ""quoted""",ev-3,e-3,\n'
        "2026-11,SS-0002,2026-11-09T10:30:00+08:00,violation.out_of_bounds,1,"
        "shengsi-points@2020.1,-10,规则violation.out_of_bounds,"
        '"rule violation.out_of_bounds, ""quoted""",ev-4,e-4,\n'
        "2026-11,SS-0002,2026-11-09T10:30:00+08:00,violation.out_of_bounds,1,"
        "shengsi-points@2020.1,10,规则violation.out_of_bounds,"
        '"rule violation.out_of_bounds, ""quoted""",ev-5,e-5,e-4\n'
    )


def test_scopes_summaries_and_trend(engine: Engine) -> None:
    office = build_report(engine, "2026-11", office="gouqi")
    assert [s.subject_id for s in office.subjects] == ["SS-0002"]
    zone = build_report(engine, "2026-11", zone="central")
    assert [s.subject_id for s in zone.subjects] == ["SS-0001"]
    full = build_report(engine, "2026-11")
    assert [(g.key, g.subjects, g.average) for g in full.zones] == [
        ("central", 1, 62.0),
        ("east", 1, 0.0),
    ]
    assert full.trend == (("2026-10", 60.0), ("2026-11", 31.0))
    assert dict(full.distribution())["60-69"] == 1


def test_the_register_in_the_report_scope(engine: Engine) -> None:
    """SS-0003's term ended on 1 October: released by term end on the 2nd."""
    october = build_report(engine, "2026-10").register
    assert october is not None
    assert october.total == Figures(opening=3, released_term_end=1, on_register=2)
    office = build_report(engine, "2026-11", office="gouqi").register
    assert office is not None and office.total == Figures(opening=1, on_register=1)
    assert list(office.groups["office"]) == ["gouqi"]
    zone = build_report(engine, "2026-10", zone="central").register
    assert zone is not None and zone.total == Figures(opening=2, released_term_end=1, on_register=1)


def test_write_report_files(engine: Engine, tmp_path: Path, database_url: str) -> None:
    paths = write_report(database_url, "2026-11", None, None, ["csv", "html", "pdf"], tmp_path)
    names = sorted(p.name for p in paths)
    assert names == [
        "points-2026-11-all-entries.csv",
        "points-2026-11-all-subjects.csv",
        "points-2026-11-all.html",
        "points-2026-11-all.pdf",
    ]
    html = (tmp_path / "points-2026-11-all.html").read_text("utf-8")
    assert "SS-0001" in html and "SS-0002" in html and "SS-0003" not in html
    assert (tmp_path / "points-2026-11-all.pdf").read_bytes().startswith(b"%PDF")


def test_parallel_csv_is_the_same_bytes(engine: Engine, tmp_path: Path, database_url: str) -> None:
    from reports.files import write_csv_parallel

    one = write_csv_parallel(database_url, "2026-11", None, None, tmp_path / "one", "r", 1)
    two = write_csv_parallel(
        database_url, "2026-11", None, None, tmp_path / "two", "r", 2, min_parallel=1
    )
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]


BOM = b"\xef\xbb\xbf"


def test_csv_files_start_with_a_byte_order_mark_for_excel(
    engine: Engine, tmp_path: Path, database_url: str
) -> None:
    from reports.files import write_csv_parallel

    one = write_csv_parallel(database_url, "2026-11", None, None, tmp_path / "one", "r", 1)
    two = write_csv_parallel(
        database_url, "2026-11", None, None, tmp_path / "two", "r", 2, min_parallel=1
    )
    for path in one + two:
        data = path.read_bytes()
        assert data.startswith(BOM + "月份(month),".encode()) and data.count(BOM) == 1, path


def test_csv_files_without_the_byte_order_mark_on_request(
    engine: Engine, tmp_path: Path, database_url: str
) -> None:
    paths = write_report(
        database_url, "2026-11", None, None, ["csv"], tmp_path, csv_bom=False, workers=1
    )
    for path in paths:
        assert path.read_bytes().startswith("月份(month),".encode()), path

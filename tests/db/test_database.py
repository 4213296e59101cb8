"""Migrations, reference data and the idempotent sinks, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from ccwatch.broker import free_port
from ccwatch.reference import shengsi
from ccwatch.seed import seed
from models.db import alembic_config, make_engine, metadata, migrate
from models.events import AlertEvent, PointsEntry
from models.records import Alert, AlertTransitionRow, PointsEntryRow, RecommendationRow
from models.reference import Office, Subject
from models.registry import load_registry
from models.rows import points_entry_row
from streams.app import first_registry
from streams.sink import DatabaseSink
from tests.factories import INSIDE, fix, points_entry

T0 = datetime(2026, 11, 29, 5, 50, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    engine = make_engine(database_url)
    seed(engine)
    return engine


def test_migrations_match_the_models(database_url: str) -> None:
    """Tables, indexes, column types, nullability and server defaults."""
    migrate(database_url)
    engine = make_engine(database_url)
    opts: dict[str, Any] = {"compare_type": True, "compare_server_default": True}
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
    assert diff == [], "models and migrations drifted: add an Alembic revision"


def test_seed_is_idempotent_and_loads_shengsi(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Office)) == 7
        zones = set(session.scalars(select(Office.zone)))
        assert {z.value for z in zones} == {"east", "central", "west"}
        assert session.scalar(select(func.count()).select_from(Subject)) == len(shengsi().subjects)
    registry = load_registry(engine)
    assert registry.county is not None
    assert len(registry.terminals) == 7
    assert registry.subjects["SS-0007"].zone == "central"


def _entry(entry_id: str = "e-1", subject: str = "SS-0001", rule_version: int = 1) -> PointsEntry:
    entry = points_entry(entry_id, subject, rule_version)
    return msgspec.structs.replace(entry, occurred_at=T0, recorded_at=T0)


def _alert(alert_id: str, transition: str = "opened", at: datetime = T0) -> AlertEvent:
    return AlertEvent(
        transition_id=f"{alert_id}/{transition}",
        alert_id=alert_id,
        transition=transition,  # type: ignore[arg-type]
        alert_type="out_of_bounds",
        severity="high",
        subject_id="SS-0007",
        office_id="caiyuan",
        zone="central",
        rule="out_of_bounds/1",
        evidence=[f"fix-{alert_id}"],
        occurred_at=at,
        recorded_at=at,
        reason_zh="越界",
        reason_en="out of bounds",
        lat=30.85,
        lon=121.85,
        accuracy_m=10.0,
    )


def test_points_sink_ignores_redelivered_entries(engine: Engine) -> None:
    sink = DatabaseSink(engine)
    assert sink.write_points([_entry("e-1"), _entry("e-2")]) == 2
    assert sink.write_points([_entry("e-1"), _entry("e-2"), _entry("e-3")]) == 1
    with Session(engine) as session:
        rows = session.scalars(select(PointsEntryRow).order_by(PointsEntryRow.id)).all()
    assert [r.id for r in rows] == ["e-1", "e-2", "e-3"]
    assert rows[0].occurred_at == T0 and rows[0].evidence == ["ev-1"]


def test_points_keep_the_rule_version_they_were_published_with(engine: Engine) -> None:
    DatabaseSink(engine).write_points([_entry("e-1", rule_version=3)])
    with Session(engine) as session:
        assert session.scalar(select(PointsEntryRow.rule_version)) == 3


def test_the_sink_writes_to_a_database_built_from_the_models(database_url: str) -> None:
    """Every column the models require is filled: no write leans on a migration's default."""
    engine = make_engine(database_url)
    metadata.create_all(engine)
    seed(engine)
    sink = DatabaseSink(engine)
    assert sink.write_points([_entry("e-1", rule_version=2)]) == 1
    assert (
        sink.write_alerts([_alert("a-1"), _alert("a-1", "resolved", T0 + timedelta(days=1))]) == 2
    )
    assert sink.write_positions([fix(1, timedelta(0), INSIDE)]) == 1
    with Session(engine) as session:
        assert session.scalar(select(PointsEntryRow.rule_version)) == 2


def test_positions_are_kept_once_per_subject_and_event_id(engine: Engine) -> None:
    sink = DatabaseSink(engine)
    mine, theirs = fix(1, timedelta(0), INSIDE), fix(1, timedelta(0), INSIDE, subject="SS-0003")
    theirs = msgspec.structs.replace(theirs, event_id=mine.event_id)  # the same id, reused
    assert sink.write_positions([mine, theirs, mine]) == 2


def test_alert_sink_keeps_one_open_alert_per_subject_and_type(engine: Engine) -> None:
    sink = DatabaseSink(engine)
    later = T0 + timedelta(hours=1)
    assert sink.write_alerts([_alert("a-1"), _alert("a-1")]) == 1
    assert sink.write_alerts([_alert("a-2")]) == 0  # a second open one is not recorded
    assert sink.write_alerts([_alert("a-1", "resolved", later)]) == 1
    assert sink.write_alerts([_alert("a-1", "resolved", later)]) == 0
    assert sink.write_alerts([_alert("a-3", at=later)]) == 1  # a new departure after return
    with Session(engine) as session:
        alerts = {a.id: a for a in session.scalars(select(Alert))}
        transitions = session.scalars(select(AlertTransitionRow.id)).all()
    assert set(alerts) == {"a-1", "a-3"}
    assert alerts["a-1"].state == "resolved" and alerts["a-1"].resolved_at == later
    assert alerts["a-3"].state == "open"
    assert sorted(transitions) == ["a-1/opened", "a-1/resolved", "a-3/opened"]


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    naive = msgspec.structs.replace(_entry(), occurred_at=datetime(2026, 11, 29, 5, 50))  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive datetime"):
        DatabaseSink(engine).write_points([naive])


def test_recommendations_are_proposed_once_and_decided_once(engine: Engine) -> None:
    from models.events import Recommendation

    rec = Recommendation(
        recommendation_id="r-1", subject_id="SS-0002", office_id="caiyuan",
        kind="level_change", month="2026-11", ruleset_id="shengsi-points",
        ruleset_version="2020.1", evidence=["e-1"], reason_zh="建议", reason_en="propose",
        occurred_at=T0, recorded_at=T0, level_from="normal", level_to="lenient",
    )  # fmt: skip
    sink = DatabaseSink(engine)
    assert sink.write_recommendations([rec, rec]) == 1
    confirmed = msgspec.structs.replace(
        rec, status="confirmed", decided_by="O-caiyuan-1", decided_at=T0 + timedelta(days=1)
    )
    rejected = msgspec.structs.replace(confirmed, status="rejected", decided_by="O-caiyuan-2")
    assert sink.write_recommendations([confirmed]) == 1
    assert sink.write_recommendations([rejected, confirmed]) == 0  # the first decision stands
    with Session(engine) as session:
        row = session.get(RecommendationRow, "r-1")
        subject = session.get(Subject, "SS-0002")  # normal until now
    assert row is not None and subject is not None
    assert (row.status, row.decided_by) == ("confirmed", "O-caiyuan-1")
    assert subject.level.value == "lenient"


def test_only_a_confirmed_level_change_moves_the_level(engine: Engine) -> None:
    from models.events import Recommendation

    warning = Recommendation(
        recommendation_id="r-2", subject_id="SS-0002", office_id="caiyuan", kind="warning",
        month="2026-11", ruleset_id="shengsi-points", ruleset_version="2020.1",
        evidence=["e-1"], reason_zh="警告", reason_en="warning", occurred_at=T0,
        recorded_at=T0, level_from="normal", level_to="strict",
    )  # fmt: skip
    confirmed = msgspec.structs.replace(
        warning, status="confirmed", decided_by="O-caiyuan-1", decided_at=T0
    )
    with Session(engine) as session:
        before = session.get(Subject, "SS-0002")
    assert DatabaseSink(engine).write_recommendations([warning, confirmed]) == 2
    with Session(engine) as session:
        after = session.get(Subject, "SS-0002")
    assert before is not None and after is not None
    assert after.level == before.level == "normal"


def test_rule_version_loses_its_default_and_keeps_its_values(database_url: str) -> None:
    """0006 on a database with entries (SQLite rebuilds the table), and back."""
    migrate(database_url, "0005")
    engine = make_engine(database_url)
    with engine.begin() as conn:  # the rows the entries need, in 0005's columns only
        conn.execute(
            insert(Office),
            [dict(id="caiyuan", name_zh="菜园", name_en="Caiyuan", zone="central", lat=0, lon=0)],
        )
        conn.execute(
            insert(Subject),
            [
                dict(
                    id="SS-0001", name="对象001", office_id="caiyuan", correction_type="probation",
                    level="normal", starts_on=date(2025, 1, 1), ends_on=date(2028, 1, 1),
                )
            ],
        )  # fmt: skip
    later = ("rule_version", "corrects_month")  # columns of 0006 and 0007
    old = {c: v for c, v in points_entry_row(_entry("e-1")).items() if c not in later}
    with engine.begin() as conn:
        conn.execute(
            insert(PointsEntryRow), [old, {**old, "id": "e-2", "reverses_entry_id": "e-1"}]
        )
    migrate(database_url, "0006")
    with Session(engine) as session:
        kept = session.execute(select(PointsEntryRow.id, PointsEntryRow.rule_version)).all()
    assert sorted(kept) == [("e-1", 1), ("e-2", 1)]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(PointsEntryRow), [{**old, "id": "e-3"}])
    command.downgrade(alembic_config(database_url), "0005")
    with engine.begin() as conn:
        conn.execute(insert(PointsEntryRow), [{**old, "id": "e-3"}])
    engine.dispose()


def test_the_watch_start_migrates_and_an_upgrade_dates_it_from_what_ccwatch_decided(
    database_url: str,
) -> None:
    """0010 applies and reverts. The first start on a database ccwatch already decided on
    (it watched before 0010) dates the watch from the earliest of those decisions, not
    from the start after the upgrade."""
    from models.closes import record_watch_start

    migrate(database_url)
    engine = make_engine(database_url)
    seed(engine)  # with today's models, then back to before 0010 (later ones touch seeded tables)
    command.downgrade(alembic_config(database_url), "0009_supervision_terms")
    DatabaseSink(engine).write_alerts([_alert("a-1", at=T0 - timedelta(days=300))])
    DatabaseSink(engine).write_points([_entry("e-1")])
    migrate(database_url)
    assert load_registry(engine).watch_started is None  # no worker started since
    assert record_watch_start(engine, T0)
    assert not record_watch_start(engine, T0 + timedelta(days=1))  # the first start counts
    assert load_registry(engine).watch_started == T0 - timedelta(days=300)
    command.downgrade(alembic_config(database_url), "0009_supervision_terms")
    migrate(database_url)
    assert load_registry(engine).watch_started is None
    engine.dispose()


def test_closed_months_are_recorded_once_and_read_into_the_registry(engine: Engine) -> None:
    from models.closes import record_close

    assert record_close(engine, "2026-03", "timer", T0)
    assert not record_close(engine, "2026-03", "cli", T0 + timedelta(days=1))  # first counts
    assert load_registry(engine).closed_months == {"2026-03": T0}


def test_a_late_entry_keeps_the_month_it_corrects(engine: Engine) -> None:
    late = msgspec.structs.replace(points_entry("late-1"), corrects_month="2026-03")
    DatabaseSink(engine).write_points([late])
    with Session(engine) as session:
        row = session.get(PointsEntryRow, "late-1")
        assert row is not None and (row.local_month, row.corrects_month) == ("2026-11", "2026-03")
    from ccwatch.web.queries import subject

    page = subject(engine, late.subject_id)
    assert page is not None
    assert [e["corrects_month"] for e in page["ledger"]] == ["2026-03"]  # the officer sees it


def test_a_worker_starts_with_the_database_down_from_the_registry_it_kept(
    engine: Engine, tmp_path: Path
) -> None:
    """The registry read while the database was up is kept on disk; with the database
    down (nothing listens on its port), the worker starts from that copy."""
    snapshot = tmp_path / "registry.json"
    read = first_registry(engine, snapshot)  # up: read, and kept
    down = make_engine(
        f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none", connect_timeout_s=1
    )
    assert first_registry(down, snapshot) == read

"""Every published record maps onto its rows whole: no wire field and no column forgotten."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast, get_type_hints

import msgspec
import pytest
from sqlalchemy import Column, Table

from alerts.zero_reports import ZeroReportDue
from models import rows
from models.db import metadata
from models.events import AlertEvent, LocationFix, PointsEntry, Recommendation
from models.rows import NOT_STORED, Row, alert_rows
from tests.factories import fix

T0 = datetime(2026, 11, 29, 5, 50, tzinfo=UTC)
ENTRY = PointsEntry(
    entry_id="e-2", subject_id="SS-0001", office_id="caiyuan", occurred_at=T0,
    local_month="2026-11", ruleset_id="shengsi-points", ruleset_version="2020.1",
    rule_id="checkin.on_time", rule_version=3, delta=-1, evidence=["ev-1"], reason_zh="更正",
    reason_en="correction", recorded_at=T0, reverses_entry_id="e-1",
)  # fmt: skip
OPENED = AlertEvent(
    transition_id="a-1/opened", alert_id="a-1", transition="opened", alert_type="out_of_bounds",
    severity="high", subject_id="SS-0007", office_id="caiyuan", zone="central",
    rule="out_of_bounds/2", evidence=["fix-1"], occurred_at=T0, recorded_at=T0, reason_zh="越界",
    reason_en="out of bounds", lat=30.85, lon=121.85, accuracy_m=10.0,
    sla_due=T0 + timedelta(minutes=30),
)  # fmt: skip
REC = Recommendation(
    recommendation_id="r-1", subject_id="SS-0001", office_id="caiyuan", kind="level_change",
    month="2026-11", ruleset_id="shengsi-points", ruleset_version="2020.1", evidence=["e-1"],
    reason_zh="建议", reason_en="propose", occurred_at=T0, recorded_at=T0,
    level_from="normal", level_to="lenient", status="confirmed", decided_by="O-caiyuan-1",
    decided_at=T0, decision_note="ok",
)  # fmt: skip


def _step(transition: str, **changes: Any) -> AlertEvent:
    return msgspec.structs.replace(
        OPENED, transition_id=f"a-1/{transition}", transition=transition, **changes
    )


# Each record type with a row mapping: samples covering its variants (every lifecycle step).
SAMPLES: dict[type[Any], list[Any]] = {
    PointsEntry: [ENTRY],
    AlertEvent: [
        OPENED,
        _step("acknowledged", actor="O-caiyuan-1"),
        _step("dispatched", actor="O-caiyuan-1", assignee="caiyuan"),
        _step("escalated", assignee="command"),
        _step("resolved", actor="O-caiyuan-1", outcome="false_alarm"),
    ],
    Recommendation: [REC],
    LocationFix: [fix(1, timedelta(0), (30.7, 122.4))],
}
# Which table each part of a mapping's result goes to; full: the part is a whole row to insert.
TABLES: dict[Callable[..., Any], Callable[[Any], Iterator[tuple[str, Row, bool]]]] = {
    rows.points_entry_row: lambda r: iter([("points_entries", r, True)]),
    rows.position_row: lambda r: iter([("positions", r, True)]),
    rows.recommendation_row: lambda r: iter([("recommendations", r, True)]),
    alert_rows: lambda r: iter(
        [("alerts", r.alert, "id" in r.alert), ("alert_transitions", r.transition, True)]
    ),
}


class _Reads:
    """A record that notes which of its fields a mapping reads."""

    def __init__(self, record: Any) -> None:
        self._record = record
        self.fields: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.fields.add(name)
        return getattr(self._record, name)


def _mappings() -> dict[type[Any], Callable[..., Any]]:
    """The public functions of models.rows that take a record, by the record's type."""
    found: dict[type[Any], Callable[..., Any]] = {}
    for _, fn in inspect.getmembers(rows, inspect.isfunction):
        if fn.__module__ == rows.__name__ and not fn.__name__.startswith("_"):
            first = next(iter(inspect.signature(fn).parameters))
            found[get_type_hints(fn)[first]] = fn
    return found


def _filled_by_the_database(column: Column[Any]) -> bool:
    return column.server_default is not None or column.onupdate is not None


def _required(column: Column[Any]) -> bool:
    """Not nullable and nothing fills it when a write leaves it out."""
    return not column.nullable and column.default is None and column.server_default is None


def _check_row(table: Table, row: Row, full: bool) -> None:
    columns = {c.name: c for c in table.columns}
    assert set(row) <= set(columns), f"{table.name}: no such columns {set(row) - set(columns)}"
    if full:
        left_out = {
            n for n, c in columns.items() if n not in row and not _filled_by_the_database(c)
        }
        assert not left_out, f"{table.name}: the mapping leaves out {left_out}"
    for name in row.keys() & columns.keys():
        if _required(columns[name]):
            assert row[name] is not None, f"{table.name}.{name} is required"


def test_every_mapping_has_samples_and_says_what_it_does_not_store() -> None:
    assert set(_mappings()) == set(SAMPLES) == set(NOT_STORED)
    assert set(_mappings().values()) == set(TABLES)


@pytest.mark.parametrize("kind", list(SAMPLES), ids=lambda k: k.__name__)
def test_every_wire_field_is_stored_or_said_not_to_be(kind: type[msgspec.Struct]) -> None:
    mapping = _mappings()[kind]
    read: set[str] = set()
    for sample in SAMPLES[kind]:
        proxy = _Reads(sample)
        mapping(cast(Any, proxy))
        read |= proxy.fields
    fields = {f.name for f in msgspec.structs.fields(kind)}
    not_stored = set(NOT_STORED[kind])
    assert fields - read - not_stored == set(), "wire fields neither stored nor listed"
    assert read & not_stored == set(), "listed as not stored, but stored"
    assert not_stored <= fields


@pytest.mark.parametrize("kind", list(SAMPLES), ids=lambda k: k.__name__)
def test_every_column_is_filled(kind: type[Any]) -> None:
    mapping = _mappings()[kind]
    for sample in SAMPLES[kind]:
        for table, row, full in TABLES[mapping](mapping(sample)):
            _check_row(metadata.tables[table], row, full)


def test_the_opened_alert_is_a_whole_row_and_later_steps_only_change_it() -> None:
    assert "id" in alert_rows(OPENED).alert
    for step in SAMPLES[AlertEvent][1:]:
        assert "id" not in alert_rows(step).alert


def test_a_zero_report_is_its_table_row() -> None:
    report = ZeroReportDue("z", "caiyuan", date(2026, 11, 29), "p", 0, 0, "zero", T0)
    _check_row(metadata.tables["zero_reports"], dataclasses.asdict(report), full=True)


def test_the_check_catches_a_forgotten_column() -> None:
    """What went wrong with rule_version: left out of the row, filled by a default."""
    row = rows.points_entry_row(ENTRY)
    del row["rule_version"]
    with pytest.raises(AssertionError, match="rule_version"):
        _check_row(metadata.tables["points_entries"], row, full=True)

"""The monthly points report: per subject, per office and per zone, from the ledger.

Everything in it is derived from points entries and recommendations (event time, rule,
evidence), never from processing time, so the same ledger gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, groupby
from operator import itemgetter
from pathlib import Path
from statistics import mean
from typing import Any, NamedTuple, TextIO

import msgspec
from sqlalchemy import ColumnElement, Engine, SQLColumnExpression, and_, func, select, true

from models.labels import csv_heading, zh_names
from models.localtime import LOCAL_TZ, add_months, month_span
from models.records import PointsEntryRow, RecommendationRow
from models.reference import Level, Office, Subject
from register.stats import RegisterStats
from register.stats import load as register_stats

Progress = Callable[[int], None]  # called with how many more subjects are done
TREND_MONTHS = 6
BINS = [(-1000, 0), (0, 20), (20, 40), (40, 60), (60, 70), (70, 80), (80, 90), (90, 1000)]


class EntryLine(NamedTuple):  # a tuple: millions are made in a county-wide report
    entry_id: str
    occurred_at: str  # local time, ISO 8601 with +08:00
    rule_id: str
    rule_version: int
    ruleset: str  # id@version
    delta: int
    reason_zh: str
    reason_en: str
    evidence: tuple[str, ...]
    reverses_entry_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecLine:
    recommendation_id: str
    kind: str
    status: str
    reason_zh: str
    reason_en: str
    level_to: str | None
    decided_by: str | None


@dataclass(frozen=True, slots=True)
class SubjectReport:
    subject_id: str
    name: str
    office_id: str
    zone: str
    level: str
    opening: int
    entries: tuple[EntryLine, ...]
    recommendations: tuple[RecLine, ...]

    @property
    def score(self) -> int:
        """The month's score: the sum of its entries."""
        return sum(e.delta for e in self.entries)

    @property
    def closing(self) -> int:
        return self.opening + self.score


@dataclass(frozen=True, slots=True)
class GroupSummary:
    key: str
    name: str
    subjects: int
    average: float
    lowest: int
    highest: int
    recommendations: dict[str, int]


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    scope: str  # "all", "office caiyuan", "zone east"
    subjects: tuple[SubjectReport, ...]
    offices: tuple[GroupSummary, ...]
    zones: tuple[GroupSummary, ...]
    trend: tuple[tuple[str, float], ...]  # (month, average score) up to this month
    office_names: dict[str, str] = field(default_factory=dict)
    register: RegisterStats | None = None  # received, released, on register, in scope

    def distribution(self) -> list[tuple[str, int]]:
        """How many subjects scored in each band this month."""
        counts = Counter(
            next(i for i, (lo, hi) in enumerate(BINS) if lo <= s.score < hi) for s in self.subjects
        )
        return [(_band(lo, hi), counts.get(i, 0)) for i, (lo, hi) in enumerate(BINS)]


def _band(lo: int, hi: int) -> str:
    return f"< {hi}" if lo <= -1000 else f">= {lo}" if hi >= 1000 else f"{lo}-{hi - 1}"


def iter_subjects(
    engine: Engine,
    month: str,
    office: str | None = None,
    zone: str | None = None,
    progress: Progress | None = None,
    ids: tuple[str, str | None] | None = None,
) -> Iterator[SubjectReport]:
    """Each supervised subject's month, in subject id order, streamed from the ledger: the
    entries arrive as one ordered scan, so memory stays flat for any number of subjects.
    ``ids`` limits it to subject ids in [first, last) in byte order (a slice for a worker)."""
    P, R = PointsEntryRow, RecommendationRow
    with engine.connect() as conn:
        zones = {o: z.value for o, z in conn.execute(select(Office.id, Office.zone)).tuples()}
        chosen = select(Subject.id)
        if office:
            chosen = chosen.where(Subject.office_id == office)
        if zone:
            chosen = chosen.where(Subject.office_id.in_([o for o, z in zones.items() if z == zone]))

        def by_id(column: SQLColumnExpression[str]) -> ColumnElement[str]:
            """Byte order on every backend, the order Python compares strings in."""
            return column.collate("C") if engine.dialect.name == "postgresql" else column  # type: ignore[return-value]

        def within(column: SQLColumnExpression[str]) -> ColumnElement[bool]:
            conditions: list[ColumnElement[bool]] = [column.in_(chosen)] if (office or zone) else []
            if ids is not None:
                conditions.append(by_id(column) >= ids[0])
                if ids[1] is not None:
                    conditions.append(by_id(column) < ids[1])
            return and_(true(), *conditions)

        span = month_span(month)
        people = (
            conn.execute(
                select(Subject.id, Subject.name, Subject.office_id, Subject.level)
                .where(
                    within(Subject.id),
                    Subject.starts_on <= span.last,
                    Subject.ends_on >= span.first,
                )
                .order_by(by_id(Subject.id))
            )
            .tuples()
            .all()
        )
        opening = dict(
            conn.execute(
                select(P.subject_id, func.sum(P.delta))
                .where(P.local_month < month, within(P.subject_id))
                .group_by(P.subject_id)
            )
            .tuples()
            .all()
        )
        recs: dict[str, list[RecLine]] = defaultdict(list)
        for r in conn.execute(select(R).where(R.month == month, within(R.subject_id))):
            recs[r.subject_id].append(
                RecLine(r.id, r.kind, r.status, r.reason_zh, r.reason_en, r.level_to, r.decided_by)
            )
        entries = (
            select(
                P.subject_id,
                P.id,
                P.occurred_at,
                P.rule_id,
                P.rule_version,
                P.ruleset_id,
                P.ruleset_version,
                P.delta,
                P.reason_zh,
                P.reason_en,
                P.evidence,
                P.reverses_entry_id,
            )
            .where(P.local_month == month, within(P.subject_id))
            .order_by(by_id(P.subject_id))
        )
        # The hot loop of a county-wide report: plain driver rows, converted in _line.
        sql = entries.compile(conn, compile_kwargs={"render_postcompile": True})
        params = tuple(sql.params[k] for k in sql.positiontup) if sql.positiontup else sql.params
        result = conn.execution_options(stream_results=True).exec_driver_sql(str(sql), params)
        rows = chain.from_iterable(result.partitions(20_000))
        groups = groupby(rows, key=itemgetter(0))
        pending = next(groups, None)
        for subject_id, name, office_id, level in people:
            while pending is not None and pending[0] < subject_id:
                pending = next(groups, None)  # entries of subjects outside the report
            lines: list[EntryLine] = []
            if pending is not None and pending[0] == subject_id:
                lines = sorted(map(_line, pending[1]), key=_order)
                pending = next(groups, None)
            yield SubjectReport(
                subject_id,
                name,
                office_id,
                zones[office_id],
                Level(level).value,
                int(opening.get(subject_id, 0)),
                tuple(lines),
                tuple(
                    sorted(recs.get(subject_id, []), key=lambda r: (r.kind, r.recommendation_id))
                ),
            )
            if progress:
                progress(1)


def build_report(
    engine: Engine,
    month: str,
    office: str | None = None,
    zone: str | None = None,
    progress: Progress | None = None,
) -> MonthlyReport:
    """One month for all subjects, an office or a zone, with summaries and the trend."""
    subjects = list(iter_subjects(engine, month, office, zone, progress))
    P = PointsEntryRow
    ids = select(Subject.id).where(Subject.id.in_([s.subject_id for s in subjects]))
    with engine.connect() as conn:
        names = dict(conn.execute(select(Office.id, Office.name_zh)).tuples().all())
        trend = (
            conn.execute(
                select(P.local_month, func.sum(P.delta), func.count(func.distinct(P.subject_id)))
                .where(
                    P.local_month > add_months(month, -TREND_MONTHS),
                    P.local_month <= month,
                    P.subject_id.in_(ids) if (office or zone) else true(),
                )
                .group_by(P.local_month)
                .order_by(P.local_month)
            )
            .tuples()
            .all()
        )
    scope = f"office {office}" if office else f"zone {zone}" if zone else "all"
    return MonthlyReport(
        month,
        scope,
        tuple(subjects),
        _groups(subjects, lambda s: s.office_id, names),
        _groups(subjects, lambda s: s.zone, zh_names("zone")),
        tuple((m, round(int(total) / n, 2)) for m, total, n in trend if n),
        names,
        register_stats(engine, month_span(month), office=office, zone=zone),
    )


def _line(row: Sequence[Any]) -> EntryLine:
    """An entry from a driver row: datetimes and JSON arrive decoded, or as text (SQLite)."""
    _, entry_id, at, rule_id, rule_version, ruleset_id, version, delta, zh, en, evidence, rev = row
    if isinstance(at, str):
        at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    if isinstance(evidence, str | bytes):
        evidence = msgspec.json.decode(evidence)
    return EntryLine(
        entry_id,
        at.astimezone(LOCAL_TZ).isoformat(),
        rule_id,
        rule_version,
        f"{ruleset_id}@{version}",
        delta,
        zh,
        en,
        tuple(evidence),
        rev,
    )


def _order(e: EntryLine) -> tuple[str, str, str]:
    return (e.occurred_at, e.rule_id, e.entry_id)


def _groups(
    subjects: Iterable[SubjectReport], key: Callable[[SubjectReport], str], names: dict[str, str]
) -> tuple[GroupSummary, ...]:
    groups: dict[str, list[SubjectReport]] = defaultdict(list)
    for s in subjects:
        groups[key(s)].append(s)
    out = []
    for k in sorted(groups):
        members = groups[k]
        scores = [s.score for s in members]
        kinds = Counter(r.kind for s in members for r in s.recommendations)
        out.append(
            GroupSummary(
                k,
                names.get(k, k),
                len(members),
                round(mean(scores), 2),
                min(scores),
                max(scores),
                dict(sorted(kinds.items())),
            )
        )
    return tuple(out)


# CSV -------------------------------------------------------------------------------------
SUBJECT_COLUMNS = [
    "month",
    "subject_id",
    "name",
    "office_id",
    "zone",
    "level",
    "opening",
    "score",
    "closing",
    "entries",
    "recommendations",
]
ENTRY_COLUMNS = [
    "month",
    "subject_id",
    "occurred_at",
    "rule_id",
    "rule_version",
    "ruleset",
    "delta",
    "reason_zh",
    "reason_en",
    "evidence",
    "entry_id",
    "reverses_entry_id",
]


def subject_row(month: str, s: SubjectReport) -> list[object]:
    recs = ";".join(f"{r.kind}:{r.status}" for r in s.recommendations)
    return [
        month,
        s.subject_id,
        s.name,
        s.office_id,
        s.zone,
        s.level,
        s.opening,
        s.score,
        s.closing,
        len(s.entries),
        recs,
    ]


def entry_row(month: str, s: SubjectReport, e: EntryLine) -> list[object]:
    return [
        month,
        s.subject_id,
        e.occurred_at,
        e.rule_id,
        e.rule_version,
        e.ruleset,
        e.delta,
        e.reason_zh,
        e.reason_en,
        " ".join(e.evidence),
        e.entry_id,
        e.reverses_entry_id or "",
    ]


def write_csv_streams(
    month: str, subjects: Iterable[SubjectReport], subject_file: TextIO, entry_file: TextIO
) -> int:
    """Write both CSVs in one pass (UTF-8, LF, header first); returns the subject count."""
    subject_csv = csv.writer(subject_file, lineterminator="\n")
    entry_csv = csv.writer(entry_file, lineterminator="\n")
    subject_csv.writerow(csv_headings(SUBJECT_COLUMNS))
    entry_csv.writerow(csv_headings(ENTRY_COLUMNS))
    n = 0
    for s in subjects:
        subject_csv.writerow(subject_row(month, s))
        entry_csv.writerows(entry_row(month, s, e) for e in s.entries)
        n += 1
    return n


def csv_headings(columns: list[str]) -> list[str]:
    """The header row: each column's Chinese label with its code (``月份(month)``)."""
    return [csv_heading(c) for c in columns]


def csv_encoding(bom: bool) -> str:
    """UTF-8, with a byte-order mark when ``bom``: without one, Excel on a Chinese Windows
    reads the file as GBK and garbles the Chinese."""
    return "utf-8-sig" if bom else "utf-8"


def write_csv(
    month: str, subjects: Iterable[SubjectReport], out_dir: Path, stem: str, bom: bool = True
) -> list[Path]:
    """``<stem>-subjects.csv`` (a row per subject) and ``<stem>-entries.csv`` (a row per
    entry), streamed: the subjects may be an iterator over the whole county."""
    paths = [out_dir / f"{stem}-subjects.csv", out_dir / f"{stem}-entries.csv"]
    encoding = csv_encoding(bom)
    with (
        paths[0].open("w", encoding=encoding, newline="") as subject_file,
        paths[1].open("w", encoding=encoding, newline="") as entry_file,
    ):
        write_csv_streams(month, subjects, subject_file, entry_file)
    return paths


def csv_text(report: MonthlyReport) -> tuple[str, str]:
    """Both CSV files as text (for tests and replays)."""
    subject_file, entry_file = io.StringIO(), io.StringIO()
    write_csv_streams(report.month, report.subjects, subject_file, entry_file)
    return subject_file.getvalue(), entry_file.getvalue()


def generated_note(report: MonthlyReport) -> str:
    """A stable footer: what the report is built from, without processing time."""
    return f"ccwatch monthly points report {report.month} ({report.scope})"

"""The monthly points report: per subject, per office and per zone, from the ledger.

Everything in it is derived from points entries and recommendations (event time, rule,
evidence), never from processing time, so the same ledger gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from sqlalchemy import ColumnElement, Engine, SQLColumnExpression, func, select, true
from sqlalchemy.orm import Session

from models.records import PointsEntryRow, RecommendationRow
from models.reference import Office, Subject
from scoring.localtime import add_months, local, month_span

Progress = Callable[[int], None]  # called with how many more subjects are done
TREND_MONTHS = 6
BINS = [(-1000, 0), (0, 20), (20, 40), (40, 60), (60, 70), (70, 80), (80, 90), (90, 1000)]


@dataclass(frozen=True, slots=True)
class EntryLine:
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

    def distribution(self) -> list[tuple[str, int]]:
        """How many subjects scored in each band this month."""
        counts = Counter(
            next(i for i, (lo, hi) in enumerate(BINS) if lo <= s.score < hi) for s in self.subjects
        )
        return [(_band(lo, hi), counts.get(i, 0)) for i, (lo, hi) in enumerate(BINS)]


def _band(lo: int, hi: int) -> str:
    return f"< {hi}" if lo <= -1000 else f">= {lo}" if hi >= 1000 else f"{lo}-{hi - 1}"


def build_report(
    engine: Engine,
    month: str,
    office: str | None = None,
    zone: str | None = None,
    progress: Progress | None = None,
) -> MonthlyReport:
    """Read one month of the ledger for all subjects, an office or a zone."""
    with Session(engine) as session:
        offices = {o.id: o for o in session.scalars(select(Office))}
        chosen = select(Subject.id)
        if office:
            chosen = chosen.where(Subject.office_id == office)
        if zone:
            in_zone = [o.id for o in offices.values() if o.zone.value == zone]
            chosen = chosen.where(Subject.office_id.in_(in_zone))

        def within(column: SQLColumnExpression[str]) -> ColumnElement[bool]:
            return column.in_(chosen) if (office or zone) else true()

        span = month_span(month)
        supervised = (Subject.starts_on <= span.last) & (Subject.ends_on >= span.first)
        people = list(
            session.scalars(
                select(Subject).where(within(Subject.id), supervised).order_by(Subject.id)
            )
        )
        P = PointsEntryRow
        opening = dict(
            session.execute(
                select(P.subject_id, func.sum(P.delta))
                .where(P.local_month < month, within(P.subject_id))
                .group_by(P.subject_id)
            )
            .tuples()
            .all()
        )
        entries: dict[str, list[EntryLine]] = defaultdict(list)
        for e in session.scalars(select(P).where(P.local_month == month, within(P.subject_id))):
            entries[e.subject_id].append(_line(e))
        recs: dict[str, list[RecLine]] = defaultdict(list)
        R = RecommendationRow
        for r in session.scalars(select(R).where(R.month == month, within(R.subject_id))):
            recs[r.subject_id].append(
                RecLine(r.id, r.kind, r.status, r.reason_zh, r.reason_en, r.level_to, r.decided_by)
            )
        trend = (
            session.execute(
                select(P.local_month, func.sum(P.delta), func.count(func.distinct(P.subject_id)))
                .where(
                    P.local_month > add_months(month, -TREND_MONTHS),
                    P.local_month <= month,
                    within(P.subject_id),
                )
                .group_by(P.local_month)
                .order_by(P.local_month)
            )
            .tuples()
            .all()
        )
    subjects = []
    for p in people:
        subjects.append(
            SubjectReport(
                p.id,
                p.name,
                p.office_id,
                offices[p.office_id].zone.value,
                p.level.value,
                int(opening.get(p.id, 0)),
                tuple(sorted(entries.get(p.id, []), key=_order)),
                tuple(sorted(recs.get(p.id, []), key=lambda r: (r.kind, r.recommendation_id))),
            )
        )
        if progress:
            progress(1)
    scope = f"office {office}" if office else f"zone {zone}" if zone else "all"
    names = {k: o.name_zh for k, o in offices.items()}
    return MonthlyReport(
        month,
        scope,
        tuple(subjects),
        _groups(subjects, lambda s: s.office_id, names),
        _groups(subjects, lambda s: s.zone, {"east": "东部", "central": "中部", "west": "西部"}),
        tuple((m, round(int(total) / n, 2)) for m, total, n in trend if n),
        names,
    )


def _line(e: PointsEntryRow) -> EntryLine:
    return EntryLine(
        e.id,
        local(e.occurred_at).isoformat(),
        e.rule_id,
        e.rule_version,
        f"{e.ruleset_id}@{e.ruleset_version}",
        e.delta,
        e.reason_zh,
        e.reason_en,
        tuple(e.evidence),
        e.reverses_entry_id,
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


def subject_rows(report: MonthlyReport) -> Iterator[list[object]]:
    for s in report.subjects:
        recs = ";".join(f"{r.kind}:{r.status}" for r in s.recommendations)
        yield [
            report.month,
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


def entry_rows(report: MonthlyReport) -> Iterator[list[object]]:
    for s in report.subjects:
        for e in s.entries:
            yield [
                report.month,
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


def write_csv(report: MonthlyReport, out_dir: Path, stem: str) -> list[Path]:
    """Two files: one row per subject, and one row per entry (UTF-8, LF, header first)."""
    paths = []
    for suffix, columns, rows in (
        ("subjects", SUBJECT_COLUMNS, subject_rows(report)),
        ("entries", ENTRY_COLUMNS, entry_rows(report)),
    ):
        path = out_dir / f"{stem}-{suffix}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(rows)
        paths.append(path)
    return paths


def csv_text(report: MonthlyReport) -> tuple[str, str]:
    """Both CSV files as text (for tests and replays)."""
    out = []
    for columns, rows in (
        (SUBJECT_COLUMNS, subject_rows(report)),
        (ENTRY_COLUMNS, entry_rows(report)),
    ):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        out.append(buf.getvalue())
    return out[0], out[1]


def generated_note(report: MonthlyReport) -> str:
    """A stable footer: what the report is built from, without processing time."""
    return f"ccwatch monthly points report {report.month} ({report.scope})"

"""Register statistics (在册统计): received, released by end reason and on register, for a
local month or year, by correction type, office and zone.

The seed's own row, "共接收社区矫正对象19人，解矫31人……目前在册42人", is :func:`count` for a
year up to a day. Each subject's supervision is the local days [starts_on, last_day]:

- on register on a day: starts_on <= day <= last_day (the same as ``Subject.on_register``);
- received in a period: starts_on falls in it;
- released in a period: the first day no longer supervised, last_day + 1, falls in it, with
  the release's end reason, or ``term_end`` when the term ran out without a release;
- opening: on register the day before the period's first day.

A period runs from its first day to ``on`` (its last day unless told), so opening + received
- released = on register on ``on``: the flows check the stock.

Everything but :func:`load` is pure (plain rows in, counts out); :func:`load` imports the
database code when called.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args

from models import labels
from models.localtime import Span, month_span, year_span

if TYPE_CHECKING:
    from sqlalchemy import Engine

Grouping = Literal["type", "office", "zone"]
GROUPINGS: tuple[Grouping, ...] = get_args(Grouping)
GROUPING_HEADINGS: dict[Grouping, tuple[str, str]] = {
    "type": ("矫正类别", "Correction type"),
    "office": ("司法所", "Office"),
    "zone": ("片区", "Zone"),
}
END_REASONS = ("term_end", "revoked", "death", "other")  # EndReason's values
COLUMNS: tuple[tuple[str, str, str], ...] = (  # key, Chinese, English
    ("opening", "期初在册", "Opening"),
    ("received", "接收", "Received"),
    *(
        (f"released_{r}", labels.zh("end_reason", r), labels.en("end_reason", r).capitalize())
        for r in END_REASONS
    ),
    ("released", "解矫合计", "Released"),
    ("on_register", "在册", "On register"),
)
TOTAL_LABEL = "合计 Total"
TYPES_ZH = labels.zh_names("correction_type")
ZONES_ZH = labels.zh_names("zone")
ONE_DAY = timedelta(days=1)
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
YEAR = re.compile(r"\d{4}")


@dataclass(frozen=True, slots=True)
class Term:
    """One subject's supervision, as the register counts it."""

    subject_id: str
    office_id: str
    zone: str
    correction_type: str
    starts_on: date
    last_day: date
    end_reason: str = "term_end"  # why it ends (or ended) on last_day

    def on_register(self, day: date) -> bool:
        return self.starts_on <= day <= self.last_day

    def key(self, by: Grouping) -> str:
        return {"type": self.correction_type, "office": self.office_id, "zone": self.zone}[by]


@dataclass(frozen=True, slots=True)
class Figures:
    opening: int = 0
    received: int = 0
    released_term_end: int = 0
    released_revoked: int = 0
    released_death: int = 0
    released_other: int = 0
    on_register: int = 0

    @property
    def released(self) -> int:
        return sum(getattr(self, f"released_{r}") for r in END_REASONS)

    def as_dict(self) -> dict[str, int]:
        return {key: getattr(self, key) for key, _, _ in COLUMNS}

    def cells(self) -> list[int]:
        """The figures in the order of :data:`COLUMNS`."""
        return list(self.as_dict().values())


@dataclass(frozen=True)
class RegisterStats:
    span: Span  # the period: its key ("2026-11" or "2026"), first and last day
    on: date  # flows run from span.first to here; on register is counted here
    total: Figures
    groups: dict[Grouping, dict[str, Figures]]  # keys in order
    office_names: dict[str, str]  # office id -> Chinese name

    def label(self, by: Grouping, key: str) -> str:
        zh = {"type": TYPES_ZH, "office": self.office_names, "zone": ZONES_ZH}[by]
        return f"{zh[key]} {key}" if key in zh else key

    def rows(self, by: Grouping) -> list[tuple[str, list[int]]]:
        """A row per group (its label and figures), then the total."""
        rows = [(self.label(by, key), f.cells()) for key, f in self.groups[by].items()]
        return [*rows, (TOTAL_LABEL, self.total.cells())]

    def tables(self) -> list[tuple[tuple[str, str], list[tuple[str, list[int]]]]]:
        """What a report shows: each breakdown of more than one group (a single group would
        only repeat the total) with its heading; only the total when there is none."""
        tables = [
            (GROUPING_HEADINGS[by], self.rows(by)) for by in GROUPINGS if len(self.groups[by]) > 1
        ]
        return tables or [(("范围", "Scope"), [(TOTAL_LABEL, self.total.cells())])]

    def summary(self) -> str:
        t = self.total
        return (
            f"{self.on} 在册 {t.on_register} 人 = 期初 {t.opening} + 接收 {t.received} "
            f"- 解矫 {t.released} ({self.span.first} ~ {self.on}). On register on {self.on}: "
            f"{t.on_register} = {t.opening} + {t.received} received - {t.released} released."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.span.key,
            "first": self.span.first.isoformat(),
            "last": self.span.last.isoformat(),
            "on": self.on.isoformat(),
            "summary": self.summary(),
            "columns": [{"key": k, "zh": zh, "en": en} for k, zh, en in COLUMNS],
            "total": {"label": TOTAL_LABEL, **self.total.as_dict()},
            "by": {
                by: [
                    {"key": key, "label": self.label(by, key), **f.as_dict()}
                    for key, f in groups.items()
                ]
                for by, groups in self.groups.items()
            },
        }


def period(
    month: str | None = None, year: str | None = None, on: date | None = None, *, today: date
) -> tuple[Span, date]:
    """The period asked for and the day to count up to: a month or a year (to its last day
    unless ``on`` is given), or else the month holding ``on`` (default today) up to it."""
    if month and year:
        raise ValueError("give a month or a year, not both")
    if month and not MONTH.fullmatch(month):
        raise ValueError(f"month {month!r} is not YYYY-MM")
    if year and not YEAR.fullmatch(year):
        raise ValueError(f"year {year!r} is not YYYY")
    if not (month or year):
        on = on or today
        return month_span(on.strftime("%Y-%m")), on
    span = month_span(month) if month else year_span(year or "")
    on = on or span.last
    if not span.first <= on <= span.last:
        raise ValueError(f"{on} is not in {span.key}")
    return span, on


def on_register(terms: Iterable[Term], day: date) -> int:
    return sum(t.on_register(day) for t in terms)


def count(
    terms: Iterable[Term],
    span: Span,
    on: date | None = None,
    office_names: dict[str, str] | None = None,
) -> RegisterStats:
    """The period's figures, in total and by correction type, office and zone. A term that
    ends before it starts (withdrawn before intake) was never on register and is not counted."""
    on = span.last if on is None else on
    if not span.first <= on <= span.last:
        raise ValueError(f"{on} is not in {span.key}")
    total: Counter[str] = Counter()
    groups: dict[Grouping, defaultdict[str, Counter[str]]] = {
        by: defaultdict(Counter) for by in GROUPINGS
    }
    for t in terms:
        marks = _marks(t, span.first, on) if t.starts_on <= t.last_day else []
        if not marks:
            continue
        total.update(marks)
        for by in GROUPINGS:
            groups[by][t.key(by)].update(marks)
    return RegisterStats(
        span,
        on,
        Figures(**total),
        {
            by: {key: Figures(**g[key]) for key in sorted(g, key=_order(by))}
            for by, g in groups.items()
        },
        office_names or {},
    )


def _order(by: Grouping) -> Callable[[str], tuple[int, str]]:
    """Types and zones in the label table's order (probation first, east first), offices by id."""
    known = list(TYPES_ZH if by == "type" else ZONES_ZH if by == "zone" else ())
    return lambda key: (known.index(key) if key in known else len(known), key)


def _marks(t: Term, first: date, on: date) -> list[str]:
    """What one term adds to a period's figures."""
    marks = []
    if t.on_register(first - ONE_DAY):
        marks.append("opening")
    if first <= t.starts_on <= on:
        marks.append("received")
    if first <= t.last_day + ONE_DAY <= on:
        marks.append(f"released_{t.end_reason}")
    if t.on_register(on):
        marks.append("on_register")
    return marks


def load(
    engine: Engine,
    span: Span,
    on: date | None = None,
    office: str | None = None,
    zone: str | None = None,
) -> RegisterStats:
    """The figures from the database, for the county, an office or a zone: only the terms
    that can count (started by the period's end, their term not over before it began)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.reference import EndReason, Office, Subject, Zone

    query = (
        select(Subject, Office.zone)
        .join(Office)
        .where(Subject.starts_on <= span.last, Subject.ends_on >= span.first - ONE_DAY)
    )
    if office:
        query = query.where(Subject.office_id == office)
    if zone:
        query = query.where(Office.zone == Zone(zone))

    def term(s: Subject, zone: Zone) -> Term:
        released = s.released_on is not None and s.released_on <= s.ends_on + ONE_DAY
        reason = (s.end_reason or EndReason.OTHER) if released else EndReason.TERM_END
        return Term(
            s.id, s.office_id, zone.value, s.correction_type.value, s.starts_on, s.last_day(),
            reason.value,
        )  # fmt: skip

    with Session(engine) as session:
        terms = [term(s, z) for s, z in session.execute(query).tuples()]
        names = dict(session.execute(select(Office.id, Office.name_zh)).tuples().all())
    return count(terms, span, on, names)

"""The monthly report as a printable A4 PDF (reportlab platypus), byte-identical per report.

Every character is set in Noto Sans CJK SC, embedded as a subset of the characters the
report uses (``reports.pdf_font``): the PDF shows the same on any reader, with or without
Asian font packs. The story is made twice: once to learn its characters, then with the
subset font. A character the font lacks prints as 〓, and ``render_pdf`` returns those. The
document is made in reportlab's invariant mode (fixed dates and document id) with fixed
metadata.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

from register.stats import COLUMNS
from reports.charts import SIZE, distribution_png, trend_png
from reports.pdf_font import Face, find_font
from reports.render_html import (
    KINDS_NOTE,
    TITLE_EN,
    TITLE_ZH,
    kind_en,
    kind_zh,
    level_label,
    local_time,
    office_label,
    rec_kind_label,
    rec_kinds,
    reversal_note,
    rule_ref,
    scope_label,
    signed,
    status_label,
    summary_row,
    title,
    zone_label,
)
from reports.report import MonthlyReport, SubjectReport, generated_note

PROBE = "Helvetica"  # the font of the first pass, which only collects the characters
ASCII = "".join(map(chr, range(0x20, 0x7F)))  # always in the subset: numbers anywhere
MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
GRID = colors.HexColor("#999999")
HEAD = colors.HexColor("#eef1f5")
EN = "#444444"
FOOT = 7.5


@dataclass
class _Typeset:
    """One pass over the story: its font, and the characters set so far."""

    face: Face
    font: str
    used: set[str] = field(default_factory=set)
    lacking: set[str] = field(default_factory=set)


_PASS: ContextVar[_Typeset] = ContextVar("pdf_typeset")


@contextmanager
def _typeset(face: Face, font: str) -> Iterator[_Typeset]:
    typeset = _Typeset(face, font)
    token = _PASS.set(typeset)
    try:
        yield typeset
    finally:
        _PASS.reset(token)


def _font() -> str:
    return _PASS.get().font


def _fit(text: str) -> str:
    """The text as the font can set it (〓 for what it lacks), its characters recorded."""
    typeset = _PASS.get()
    fitted = typeset.face.fit(text)
    if fitted != text:
        typeset.lacking.update(c for c, f in zip(text, fitted, strict=True) if c != f)
    typeset.used.update(fitted)
    return fitted


def _styles() -> dict[str, ParagraphStyle]:
    return _styles_in(_font())


@cache
def _styles_in(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=base, fontSize=8, leading=10)
    latin = ParagraphStyle("latin", parent=cell, wordWrap=None)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=21, spaceAfter=4),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontSize=9.5, leading=13, spaceBefore=4, spaceAfter=2
        ),
        "cell": cell,
        "note": ParagraphStyle("note", parent=cell, spaceBefore=3),
        "latin": latin,
        "evidence": ParagraphStyle("evidence", parent=latin, fontSize=7, leading=9),
        "en": ParagraphStyle(
            "en", parent=latin, fontSize=7, leading=9, textColor=colors.HexColor(EN)
        ),
    }


def _markup(text: str) -> str:
    """Escaped paragraph markup for plain text."""
    return escape(_fit(text))


def _p(text: str, style: str = "cell") -> Paragraph:
    """A paragraph of plain text (escaped here)."""
    if style == "cell" and text.isascii():  # Latin line breaking: much faster than CJK's
        return Paragraph(_markup(text), _styles()["latin"])
    return Paragraph(_markup(text), _styles()[style])


def _grey(text: str) -> Paragraph:
    """A small grey line, wrapped the fast way when ASCII."""
    if text.isascii():
        return Paragraph(_markup(text), _styles()["en"])
    return Paragraph(f'<font color="{EN}" size="7">{_markup(text)}</font>', _styles()["cell"])


def _two(zh: str, en: str) -> list[Paragraph]:
    """A cell: Chinese, then English in grey below."""
    return [_p(zh), _grey(en)]


def _heading(zh: str, en: str, style: str = "h2") -> Paragraph:
    return Paragraph(f'{_markup(zh)} <font color="{EN}">{_markup(en)}</font>', _styles()[style])


def _table(
    rows: Sequence[Sequence[Any]], widths: Sequence[float], numeric: Sequence[int] = ()
) -> Table:
    cells = [[_fit(c) if isinstance(c, str) else c for c in row] for row in rows]
    table = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (0, 0), (-1, -1), _font(), 8),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    commands += [("ALIGN", (c, 1), (c, -1), "RIGHT") for c in numeric]
    table.setStyle(TableStyle(commands))
    return table


def _summary(report: MonthlyReport, zone: bool) -> list[Flowable]:
    kinds = rec_kinds(report)
    groups, label = (report.zones, zone_label) if zone else (report.offices, office_label)
    head = [_two("片区", "Zone") if zone else _two("司法所", "Office")]
    head += [_two(zh, en) for zh, en in (("人数", "Subjects"), ("平均分", "Average"))]
    head += [_two(zh, en) for zh, en in (("最低", "Lowest"), ("最高", "Highest"))]
    head += [_two(kind_zh(k), kind_en(k)) for k in kinds]
    rows = [[_p(label(report, g.key)), *summary_row(g, kinds)] for g in groups]
    each = min(22.0, (WIDTH / mm - 4 * 14 - 34) / max(len(kinds), 1))  # 5 kinds: 18 mm
    widths = [WIDTH / mm - 4 * 14 - each * len(kinds), 14, 14, 14, 14, *[each] * len(kinds)]
    table = _table([head, *rows], widths, numeric=range(1, 5 + len(kinds)))
    if zone:
        return [_heading("片区汇总", "Zones"), table, *([_p(KINDS_NOTE, "note")] if kinds else [])]
    return [_heading("司法所汇总", "Offices"), table]


def _register(report: MonthlyReport) -> list[Flowable]:
    """The month's register figures in the report's scope, a table per breakdown."""
    if report.register is None:
        return []
    flowables: list[Flowable] = [
        _heading("在册情况", "Register"),
        _p(report.register.summary(), "body"),
    ]
    for first, rows in report.register.tables():
        head = [_two(*first), *(_two(zh, en) for _, zh, en in COLUMNS)]
        body = [[_p(label), *map(str, cells)] for label, cells in rows]
        flowables.append(
            _table([head, *body], [36, *[18] * len(COLUMNS)], range(1, len(COLUMNS) + 1))
        )
    return flowables


def _chart(
    zh: str, en: str, draw: Callable[[MonthlyReport], bytes], report: MonthlyReport
) -> Flowable:
    """A chart under its heading (drawn only when typesetting: no text of ours in it)."""
    if _font() == PROBE:
        return _heading(zh, en)
    width = 0.9 * WIDTH
    image = Image(io.BytesIO(draw(report)), width=width, height=width * SIZE[1] / SIZE[0])
    return KeepTogether([_heading(zh, en), image])


def _facts(report: MonthlyReport, s: SubjectReport) -> Table:
    head = [
        _two(zh, en)
        for zh, en in (
            ("司法所", "Office"),
            ("片区", "Zone"),
            ("管理等级", "Level"),
            ("月初余额", "Opening"),
            ("本月得分", "Month score"),
            ("月末余额", "Closing"),
        )
    ]
    values = [
        _p(office_label(report, s.office_id)),
        _p(zone_label(report, s.zone)),
        _p(level_label(s.level)),
        str(s.opening),
        signed(s.score),
        str(s.closing),
    ]
    return _table([head, values], [52, 30, 32, 22, 22, 22], numeric=(3, 4, 5))


def _entries(s: SubjectReport) -> Flowable:
    if not s.entries:
        return _p("本月无计分记录。 No entries this month.", "body")
    head = [
        _two("时间", "Local time"),
        _two("规则", "Rule"),
        _two("分值", "Points"),
        _two("事由", "Reason"),
        _two("证据", "Evidence"),
    ]
    rows = [
        [
            local_time(e),
            _p(rule_ref(e)),
            signed(e.delta),
            [
                *_two(e.reason_zh, e.reason_en),
                *([_grey(note)] if (note := reversal_note(e)) else []),
            ],
            Paragraph("<br/>".join(map(_markup, e.evidence)), _styles()["evidence"]),
        ]
        for e in s.entries
    ]
    return _table([head, *rows], [25, 32, 11, 58, 54], numeric=(2,))


def _recommendations(s: SubjectReport) -> Flowable:
    if not s.recommendations:
        return _p("无。 None.", "body")
    head = [_two("类型", "Kind"), _two("状态", "Status"), _two("事由", "Reason")]
    rows = [
        [_p(rec_kind_label(r)), _p(status_label(r)), _two(r.reason_zh, r.reason_en)]
        for r in s.recommendations
    ]
    return _table([head, *rows], [55, 45, 80])


def _subject(report: MonthlyReport, s: SubjectReport) -> Flowable:
    heading = _p(f"{s.subject_id} {s.name}", "h2")
    return KeepTogether(
        [
            heading,
            _facts(report, s),
            _heading("计分明细", "Entries", "h3"),
            _entries(s),
            _heading("奖惩建议", "Recommendations", "h3"),
            _recommendations(s),
        ]
    )


def _story(report: MonthlyReport) -> list[Flowable]:
    meta = (
        f"月份 Month: {report.month} · 范围 Scope: {scope_label(report)} · "
        f"人数 Subjects: {len(report.subjects)}"
    )
    return [
        _heading(TITLE_ZH, TITLE_EN, "title"),
        _p(meta, "body"),
        *_register(report),
        *_summary(report, zone=False),
        *_summary(report, zone=True),
        _chart("得分分布", "Score distribution", distribution_png, report),
        _chart("平均分趋势", "Average score trend", trend_png, report),
        *[_subject(report, s) for s in report.subjects],
    ]


def _footer(note: str, font: str) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """Draws the stable note and the page number at the foot of every page."""

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFillColor(colors.HexColor(EN))
        canvas.setFont(font, FOOT)
        canvas.drawString(MARGIN, 9 * mm, note)
        canvas.drawRightString(A4[0] - MARGIN, 9 * mm, _page(doc.page))
        canvas.restoreState()

    return draw


def _page(n: int) -> str:
    return f"第 {n} 页 Page {n}"


def render_pdf(report: MonthlyReport, path: Path, font: Path | None = None) -> frozenset[str]:
    """Write the report to `path` as an A4 PDF; the same report gives the same bytes.
    ``font``: a Noto Sans CJK file (default: found in the system's font folders;
    MissingFontError if none). Returns the characters the font lacks (printed as 〓)."""
    face = find_font(font)
    with _typeset(face, PROBE) as probe:  # the first pass: which characters are used
        _story(report)
        note = _fit(generated_note(report))
        _fit(_page(0) + ASCII)
    name = face.register("".join(probe.used))
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 5 * mm,
        title=title(report),
        author="ccwatch",
        subject=generated_note(report),
        creator="ccwatch",
        keywords=[],
        invariant=1,
        initialFontName=name,  # not Helvetica: no font left unembedded
    )
    with _typeset(face, name):
        footer = _footer(note, name)
        doc.build(_story(report), onFirstPage=footer, onLaterPages=footer)
    return frozenset(probe.lacking)

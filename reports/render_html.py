"""The monthly report as one self-contained, printable HTML page (inline CSS and SVG).

Also home to the labels and formatting shared with the PDF (`reports.render_pdf`).
Nothing here reads the clock: the same report gives the same string.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from models.labels import zh_names
from register.stats import COLUMNS
from reports.charts import distribution_svg, trend_svg
from reports.report import EntryLine, GroupSummary, MonthlyReport, RecLine, generated_note

TITLE_ZH = "月度计分考核报告"
TITLE_EN = "Monthly points report"
KINDS_NOTE = (
    "建议栏为本月建议数（各状态合计）。 "
    "Recommendation columns count this month's recommendations of every status."
)
LEVEL_ZH = zh_names("level")
SANCTION_ZH = zh_names("recommendation_kind")
STATUS_ZH = zh_names("recommendation_status")


def signed(delta: int) -> str:
    """A points change with its sign: +3, -2, 0."""
    return f"{delta:+d}" if delta else "0"


def local_time(entry: EntryLine) -> str:
    """The entry's local time to the minute, e.g. 2026-11-03 09:15."""
    return entry.occurred_at[:16].replace("T", " ")


def rule_ref(entry: EntryLine) -> str:
    return f"{entry.rule_id}@{entry.rule_version}"


def reversal_note(entry: EntryLine) -> str:
    """Which entry this one reverses, if any."""
    return f"冲正 reverses {entry.reverses_entry_id}" if entry.reverses_entry_id else ""


def bilingual(zh: str, en: str) -> str:
    return f"{zh} {en}" if zh and zh != en else en


def kind_zh(kind: str) -> str:
    return SANCTION_ZH.get(kind, kind)


def kind_en(kind: str) -> str:
    """The kind in English words (level_change: level change), so it can wrap."""
    return kind.replace("_", " ")


def kind_label(kind: str) -> str:
    return bilingual(kind_zh(kind), kind_en(kind))


def level_label(level: str) -> str:
    return bilingual(LEVEL_ZH.get(level, ""), level)


def status_label(rec: RecLine) -> str:
    label = bilingual(STATUS_ZH.get(rec.status, ""), rec.status)
    return f"{label} ({rec.decided_by})" if rec.decided_by else label


def rec_kind_label(rec: RecLine) -> str:
    """The kind, and the target level of a level change."""
    label = kind_label(rec.kind)
    return f"{label} → {level_label(rec.level_to)}" if rec.level_to else label


def office_label(report: MonthlyReport, office_id: str) -> str:
    return bilingual(report.office_names.get(office_id, ""), office_id)


def zone_label(report: MonthlyReport, zone: str) -> str:
    names = {z.key: z.name for z in report.zones}
    return bilingual(names.get(zone, ""), zone)


def scope_label(report: MonthlyReport) -> str:
    """ "全部 all", "司法所 office: 菜园司法所 caiyuan", "片区 zone: 东部 east"."""
    kind, _, key = report.scope.partition(" ")
    if kind == "office":
        return f"司法所 office: {office_label(report, key)}"
    if kind == "zone":
        return f"片区 zone: {zone_label(report, key)}"
    return bilingual("全部", report.scope)


def title(report: MonthlyReport) -> str:
    return f"{TITLE_ZH} {TITLE_EN} {report.month}"


def rec_kinds(report: MonthlyReport) -> list[str]:
    """Every recommendation kind in the summaries, one column each."""
    groups = (*report.offices, *report.zones)
    return sorted({kind for g in groups for kind in g.recommendations})


def summary_row(group: GroupSummary, kinds: list[str]) -> list[str]:
    """Subjects, average, lowest, highest, then one count per kind."""
    counts = [str(group.recommendations.get(k, 0)) for k in kinds]
    return [
        str(group.subjects),
        f"{group.average:.2f}",
        str(group.lowest),
        str(group.highest),
        *counts,
    ]


def inline_svg(svg: bytes, prefix: str) -> Markup:
    """matplotlib's SVG file without its XML prologue, ready to sit inside HTML, its ids
    (and the references to them) prefixed so two charts on one page share none."""
    text = svg.decode("utf-8")
    text = text[text.index("<svg") :]
    text = re.sub(r'( id="|xlink:href="#|url\(#)', rf"\g<1>{prefix}-", text)
    return Markup(text)  # our own chart, not user text


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        signed=signed,
        local_time=local_time,
        rule_ref=rule_ref,
        kind_zh=kind_zh,
        kind_en=kind_en,
        level_label=level_label,
        status_label=status_label,
        rec_kind_label=rec_kind_label,
        reversal_note=reversal_note,
    )
    return env


def render_html(report: MonthlyReport) -> str:
    """The whole report as one HTML page, A4 print-ready."""
    kinds = rec_kinds(report)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            title=title(report),
            title_zh=TITLE_ZH,
            title_en=TITLE_EN,
            scope=scope_label(report),
            kinds=kinds,
            offices=[(office_label(report, g.key), summary_row(g, kinds)) for g in report.offices],
            zones=[(zone_label(report, g.key), summary_row(g, kinds)) for g in report.zones],
            distribution=inline_svg(distribution_svg(report), "distribution"),
            trend=inline_svg(trend_svg(report), "trend"),
            office_label=lambda office_id: office_label(report, office_id),
            zone_label=lambda zone: zone_label(report, zone),
            kinds_note=KINDS_NOTE,
            register_columns=COLUMNS,
            footer=generated_note(report),
        )
    )

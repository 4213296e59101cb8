"""Charts of the monthly report: the score distribution and the average-score trend.

Drawn with matplotlib's object API (no pyplot state), from matplotlib's default style
rather than any local matplotlibrc, with a fixed SVG hash salt and no date or software
version in the files, so the same report gives the same bytes. Text is ASCII only: the
bundled DejaVu font has no CJK glyphs.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
import matplotlib.style
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reports.report import MonthlyReport

# None drops a key; with all four gone the SVG has no <metadata> element at all.
SVG_METADATA: dict[str, str | None] = {"Date": None, "Creator": None, "Format": None, "Type": None}
PNG_METADATA: dict[str, str | None] = {"Software": None}
SIZE = (6.4, 2.8)  # inches; fits the A4 text width
PNG_DPI = 200
BAR = "#4a6fa5"
BAR_NEGATIVE = "#b5403a"
LINE = "#2f5d8a"


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib's defaults (not the local matplotlibrc), then ours."""
    with (
        matplotlib.style.context("default"),
        matplotlib.rc_context(
            {
                "svg.hashsalt": "ccwatch",
                "svg.fonttype": "path",  # glyphs as paths: the page needs no font
                "font.family": "DejaVu Sans",
                "font.size": 9,
                "axes.spines.top": False,
                "axes.spines.right": False,
                "axes.grid": True,
                "axes.grid.axis": "y",
                "grid.color": "#dddddd",
                "axes.axisbelow": True,
            }
        ),
    ):
        yield


def _distribution(report: MonthlyReport) -> Figure:
    bands = report.distribution()
    labels = [label for label, _ in bands]
    counts = [count for _, count in bands]
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    colors = [BAR_NEGATIVE if label.startswith("<") else BAR for label in labels]
    bars = ax.bar(labels, counts, color=colors, width=0.7)
    ax.bar_label(bars, padding=2)
    ax.set_ylim(0, max([*counts, 1]) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Month score")
    ax.set_ylabel("Subjects")
    ax.set_title(f"Score distribution, {report.month}")
    return fig


def _trend(report: MonthlyReport) -> Figure:
    months = [month for month, _ in report.trend]
    averages = [average for _, average in report.trend]
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    if months:
        ax.plot(months, averages, color=LINE, marker="o")
        for month, average in report.trend:
            ax.annotate(
                f"{average:.2f}", (month, average), textcoords="offset points", xytext=(0, 6)
            )
        ax.margins(x=0.08, y=0.25)
    else:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("Month")
    ax.set_ylabel("Average score")
    span = f"{months[0]} to {months[-1]}" if months else report.month
    ax.set_title(f"Average month score, {span}")
    return fig


def _save(draw: Callable[[MonthlyReport], Figure], report: MonthlyReport, fmt: str) -> bytes:
    buf = io.BytesIO()
    options: dict[str, Any] = (
        {"metadata": SVG_METADATA} if fmt == "svg" else {"metadata": PNG_METADATA, "dpi": PNG_DPI}
    )
    with _style():
        draw(report).savefig(buf, format=fmt, **options)
    return buf.getvalue()


def distribution_svg(report: MonthlyReport) -> bytes:
    """Bar chart: how many subjects scored in each band this month."""
    return _save(_distribution, report, "svg")


def trend_svg(report: MonthlyReport) -> bytes:
    """Line chart: the average month score over the trend months."""
    return _save(_trend, report, "svg")


def distribution_png(report: MonthlyReport) -> bytes:
    return _save(_distribution, report, "png")


def trend_png(report: MonthlyReport) -> bytes:
    return _save(_trend, report, "png")

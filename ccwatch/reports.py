"""Write the monthly points report files, with a progress bar on long runs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from models.db import make_engine
from scoring.report import build_report, iter_subjects, write_csv


def write_report(
    database_url: str,
    month: str,
    office: str | None,
    zone: str | None,
    formats: list[str],
    out: Path,
    console: Console | None = None,
) -> list[Path]:
    """Build the report for a month (and office or zone) and write the chosen formats."""
    out.mkdir(parents=True, exist_ok=True)
    scope = office or zone or "all"
    stem = f"points-{month}-{scope}"
    engine = make_engine(database_url)
    paths: list[Path] = []
    with Progress(console=console, transient=True, disable=console is None) as bar:
        if "csv" in formats:  # streamed: flat memory for a whole province
            task = bar.add_task(f"CSV {month} ({scope})", total=None)
            subjects = iter_subjects(engine, month, office, zone, lambda n: bar.advance(task, n))
            paths += write_csv(month, subjects, out, stem)
        if not {"html", "pdf"} & set(formats):
            return paths
        task = bar.add_task(f"reading {month} ({scope})", total=None)
        report = build_report(engine, month, office, zone, lambda n: bar.advance(task, n))
        if "html" in formats:
            from scoring.render_html import render_html

            html = out / f"{stem}.html"
            html.write_text(render_html(report), "utf-8")
            paths.append(html)
        if "pdf" in formats:
            from scoring.render_pdf import render_pdf

            pdf = out / f"{stem}.pdf"
            render_pdf(report, pdf)
            paths.append(pdf)
    return paths

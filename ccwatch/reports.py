"""Write the monthly points report files, with a progress bar on long runs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from models.db import make_engine
from scoring.report import build_report, write_csv


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
    with Progress(console=console, transient=True, disable=console is None) as bar:
        task = bar.add_task(f"reading {month} ({scope})", total=None)
        report = build_report(
            make_engine(database_url), month, office, zone, progress=lambda n: bar.advance(task, n)
        )
        bar.update(task, description="writing")
        paths: list[Path] = []
        if "csv" in formats:
            paths += write_csv(report, out, stem)
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

"""Write the monthly points report files, with a progress bar on long runs.

The CSV of a whole county or province is written by several processes, each streaming a
contiguous slice of subject ids into part files that are joined in order: the bytes are
those of a single pass.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from sqlalchemy import select

from models.db import make_engine
from models.reference import Subject
from reports.pdf_font import find_font
from reports.report import (
    ENTRY_COLUMNS,
    SUBJECT_COLUMNS,
    build_report,
    csv_encoding,
    csv_headings,
    iter_subjects,
    write_csv,
)
from reports.report import (
    Progress as ProgressFn,
)

PARALLEL_FROM = 50_000  # subjects; below this one process is quicker than starting more


def write_report(
    database_url: str,
    month: str,
    office: str | None,
    zone: str | None,
    formats: list[str],
    out: Path,
    console: Console | None = None,
    workers: int | None = None,
    csv_bom: bool = True,
    font: Path | None = None,
) -> list[Path]:
    """Build the report for a month (and office or zone) and write the chosen formats;
    the CSV files start with a UTF-8 byte-order mark unless ``csv_bom`` is false. The PDF
    embeds ``font`` (default: Noto Sans CJK found on the system; MissingFontError if none)."""
    if "pdf" in formats:
        find_font(font)  # no CJK font: say so before writing anything
    out.mkdir(parents=True, exist_ok=True)
    scope = office or zone or "all"
    stem = f"points-{month}-{scope}"
    engine = make_engine(database_url)
    paths: list[Path] = []
    shown = console is not None and console.is_terminal  # no bar in a pipe or a log
    with Progress(console=console, transient=True, disable=not shown) as bar:
        if "csv" in formats:  # streamed: flat memory for a whole province
            task = bar.add_task(escape(f"CSV {month} ({scope})"), total=None)
            paths += write_csv_parallel(
                database_url,
                month,
                office,
                zone,
                out,
                stem,
                workers or os.cpu_count() or 1,
                lambda n: bar.advance(task, n),
                bom=csv_bom,
            )
        if not {"html", "pdf"} & set(formats):
            return paths
        task = bar.add_task(escape(f"reading {month} ({scope})"), total=None)
        report = build_report(engine, month, office, zone, lambda n: bar.advance(task, n))
        if "html" in formats:
            from reports.render_html import render_html

            html = out / f"{stem}.html"
            html.write_text(render_html(report), "utf-8")
            paths.append(html)
        if "pdf" in formats:
            from reports.render_pdf import render_pdf

            pdf = out / f"{stem}.pdf"
            lacking = render_pdf(report, pdf, font)
            if lacking and console is not None:
                console.print(
                    f"the PDF's font has no glyph for {' '.join(sorted(lacking))}: printed as 〓",
                    style="yellow",
                    markup=False,
                )
            paths.append(pdf)
    return paths


def write_csv_parallel(
    database_url: str,
    month: str,
    office: str | None,
    zone: str | None,
    out: Path,
    stem: str,
    workers: int,
    progress: ProgressFn | None = None,
    min_parallel: int = PARALLEL_FROM,
    bom: bool = True,
) -> list[Path]:
    """Both CSV files, written by up to ``workers`` processes over slices of subject ids."""
    out.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        ids = sorted(conn.scalars(select(Subject.id)))
    engine.dispose()
    if workers <= 1 or len(ids) < min_parallel:
        subjects = iter_subjects(make_engine(database_url), month, office, zone, progress)
        return write_csv(month, subjects, out, stem, bom)
    step = -(-len(ids) // workers)
    bounds = [ids[i] for i in range(0, len(ids), step)]
    slices = [(lo, bounds[n + 1] if n + 1 < len(bounds) else None) for n, lo in enumerate(bounds)]
    with ProcessPoolExecutor(len(slices), mp_context=get_context("spawn")) as pool:
        parts = list(
            pool.map(
                _write_slice,
                [
                    (database_url, month, office, zone, out, f"{stem}.part{n}", s)
                    for n, s in enumerate(slices)
                ],
            )
        )
    paths = []
    for suffix, columns, index in (("subjects", SUBJECT_COLUMNS, 0), ("entries", ENTRY_COLUMNS, 1)):
        path = out / f"{stem}-{suffix}.csv"
        with path.open("wb") as joined:
            joined.write((",".join(csv_headings(columns)) + "\n").encode(csv_encoding(bom)))
            for part in parts:
                with part[index].open("rb") as f:
                    f.readline()  # each part has its own header
                    shutil.copyfileobj(f, joined, 1 << 20)
                part[index].unlink()
        paths.append(path)
    return paths


def _write_slice(
    args: tuple[str, str, str | None, str | None, Path, str, tuple[str, str | None]],
) -> list[Path]:
    database_url, month, office, zone, out, stem, ids = args
    engine = make_engine(database_url)
    return write_csv(month, iter_subjects(engine, month, office, zone, ids=ids), out, stem)

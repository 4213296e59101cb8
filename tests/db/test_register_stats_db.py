"""Register statistics from the seeded database, from the loader and from `ccwatch stats`:
"on register" is the count any query with ``Subject.on_register`` gives."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ccwatch.cli import app
from models.db import make_engine
from models.localtime import month_span, year_span
from models.reference import EndReason, Subject
from register.stats import Figures, load

DAYS = [date(2026, 11, d) for d in (1, 9, 10, 20, 21, 29, 30)] + [date(2026, 12, 1)]


@pytest.fixture
def engine(url: str) -> Engine:
    """The seed, with the month's edges: a revocation, a term that runs out, an intake on the
    last day of the month and a release on the first of the next."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        revoked, ran_out, late, died = (
            session.get_one(Subject, f"SS-{n:04d}") for n in (1, 2, 3, 30)
        )
        revoked.released_on, revoked.end_reason = date(2026, 11, 10), EndReason.REVOKED
        ran_out.ends_on = date(2026, 11, 20)
        late.starts_on = date(2026, 11, 30)
        died.released_on, died.end_reason = date(2026, 12, 1), EndReason.DEATH
    return engine


def direct(engine: Engine, day: date, office: str | None = None) -> int:
    query = select(func.count()).select_from(Subject).where(Subject.on_register(day))
    if office:
        query = query.where(Subject.office_id == office)
    with Session(engine) as session:
        return session.scalar(query) or 0


def test_on_register_is_the_direct_count_every_day(engine: Engine) -> None:
    for day in DAYS:
        stats = load(engine, month_span(day.strftime("%Y-%m")), day)
        assert stats.total.on_register == direct(engine, day), day
        for office, figures in stats.groups["office"].items():
            assert figures.on_register == direct(engine, day, office), (day, office)
        gouqi = load(engine, year_span("2026"), day, office="gouqi")
        assert gouqi.total.on_register == direct(engine, day, "gouqi")


def test_the_month_figures(engine: Engine) -> None:
    opening = direct(engine, date(2026, 10, 31))
    november = load(engine, month_span("2026-11")).total
    assert november == Figures(
        opening=opening,
        received=1,  # SS-0003, on 30 November
        released_term_end=1,  # SS-0002, on 21 November
        released_revoked=1,  # SS-0001, on 10 November
        on_register=opening - 1,
    )
    december = load(engine, month_span("2026-12")).total
    assert december.opening == november.on_register and december.released_death == 1
    central = load(engine, month_span("2026-11"), zone="central")
    assert set(central.groups["zone"]) == {"central"}


def test_the_cli_prints_the_table_and_json(engine: Engine) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["stats", "--month", "2026-11", "--by", "type"])
    assert shown.exit_code == 0, shown.output
    assert "Total" in shown.output and "probation" in shown.output  # labels wrap at 80
    asked = runner.invoke(app, ["stats", "--on", "2026-11-29", "--json"])
    figures = json.loads(asked.output)
    assert (figures["period"], figures["on"]) == ("2026-11", "2026-11-29")
    assert figures["total"]["on_register"] == direct(engine, date(2026, 11, 29))
    assert figures["total"]["released_revoked"] == 1
    assert {g["key"] for g in figures["by"]["zone"]} == {"east", "central", "west"}
    bad = runner.invoke(app, ["stats", "--month", "2026-11", "--on", "2026-12-01"])
    assert bad.exit_code == 2 and "not in 2026-11" in bad.output

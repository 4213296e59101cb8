"""Register statistics from plain rows: the month and year edges, and flows that check the
stock (opening + received - released = on register)."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.labels import zh_names
from models.localtime import month_span, year_span
from models.reference import CorrectionType, EndReason, Zone
from register.stats import END_REASONS, Figures, Term, count, on_register, period

NOV, DEC = month_span("2026-11"), month_span("2026-12")


def term(n: int, starts: date, last: date, reason: str = "term_end", **over: str) -> Term:
    return Term(
        f"SS-{n:04d}",
        over.get("office", "caiyuan"),
        over.get("zone", "central"),
        over.get("kind", "probation"),
        starts,
        last,
        reason,
    )


def test_intake_on_the_last_day_of_a_month_is_received_and_on_register_that_month() -> None:
    t = [term(1, date(2026, 11, 30), date(2027, 6, 30))]
    assert count(t, NOV).total == Figures(received=1, on_register=1)
    assert count(t, DEC).total == Figures(opening=1, on_register=1)


def test_a_release_on_the_first_of_a_month_belongs_to_that_month() -> None:
    """Released on 1 December: the last day supervised is 30 November."""
    t = [term(1, date(2026, 1, 5), date(2026, 11, 30), "revoked")]
    assert count(t, NOV).total == Figures(opening=1, on_register=1)
    assert count(t, DEC).total == Figures(opening=1, released_revoked=1)
    assert count(t, DEC).total.released == 1


def test_a_term_that_ran_out_is_released_by_term_end_the_day_after() -> None:
    t = [term(1, date(2025, 12, 1), date(2026, 11, 15))]
    assert count(t, NOV).total == Figures(opening=1, released_term_end=1)
    assert on_register(t, date(2026, 11, 15)) == 1 and on_register(t, date(2026, 11, 16)) == 0


def test_a_year_and_a_day_within_it() -> None:
    terms = [
        term(1, date(2025, 6, 1), date(2026, 3, 31)),  # on at the start, term ends 1 April
        term(2, date(2026, 2, 10), date(2027, 2, 9), kind="parole", zone="east", office="gouqi"),
        term(3, date(2026, 5, 1), date(2026, 8, 19), "death"),
        term(4, date(2026, 12, 31), date(2028, 1, 1), kind="control"),
        term(5, date(2027, 1, 1), date(2028, 1, 1)),  # next year
        term(6, date(2026, 4, 1), date(2026, 3, 31), "other"),  # withdrawn before intake
    ]
    year = count(terms, year_span("2026"))
    assert year.total == Figures(
        opening=1, received=3, released_term_end=1, released_death=1, on_register=2
    )
    assert list(year.groups["type"]) == ["probation", "parole", "control"]
    assert year.groups["zone"]["east"] == Figures(received=1, on_register=1)
    assert year.label("type", "parole") == "假释 parole"
    assert year.label("office", "gouqi") == "gouqi"  # no name given: the id
    so_far = count(terms, year_span("2026"), date(2026, 6, 30))  # "截至目前"
    assert so_far.total == Figures(opening=1, received=2, released_term_end=1, on_register=2)
    assert so_far.total.on_register == on_register(terms, date(2026, 6, 30))
    with pytest.raises(ValueError, match="not in 2026"):
        count(terms, year_span("2026"), date(2027, 1, 1))


days = st.dates(date(2025, 1, 1), date(2027, 12, 31))
terms_ = st.lists(
    st.builds(
        lambda n, starts, length, reason, kind, office: term(
            n, starts, starts + timedelta(days=length), reason, kind=kind, office=office
        ),
        st.integers(1, 9999),
        days,
        st.integers(-3, 900),
        st.sampled_from(END_REASONS),
        st.sampled_from(["probation", "parole"]),
        st.sampled_from(["caiyuan", "gouqi", "huaniao"]),
    ),
    max_size=30,
)


@given(terms_, st.integers(2025, 2027), st.integers(0, 364))
def test_flows_check_the_stock_and_months_add_up_to_the_year(
    terms: list[Term], year: int, day: int
) -> None:
    span = year_span(str(year))
    on = min(span.first + timedelta(days=day), span.last)
    stats = count(terms, span, on)
    t = stats.total
    assert t.opening + t.received - t.released == t.on_register == on_register(terms, on)
    for by, groups in stats.groups.items():  # the breakdowns add up to the total
        assert [sum(f.cells()[i] for f in groups.values()) for i in range(8)] == t.cells(), by
    months = [count(terms, month_span(f"{year}-{m:02d}")).total for m in range(1, 13)]
    whole = count(terms, span).total
    assert sum(m.received for m in months) == whole.received
    assert sum(m.released for m in months) == whole.released
    assert months[0].opening == whole.opening and months[-1].on_register == whole.on_register


def test_the_period_asked_for() -> None:
    today = date(2026, 11, 20)
    assert period(today=today) == (NOV, today)  # this month, up to today
    assert period("2026-10", today=today) == (month_span("2026-10"), date(2026, 10, 31))
    assert period(year="2022", on=date(2022, 11, 10), today=today)[1] == date(2022, 11, 10)
    assert period(on=date(2022, 12, 31), today=today)[0].key == "2022-12"
    for bad in ({"month": "2026-13"}, {"year": "26"}, {"month": "2026-11", "year": "2026"}):
        with pytest.raises(ValueError):
            period(**bad, today=today)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        period("2026-11", on=date(2026, 12, 1), today=today)


def test_every_register_value_has_a_label_and_a_column() -> None:
    assert list(END_REASONS) == [r.value for r in EndReason] == list(zh_names("end_reason"))
    assert {f.name for f in fields(Figures)} >= {f"released_{r}" for r in END_REASONS}
    assert set(zh_names("correction_type")) == {t.value for t in CorrectionType}
    assert set(zh_names("zone")) == {z.value for z in Zone}

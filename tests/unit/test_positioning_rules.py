"""The law's limits on e-positioning approvals (Community Correction Law art. 29), pure: at
most three months, each extension at most three months more from the day after, within the
subject's term, never two in force on one day."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from ccwatch.reference import shengsi
from ccwatch.seed import _positioning
from models.localtime import Span
from register.positioning_rules import approval_refusal, extension_refusal, longest

TERM = Span("SS-0007", date(2026, 1, 1), date(2028, 12, 31))
NOVEMBER = Span("a-1", date(2026, 11, 1), date(2027, 1, 31))


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 11, 1), date(2027, 1, 31)),
        (date(2026, 12, 31), date(2027, 3, 30)),
        (date(2026, 11, 30), date(2027, 2, 27)),  # no 30 February: before its last day
        (date(2027, 3, 1), date(2027, 5, 31)),
        (date(2027, 10, 15), date(2028, 1, 14)),
    ],
)
def test_three_months_end_the_day_before_the_same_date(first: date, last: date) -> None:
    assert longest(first) == last


def test_an_approval_of_three_months_within_the_term_is_allowed() -> None:
    assert approval_refusal(TERM, NOVEMBER, []) is None
    assert approval_refusal(TERM, Span("a-2", date(2026, 11, 1), date(2026, 11, 1)), []) is None


@pytest.mark.parametrize(
    ("days", "why"),
    [
        (Span("a-2", date(2026, 11, 1), date(2027, 2, 1)), "3 months at most: until 2027-01-31"),
        (Span("a-2", date(2026, 11, 2), date(2026, 11, 1)), "the end is before the start"),
        (Span("a-2", date(2025, 12, 1), date(2026, 1, 31)), "outside the subject's supervision"),
        (Span("a-2", date(2028, 12, 1), date(2029, 1, 31)), "outside the subject's supervision"),
    ],
)
def test_refusals_say_why(days: Span, why: str) -> None:
    refused = approval_refusal(TERM, days, [])
    assert refused is not None and why in refused[1] and refused[0]


def test_two_approvals_may_not_share_a_day() -> None:
    later = Span("a-2", date(2027, 1, 31), date(2027, 3, 31))
    refused = approval_refusal(TERM, later, [NOVEMBER])
    assert refused is not None and "overlaps approval a-1" in refused[1]
    after = Span("a-2", date(2027, 2, 1), date(2027, 3, 31))
    assert approval_refusal(TERM, after, [NOVEMBER]) is None


def test_an_extension_starts_the_day_after_and_runs_three_months_more() -> None:
    extension = Span("a-2", date(2027, 2, 1), date(2027, 4, 30))
    assert extension_refusal(TERM, NOVEMBER, extension, [NOVEMBER]) is None
    too_long = Span("a-2", date(2027, 2, 1), date(2027, 5, 1))
    refused = extension_refusal(TERM, NOVEMBER, too_long, [NOVEMBER])
    assert refused is not None and "until 2027-04-30" in refused[1]
    for first in (date(2027, 1, 31), date(2027, 2, 2)):  # overlapping, or leaving a gap
        refused = extension_refusal(TERM, NOVEMBER, Span("a-2", first, date(2027, 3, 1)), [])
        assert refused is not None and "the day after" in refused[1] and "2027-02-01" in refused[1]


def test_an_approval_extended_already_is_not_extended_twice() -> None:
    first = Span("a-2", date(2027, 2, 1), date(2027, 4, 30))
    again = Span("a-3", date(2027, 2, 1), date(2027, 2, 28))
    refused = extension_refusal(TERM, NOVEMBER, again, [NOVEMBER, first])
    assert refused is not None and "overlaps approval a-2" in refused[1]


def test_the_seeded_approvals_are_lawful() -> None:
    """The demo's chains: an approval from intake, then extensions to the term's last day."""
    for person in shengsi().subjects:
        term = Span(person.id, person.starts_on, person.ends_on)
        chain = [Span(a["id"], a["starts_on"], a["ends_on"]) for a in _positioning(person)]
        assert chain[0].first == term.first and chain[-1].last == term.last
        assert approval_refusal(term, chain[0], []) is None
        for n in range(1, len(chain)):
            assert extension_refusal(term, chain[n - 1], chain[n], chain[:n]) is None


def test_the_rules_load_no_database_code() -> None:
    code = (
        "import sys, register.positioning_rules; "
        "print(any(m.split('.')[0] == 'sqlalchemy' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

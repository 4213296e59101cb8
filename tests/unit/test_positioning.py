"""E-positioning needs an approval in force (Community Correction Law art. 29): a fix or a
device event dated without one is not judged (no alert, no track), not kept for the map and
not dead-lettered; when an approval ends, nothing judged on positions before carries on
after it (a dwell under way, the silence since the last fix), and open alerts stay open."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.track import Track
from models.events import RegisterChanged, Rejection, encode
from streams.pipeline import EMPTY_STATE
from tests.factories import INSIDE, OUTSIDE, T0, approved, checkin, fix, payload, registry
from tests.unit.test_detectors import EDGE_OUT, WHO, Scenario

M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
ALWAYS = ((-D, D),)


def scenario(*spans: tuple[timedelta, timedelta]) -> Scenario:
    return Scenario(registry(positioning={WHO: approved(*spans)}))


@pytest.mark.parametrize("spans", [(), ((-3 * D, -H),)], ids=["none", "expired"])
def test_a_fix_without_an_approval_is_not_judged(
    spans: tuple[tuple[timedelta, timedelta], ...],
) -> None:
    s = scenario(*spans)
    out = s.fix(M, OUTSIDE)
    assert out.unapproved and not out.judged and out.rejected is None and out.alerts == []
    s.fix(2 * M, OUTSIDE)
    s.tick(5 * H)
    assert s.alerts == []
    assert s.state().detection.track == Track()
    again = s.pipeline.apply_location(s.state(), fix(1, M, OUTSIDE, subject=WHO))
    assert again.duplicate  # applied once, like any record


def test_the_same_fix_under_an_approval_alerts() -> None:
    s = scenario(*ALWAYS)
    out = s.fix(M, OUTSIDE)
    assert out.judged and not out.unapproved and s.steps("out_of_bounds") == ["opened"]


def test_a_fix_without_an_approval_is_valid_but_not_kept_for_the_map() -> None:
    s = scenario()
    record = payload(fix(1, M, OUTSIDE, subject=WHO))
    assert not isinstance(s.pipeline.validate_location(record, WHO.encode()), Rejection)
    assert s.pipeline.validate_positions(record, WHO.encode()) == [
        Rejection("no_positioning_approval", "not kept: no e-positioning approval")
    ]
    kept = scenario(*ALWAYS).pipeline.validate_positions(record, b"SS-0007")
    assert isinstance(kept, list) and not isinstance(kept[0], Rejection)


@pytest.mark.parametrize(("until", "raised"), [(30 * M, []), (D, ["opened"])])
def test_no_signal_lost_after_the_approval_ended(until: timedelta, raised: list[str]) -> None:
    s = scenario((-D, until))
    s.fix(M, INSIDE)
    s.tick(4 * H)  # 2 h of silence passed at 2 h 1 min
    assert s.steps("signal_lost") == raised


@pytest.mark.parametrize(("until", "raised"), [(5 * M, []), (D, ["opened"])])
def test_a_dwell_under_way_ends_with_the_approval(until: timedelta, raised: list[str]) -> None:
    s = scenario((-D, until))
    s.fix(M, EDGE_OUT)  # clearly outside, not far: waits for the dwell time
    assert s.alerts == []
    s.tick(30 * M)
    assert s.steps("out_of_bounds") == raised


def test_no_phone_off_without_an_approval() -> None:
    s = scenario()
    assert s.device(M, "power_off").unapproved
    s.tick(5 * H)
    assert s.alerts == [] and s.state().detection.track == Track()


def test_a_new_approval_starts_afresh() -> None:
    """Silence is counted from the first fix under the new approval, not the old track."""
    s = scenario((-D, 30 * M), (3 * H, D))
    s.fix(M, INSIDE)
    s.tick(3 * H + M)
    assert s.alerts == [] and s.state().detection.track == Track()
    s.fix(4 * H, INSIDE)
    s.tick(6 * H - M)
    assert s.alerts == []
    s.tick(6 * H + M)
    assert s.steps("signal_lost") == ["opened"]


def test_an_open_alert_stays_open_when_the_approval_ends() -> None:
    s = scenario((-D, 30 * M))
    s.fix(M, OUTSIDE)
    s.fix(40 * M, INSIDE)  # back inside, but after the approval: not judged
    s.tick(5 * H)
    assert s.steps("out_of_bounds") == ["opened", "escalated"]  # nobody acknowledged it
    assert "out_of_bounds" in s.state().detection.book.open


def test_check_ins_are_judged_and_scored_without_an_approval() -> None:
    s = scenario()
    out = s.pipeline.apply_checkin(EMPTY_STATE, checkin(1, M, subject=WHO))
    assert out.judged and out.points


def test_a_register_change_in_the_locations_log_is_refused_whole_for_the_map() -> None:
    """So the map's sink waits for the change (a revoked approval) before the fixes behind
    it: a list of the record's fixes would have hidden it (found by the real-broker test
    of a revoked approval)."""
    change = RegisterChanged(event_id="rc-1", change="positioning.revoke", occurred_at=T0 + M)
    found = scenario().pipeline.validate_positions(encode(change), None)
    assert isinstance(found, Rejection)

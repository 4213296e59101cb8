"""An officer's action is requested, then accepted or rejected by the workers: the feed
reads the outcome from the alerts and dead-letter topics (no broker here)."""

from __future__ import annotations

import msgspec

from ccwatch.web.feed import ActionOutcome, AlertFeed
from models.events import AlertAction, AlertEvent, encode
from streams.topics import TopicNames
from tests.factories import T0

TOPICS = TopicNames("t")
FEED = AlertFeed("127.0.0.1:9", TOPICS)
ACTION = AlertAction(
    event_id="act-1", subject_id="SS-0001", alert_id="a-1", action="acknowledge",
    officer_id="cy", occurred_at=T0,
)  # fmt: skip
OPENED = AlertEvent(
    transition_id="t-1", alert_id="a-1", transition="opened", alert_type="out_of_bounds",
    severity="high", subject_id="SS-0001", office_id="caiyuan", zone="central",
    rule="out_of_bounds/2", evidence=["f-1"], occurred_at=T0, recorded_at=T0,
    reason_zh="越界", reason_en="out of bounds",
)  # fmt: skip


def test_a_transition_made_by_an_officer_accepts_their_action() -> None:
    done = msgspec.structs.replace(
        OPENED, transition="acknowledged", actor="cy", evidence=["act-1"], transition_id="t-2"
    )
    alert, outcome = FEED.items(TOPICS.alerts, encode(done), {})
    assert alert == done
    assert outcome == ActionOutcome("act-1", "a-1", "acknowledge", "cy", accepted=True)
    assert FEED.items(TOPICS.alerts, encode(OPENED), {}) == [OPENED]  # the system's own


def test_a_dead_lettered_action_is_rejected_with_the_workers_reason() -> None:
    headers = {
        "ccwatch.topic": TOPICS.actions.encode(),
        "ccwatch.reason": b"invalid_action",
        "ccwatch.detail": b"alert a-1 is already acknowledged",
    }
    [outcome] = FEED.items(TOPICS.dead_letter, encode(ACTION), headers)
    assert outcome == ActionOutcome(
        "act-1", "a-1", "acknowledge", "cy", accepted=False,
        reason="alert a-1 is already acknowledged",
    )  # fmt: skip
    other = headers | {"ccwatch.topic": TOPICS.locations.encode()}
    assert FEED.items(TOPICS.dead_letter, encode(ACTION), other) == []  # not an action

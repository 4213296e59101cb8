"""Metrics scraped from a running worker: names, labels, and no ids among the labels."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from ccwatch.broker import free_port
from tests.factories import checkin, payload
from tests.integration.harness import System
from tests.integration.test_detection import fix

PORT = free_port()
WORKER_SETTINGS = {"metrics_port": PORT, "tick_interval_s": 1.0}


def scrape() -> dict[str, list[dict[str, str]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5) as response:
        text = response.read().decode()
    out: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(dict(sample.labels))
    return out


def test_a_running_worker_serves_its_metrics(system: System) -> None:
    t = system.settings.topics
    now = datetime.now(UTC)
    system.send(t.checkins, b"SS-0002", payload(checkin(1, timedelta(0), subject="SS-0002")))
    system.send(t.locations, b"SS-0003", b"not json")
    system.send(
        t.locations, b"SS-0003", fix(1, "SS-0003", now - timedelta(minutes=5), (30.40, 122.30))
    )
    wanted = (
        "ccwatch_alerts_raised_total",
        "ccwatch_consumer_lag_records",
        "ccwatch_open_alerts",
        "ccwatch_points_entries_total",
    )
    got = system.wait_for(
        "the metrics", lambda: all(n in (m := scrape()) for n in wanted) and m, 60
    )
    assert {"topic": "checkins", "outcome": "ok", "reason": ""} in got[
        "ccwatch_events_consumed_total"
    ]
    assert {"topic": "locations", "outcome": "dead_lettered", "reason": "undecodable"} in got[
        "ccwatch_events_consumed_total"
    ]
    assert {"alert_type": "out_of_bounds", "severity": "high"} in got["ccwatch_alerts_raised_total"]
    assert {"rule": "checkin.on_time"} in got["ccwatch_points_entries_total"]
    for name in (
        "ccwatch_event_processing_seconds_bucket",
        "ccwatch_alert_latency_seconds_bucket",
        "ccwatch_sink_batch_records_bucket",
        "ccwatch_open_alerts",
        "ccwatch_alert_transitions_total",
    ):
        assert name in got, name
    assert {"alert_type": "out_of_bounds", "zone": "central"} in got["ccwatch_open_alerts"]
    inputs = {"checkins", "locations", "activities", "decisions", "alert-actions", "devices"}
    lagged = {s["topic"] for s in got["ccwatch_consumer_lag_records"]}
    assert lagged <= inputs | {"control"}, lagged  # not the tables' changelogs
    labels = {v for samples in got.values() for s in samples for v in s.values()}
    assert not [v for v in labels if v.startswith(("SS-", "O-", "fix-", "SS-0003-"))]
    assert all(n.startswith("ccwatch_") for n in got if not n.startswith(("python_", "process_")))

"""Prometheus metrics of a worker: one ``ccwatch_`` prefix, base units, ``_total`` counters,
and never a subject, officer or event id as a label (labels stay bounded)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from alerts.kinds import KINDS
from models.events import AlertTransition

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "ccwatch_events_consumed_total",
    "Input records consumed, by topic and outcome (ok, or dead-lettered with the reason).",
    ["topic", "outcome", "reason"],
    registry=REGISTRY,
)
LATE = Counter(
    "ccwatch_late_records_total",
    "Valid input records older than the event time their subject was already judged up to "
    "(beyond the lateness the watermark allows): applied as they come, so their effect may "
    "differ from in-order delivery.",
    ["topic"],
    registry=REGISTRY,
)
LATE_ARRIVALS = Counter(
    "ccwatch_late_arrivals_total",
    "Valid input records that reached Kafka (broker timestamp) later after their event "
    "time than their input's lateness bound (alerts/policy.toml [inputs]): they updated the "
    "track and the ledger but changed no alert.",
    ["topic"],
    registry=REGISTRY,
)
FORCED = Counter(
    "ccwatch_forced_releases_total",
    "Records applied before event time passed them because too many were held (one input "
    "far ahead of another): their order is no longer guaranteed.",
    registry=REGISTRY,
)
LATE_GROUP_FIXES = Counter(
    "ccwatch_late_group_fixes_total",
    "Co-offenders' fixes that reached their group after its event time had passed them: "
    "not judged for gathering.",
    registry=REGISTRY,
)
UNAPPROVED = Counter(
    "ccwatch_records_without_positioning_approval_total",
    "Fixes and device events dated when their subject had no e-positioning approval in force "
    "(Community Correction Law art. 29): not judged, not kept for the map, not dead-lettered.",
    ["topic"],
    registry=REGISTRY,
)
PROCESSING = Histogram(
    "ccwatch_event_processing_seconds",
    "Time to validate and decide one input record.",
    ["topic"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0),
    registry=REGISTRY,
)
ALERT_LATENCY = Histogram(
    "ccwatch_alert_latency_seconds",
    "From the event time of an alert's triggering evidence to its publication.",
    ["alert_type"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
ALERTS = Counter(
    "ccwatch_alerts_raised_total",
    "Alerts opened, by type and severity.",
    ["alert_type", "severity"],
    registry=REGISTRY,
)
TRANSITIONS = Counter(
    "ccwatch_alert_transitions_total",
    "Alert lifecycle steps published, by type and transition.",
    ["alert_type", "transition"],
    registry=REGISTRY,
)
SLA_BREACHES = Counter(
    "ccwatch_alert_sla_breaches_total",
    "Alerts escalated because nobody acknowledged them within their SLA.",
    ["alert_type"],
    registry=REGISTRY,
)
OPEN_ALERTS = Gauge(
    "ccwatch_open_alerts",
    "Alerts not resolved, by type and zone (from the database: aggregate with max).",
    ["alert_type", "zone"],
    registry=REGISTRY,
)
POINTS = Counter(
    "ccwatch_points_entries_total",
    "Points entries published, by rule.",
    ["rule"],
    registry=REGISTRY,
)
SINK_BATCH = Histogram(
    "ccwatch_sink_batch_records",
    "Records per database write, by sink.",
    ["sink"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000),
    registry=REGISTRY,
)
SINK_FAILURES = Counter(
    "ccwatch_sink_failures_total",
    "Failed database writes (retried), by sink.",
    ["sink"],
    registry=REGISTRY,
)
SINK_LAST_SUCCESS = Gauge(
    "ccwatch_sink_last_success_timestamp_seconds",
    "When a sink last wrote a batch (Unix time): a stuck sink stops moving it.",
    ["sink"],
    registry=REGISTRY,
)
POISON_ROWS = Counter(
    "ccwatch_poison_rows_total",
    "Output records the database permanently rejected: set aside with the reason, the "
    "batch went on.",
    ["sink"],
    registry=REGISTRY,
)
TIMER_FAILURES = Counter(
    "ccwatch_timer_failures_total",
    "Failed runs of a worker's timers (logged, retried at the next interval).",
    ["timer"],
    registry=REGISTRY,
)
COMMIT_HOLES = Counter(
    "ccwatch_commit_holes_total",
    "Input partitions read again from a record that was never acknowledged while later "
    "ones were (a record the consumer dropped without delivering it).",
    ["topic"],
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "ccwatch_duplicate_records_total",
    "Input records whose event id and content were already applied for their subject "
    "(retries and redeliveries): ignored.",
    ["topic"],
    registry=REGISTRY,
)
TERMINAL_LAST_RECORD = Gauge(
    "ccwatch_terminal_last_record_timestamp_seconds",
    "When a self-service terminal (kiosk) last sent a valid record (Unix time); phones "
    "are per subject and not labelled.",
    ["terminal"],
    registry=REGISTRY,
)
LAG = Gauge(
    "ccwatch_consumer_lag_records",
    "Records between this worker's position and the partition's high watermark.",
    ["topic", "partition"],
    registry=REGISTRY,
)


# Label values known before any record arrives: the sinks' write functions (streams/outputs.py)
# and the timers' names (streams/timers.py, ticks.py, watchdog.py); tests/unit/test_metrics.py
# checks them against a built worker.
SINKS = ("write_alerts", "write_points", "write_recommendations", "write_positions")
POSITIONING = ("locations", "devices")  # the inputs that need an e-positioning approval
TIMERS = (
    "refresh-registry",
    "zero-reports",
    "gauges",
    "ticks",
    "month-close",
    "broker-watch",
    "commit-holes",
)


_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Counter | Gauge | Histogram, *labels: str) -> Any:
    """A metric's child for these label values, looked up once: ``labels()`` takes a lock
    and checks its values on every call (a few microseconds on every fix)."""
    key = (id(metric), labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*labels)
    return found


def start_at_zero(topics: Iterable[str], rules: Iterable[str] = ()) -> None:
    """Create every labelled counter and histogram child known up front at 0, so that
    dashboards show 0 rather than "No data" and ``increase()`` sees a first event.

    ``topics``: the input topics' short names; ``rules``: the points rule ids. Dead-letter
    reasons, zones and partitions appear with their first sample; gauges are not touched
    (a 0 there would be a false reading).
    """
    for topic in topics:
        EVENTS.labels(topic, "ok", "")
        LATE.labels(topic)
        LATE_ARRIVALS.labels(topic)
        DUPLICATES.labels(topic)
        COMMIT_HOLES.labels(topic)
        PROCESSING.labels(topic)
    for alert_type, kind in KINDS.items():
        ALERTS.labels(alert_type, kind.severity)
        ALERT_LATENCY.labels(alert_type)
        SLA_BREACHES.labels(alert_type)
        for transition in get_args(AlertTransition):
            TRANSITIONS.labels(alert_type, transition)
    for topic in POSITIONING:
        UNAPPROVED.labels(topic)
    for rule in rules:
        POINTS.labels(rule)
    for sink in SINKS:
        SINK_BATCH.labels(sink)
        SINK_FAILURES.labels(sink)
        POISON_ROWS.labels(sink)
    for timer in TIMERS:
        TIMER_FAILURES.labels(timer)


def serve(host: str, port: int) -> None:
    """Serve ``/metrics`` from a background thread (the worker's and the web app's)."""
    start_http_server(port, addr=host, registry=REGISTRY)

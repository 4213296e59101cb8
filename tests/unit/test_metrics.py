"""Labelled counters and histograms start at 0 (panels show 0, not "No data"), and the label
values known up front match what the worker registers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import pytest
from prometheus_client import generate_latest

from alerts.kinds import KINDS
from alerts.policy import INPUTS
from ccwatch.seed import seed
from ccwatch.settings import Settings
from models.db import make_engine, migrate
from streams import metrics, outputs
from streams.app import build_worker


def exposition() -> str:
    return generate_latest(metrics.REGISTRY).decode()


def test_known_label_values_are_exposed_at_zero() -> None:
    metrics.start_at_zero(INPUTS, ["checkin.on_time"])
    text = exposition()
    for topic in INPUTS:
        assert f'ccwatch_events_consumed_total{{outcome="ok",reason="",topic="{topic}"}}' in text
        assert f'ccwatch_duplicate_records_total{{topic="{topic}"}}' in text
        assert f'ccwatch_late_records_total{{topic="{topic}"}}' in text
        assert f'ccwatch_event_processing_seconds_count{{topic="{topic}"}}' in text
    for alert_type, kind in KINDS.items():
        assert (
            f'ccwatch_alerts_raised_total{{alert_type="{alert_type}",severity="{kind.severity}"}}'
            in text
        )
        assert f'ccwatch_alert_sla_breaches_total{{alert_type="{alert_type}"}}' in text
        assert (
            f'ccwatch_alert_transitions_total{{alert_type="{alert_type}",transition="opened"}}'
            in text
        )
    for sink in metrics.SINKS:
        for name in ("ccwatch_sink_failures_total", "ccwatch_poison_rows_total"):
            assert f'{name}{{sink="{sink}"}} ' in text  # 0, or what earlier tests counted
        assert f'ccwatch_sink_batch_records_count{{sink="{sink}"}} ' in text
    for timer in metrics.TIMERS:
        assert f'ccwatch_timer_failures_total{{timer="{timer}"}} ' in text
    assert 'ccwatch_points_entries_total{rule="checkin.on_time"}' in text


def test_gauges_are_not_set_to_a_false_zero() -> None:
    def gauge_samples() -> list[str]:
        gauges = ("ccwatch_sink_last_success", "ccwatch_terminal_last", "ccwatch_consumer_lag")
        return [line for line in exposition().splitlines() if line.startswith(gauges)]

    before = gauge_samples()
    metrics.start_at_zero(INPUTS)
    assert gauge_samples() == before


def test_the_known_sinks_and_timers_are_the_registered_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    timers: list[str] = []
    sinks: list[str] = []
    timer, sink = faust.App.timer, outputs._sink

    def record_timer(app: faust.App, *args: Any, name: str, **kwargs: Any) -> Any:
        timers.append(name)
        return timer(app, *args, name=name, **kwargs)

    def record_sink(w: Any, topic: str, read: Any, write: Any, **kwargs: Any) -> None:
        sinks.append(write.__name__)
        sink(w, topic, read, write, **kwargs)

    monkeypatch.setattr(faust.App, "timer", record_timer)
    monkeypatch.setattr(outputs, "_sink", record_sink)
    url = f"sqlite:///{tmp_path / 'ccwatch.db'}"
    migrate(url)
    seed(make_engine(url))
    build_worker(
        Settings(kafka_bootstrap="127.0.0.1:9", database_url=url, data_dir=tmp_path, metrics_port=0)
    )
    assert sorted(sinks) == sorted(metrics.SINKS)
    assert sorted(timers) == sorted(metrics.TIMERS)


def test_a_child_looked_up_once_is_the_metrics_own() -> None:
    """What the hot path counts (metrics.child) is what /metrics shows."""
    kept = metrics.child(metrics.EVENTS, "locations", "ok", "")
    assert kept is metrics.child(metrics.EVENTS, "locations", "ok", "")
    assert kept is metrics.EVENTS.labels("locations", "ok", "")

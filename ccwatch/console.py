"""Follow the output topics and render them on the console."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kafka import KafkaConsumer
from rich.console import Console

from models.events import AlertEvent, Rejection, decode
from models.localtime import local
from streams.topics import TopicNames


def render_alert(console: Console, alert: AlertEvent) -> None:
    style = "bold red" if alert.transition == "opened" else "green"
    console.print(
        f"[{style}]ALERT {alert.transition:<8}[/] {alert.alert_type} {alert.subject_id} "
        f"({alert.office_id}, {alert.zone}) at {local(alert.occurred_at):%Y-%m-%d %H:%M} "
        f"[dim]{alert.rule} evidence={alert.evidence[0][:8]}…[/]\n"
        f"    {alert.reason_zh} / {alert.reason_en}"
    )


def follow(
    bootstrap: str,
    topics: TopicNames,
    on_alert: Callable[[AlertEvent], None],
    on_dead_letter: Callable[[str, str, bytes | None], None],
    stop: threading.Event,
) -> None:
    """Read alerts and dead letters from the start until ``stop`` is set."""
    consumer = KafkaConsumer(
        topics.alerts,
        topics.dead_letter,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        client_id="ccwatch-console",
    )
    try:
        while not stop.is_set():
            for tp, records in consumer.poll(timeout_ms=200).items():
                for rec in records:
                    if tp.topic == topics.alerts:
                        alert = decode(rec.value, AlertEvent)
                        if not isinstance(alert, Rejection):
                            on_alert(alert)
                    else:
                        headers = {k: v.decode("utf-8", "replace") for k, v in rec.headers}
                        on_dead_letter(
                            headers.get("ccwatch.reason", "?"),
                            headers.get("ccwatch.detail", ""),
                            rec.key,
                        )
    finally:
        consumer.close()

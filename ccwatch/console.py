"""Follow the output topics and render them on the console."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer
from rich.console import Console
from rich.text import Text

from models.events import AlertEvent, Rejection, decode
from models.localtime import local
from streams.topics import TopicNames
from terminals.simulator import SimEvent

# The printers build Text from plain strings: records' and people's text is never read as
# rich markup (an officer's note "see [/x]" is printed as written).


def render_alert(console: Console, alert: AlertEvent) -> None:
    style = "bold red" if alert.transition == "opened" else "green"
    by = f" by {alert.actor}" if alert.actor != "system" else ""
    console.print(
        Text.assemble(
            (f"ALERT {alert.transition:<8}", style),
            f" {alert.alert_type} {alert.subject_id} ({alert.office_id}, {alert.zone}) at "
            f"{local(alert.occurred_at):%Y-%m-%d %H:%M}{by} ",
            (f"{alert.rule} evidence={alert.evidence[0][:8]}…", "dim"),
            f"\n    {alert.reason_zh} / {alert.reason_en}",
        )
    )


def render_dead_letter(console: Console, reason: str, detail: str, key: bytes | None) -> None:
    console.print(
        Text.assemble(("DEAD-LETTER", "yellow"), f" {reason}: {detail} ", (f"(key={key!r})", "dim"))
    )


def render_sent(console: Console, event: SimEvent) -> None:
    """A simulated record worth pointing out (its note says why)."""
    if event.note:
        console.print(
            Text(
                f"{local(event.occurred_at):%H:%M} sent {event.kind} of {event.key!r}: "
                f"{event.note}",
                style="dim",
            )
        )


def follow(
    bootstrap: str,
    topics: TopicNames,
    on_alert: Callable[[AlertEvent], None],
    on_dead_letter: Callable[[str, str, bytes | None], None],
    stop: threading.Event,
    on_error: Callable[[Exception], None] = lambda e: None,
) -> None:
    """Read alerts and dead letters from the start until ``stop`` is set. A record that
    cannot be shown goes to ``on_error``, and the next is read: one bad record never ends
    the console's output."""
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
                    try:
                        _show(rec, tp.topic == topics.alerts, on_alert, on_dead_letter)
                    except Exception as e:
                        on_error(e)
    finally:
        consumer.close()


def _show(
    rec: Any,
    is_alert: bool,
    on_alert: Callable[[AlertEvent], None],
    on_dead_letter: Callable[[str, str, bytes | None], None],
) -> None:
    if is_alert:
        alert = decode(rec.value, AlertEvent)
        if not isinstance(alert, Rejection):
            on_alert(alert)
        return
    headers = {k: v.decode("utf-8", "replace") for k, v in rec.headers}
    on_dead_letter(
        headers.get("ccwatch.reason", "?"),
        headers.get("ccwatch.detail", ""),
        rec.key,
    )

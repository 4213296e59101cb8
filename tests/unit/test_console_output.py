"""The console's printers show people's and records' text as it is: never read as rich markup
(an officer's note ``see [/x]`` once ended the alert printer for the rest of a run)."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from datetime import UTC, datetime

import pytest
from rich.console import Console

from ccwatch import console as live
from ccwatch.printing import cli_console
from ccwatch.processes import stop_on_signals
from models.events import AlertEvent, encode
from streams.topics import TopicNames
from terminals.simulator import SimEvent

HOSTILE = "see [/x] [bold]not bold[/bold] :smile:"
AT = datetime(2026, 11, 29, 5, tzinfo=UTC)


def alert(text: str = HOSTILE) -> AlertEvent:
    return AlertEvent(
        transition_id="t-1",
        alert_id="a-1",
        transition="acknowledged",
        alert_type="out_of_bounds",
        severity="high",
        subject_id=f"SS-0007 {text}",
        office_id=f"caiyuan {text}",
        zone=text,
        rule=f"out_of_bounds/2 {text}",
        evidence=[f"f-1 {text}"],
        occurred_at=AT,
        recorded_at=AT,
        reason_zh=f"越界 {text}",
        reason_en=f"out of bounds {text}",
        actor=f"O-caiyuan-1 {text}",
    )


def recording() -> Console:
    """A console that would read markup, to show the printers never give it any."""
    return Console(file=io.StringIO(), width=400, record=True)


def test_every_printer_prints_text_as_it_is() -> None:
    console = recording()
    live.render_alert(console, alert())
    live.render_dead_letter(console, f"bad_signature {HOSTILE}", HOSTILE, HOSTILE.encode())
    event = SimEvent("checkin", AT, HOSTILE.encode(), b"{}", note=HOSTILE)
    live.render_sent(console, event)
    text = console.export_text()
    assert text.count(HOSTILE) >= 9, text  # every field of the three printers
    assert "越界 " + HOSTILE in text and "not bold" in text


def test_the_cli_console_never_reads_markup_nor_emoji_codes() -> None:
    console = cli_console(file=io.StringIO())
    console.print(HOSTILE)
    console.print(f"[red]{HOSTILE}")
    assert console.file.getvalue().splitlines() == [HOSTILE, f"[red]{HOSTILE}"]  # type: ignore[attr-defined]


def test_the_cli_console_is_wide_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    piped = cli_console(file=io.StringIO())
    assert not piped.is_terminal and piped.width > 200


def test_a_printer_that_fails_does_not_end_the_follower(monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()

    class Record:
        topic, key = "ccwatch.alerts", b"SS-0007"

        def __init__(self, value: bytes) -> None:
            self.value = value
            self.headers: list[tuple[str, bytes]] = []

    class FakeConsumer:
        """Two alerts, then nothing until stopped."""

        def __init__(self, *topics: str, **config: object) -> None:
            self.batches = [[Record(encode(alert("first")))], [Record(encode(alert("second")))]]

        def poll(self, timeout_ms: int) -> dict[object, list[Record]]:
            if not self.batches:
                stop.set()
                return {}
            return {Record: self.batches.pop(0)}

        def close(self) -> None:
            pass

    monkeypatch.setattr(live, "KafkaConsumer", FakeConsumer)
    seen: list[str] = []

    def on_alert(a: AlertEvent) -> None:
        seen.append(a.zone)
        if a.zone == "first":
            raise ValueError("a printer's bug")

    errors: list[Exception] = []
    live.follow(
        "unused:9092", TopicNames("ccwatch"), on_alert, lambda *a: None, stop, errors.append
    )
    assert seen == ["first", "second"]
    assert [str(e) for e in errors] == ["a printer's bug"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_as_ctrl_c_does(signum: int) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(KeyboardInterrupt), stop_on_signals():
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler interrupts it
    assert signal.getsignal(signum) == before

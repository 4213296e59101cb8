"""The processes ``ccwatch run`` starts, and how it stops them.

Its ports are checked before anything starts, so a run left over from before is named, not
met halfway. Each child runs in a session of its own, so a terminal's Ctrl-C reaches only
the run, which stops the children in order (the worker and the web app before the broker
they read from) on Ctrl-C, SIGTERM and SIGHUP alike.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

import psutil

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class PortTaken(RuntimeError):
    """A port the run needs is held by another process (the message names it)."""


def check_ports(host: str, ports: dict[str, int]) -> None:
    """PortTaken for the first of ``ports`` (setting name -> port; 0: not used) that another
    process holds on ``host``."""
    for setting, port in ports.items():
        if port and not _bindable(host, port):
            raise PortTaken(
                f"cannot start: {host}:{port} ({setting}) is in use by {holder(port)}. "
                "A `ccwatch run` from before may still be running: stop it, or set "
                f"{setting} to another port."
            )


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def holder(port: int) -> str:
    """The process listening on ``port``: its id and command line, as far as we may see."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                break
            try:
                command = " ".join(psutil.Process(conn.pid).cmdline()[1:])
            except psutil.Error:
                command = "?"
            return f"pid {conn.pid} ({command})"
    return "another process"


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the block as Ctrl-C does (KeyboardInterrupt)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Stopping is not itself interrupted by a second Ctrl-C or signal (it is bounded)."""
    signals = (signal.SIGINT, *STOP_SIGNALS)
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def stop_all(children: Sequence[subprocess.Popen[bytes] | None], timeout_s: float = 15) -> None:
    """SIGTERM to every child at once, then wait; one still running after ``timeout_s`` is
    killed."""
    running = [c for c in children if c is not None and c.poll() is None]
    for child in running:
        child.terminate()
    deadline = time.monotonic() + timeout_s
    for child in running:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

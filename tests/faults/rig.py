"""The moving parts a fault case drives: a PostgreSQL server that can be stopped or frozen,
worker processes kept running by a supervisor, and a terminal-side sender."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaProducer

from streams.topics import TopicNames
from tests.faults.inputs import Input
from tests.integration.harness import System
from tests.postgres import PostgresServer

PG_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class Postgres(PostgresServer):
    """The tests' throwaway server, which can also be stopped and started again on the same
    port and data, or frozen (SIGSTOP on the postmaster and every backend) and thawed."""

    frozen: list[int]

    def start(self) -> str:
        self.frozen = []
        return super().start()

    def _pg_ctl(self, *args: str) -> None:
        data = self.root / "data"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), *args)

    def halt(self) -> None:
        """Stop the server (connections are cut), keeping its data."""
        self._pg_ctl("-m", "fast", "-w", "stop")

    def resume(self) -> None:
        sock = self.root / "sock"
        opts = f"-h 127.0.0.1 -p {self.port} -k {sock} {PG_OPTIONS}"
        self._pg_ctl("-l", str(self.root / "log"), "-w", "-o", opts, "start")

    def running(self) -> bool:
        status = subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "status"],
            capture_output=True,
        )
        return status.returncode == 0

    def recover(self) -> None:
        """Running and not frozen again, whatever a fault left."""
        self.thaw()
        if not self.running():
            self.resume()

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, background workers)."""
        pid_file = self.root / "data" / "postmaster.pid"
        master = int(pid_file.read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                    children.append(int(stat.parent.name))
        return [master, *children]

    def freeze(self) -> None:
        self.frozen = self.pids()
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self.frozen):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def stop(self) -> None:
        self.thaw()
        super().stop()


@dataclass
class Slot:
    """One worker the supervisor keeps running (a restart keeps the slot)."""

    proc: subprocess.Popen[bytes]
    ready: Path
    killed: bool = False  # by the suite: a SIGKILL it injected, not an exit of the worker


@dataclass
class Exit:
    at: float  # monotonic
    code: int | None


class Supervisor:
    """Keeps ``n`` workers of a :class:`System` running, as a process supervisor would:
    a worker that exits (or that the suite kills) is started again after ``backoff_s``."""

    def __init__(self, system: System, n: int, backoff_s: float = 2.0) -> None:
        self.system, self.backoff_s = system, backoff_s
        self.slots: list[Slot] = []
        self.exits: list[Exit] = []  # exits the suite did not cause
        self.kills = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        for _ in range(n):
            self.slots.append(self._spawn())
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def _spawn(self) -> Slot:
        n = len(self.system.workers)
        # start_worker waits for readiness; with no wait it returns the running process.
        with contextlib.suppress(RuntimeError):
            self.system.start_worker(timeout_s=0)
        return Slot(self.system.workers[-1], self.system.workdir / f"ready-{n}")

    def wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if all(s.ready.exists() and s.proc.poll() is None for s in self.slots):
                    return True
            time.sleep(0.2)
        return False

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.3):
            for i, slot in enumerate(list(self.slots)):
                code = slot.proc.poll()
                if code is None:
                    continue
                if not slot.killed:
                    self.exits.append(Exit(time.monotonic(), code))
                    if self._stop.wait(self.backoff_s):
                        return
                with self._lock:
                    if self._stop.is_set():
                        return
                    self.slots[i] = self._spawn()

    def kill(self, i: int) -> None:
        """SIGKILL worker ``i``; the supervisor starts it again."""
        with self._lock:
            slot = self.slots[i]
            slot.killed = True
            with contextlib.suppress(ProcessLookupError):
                slot.proc.send_signal(signal.SIGKILL)
            self.kills += 1

    def stop(self, grace_s: float = 30.0) -> float:
        """SIGTERM every worker; the seconds the slowest took to exit (SIGKILL after
        ``grace_s``)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        with self._lock:
            procs = [s.proc for s in self.slots if s.proc.poll() is None]
            for slot in self.slots:
                slot.killed = True
        start = time.monotonic()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(max(grace_s - (time.monotonic() - start), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        took = time.monotonic() - start
        self.system.stop_workers()  # any process left from a failed start
        return took


def make_producer(bootstrap: str) -> KafkaProducer:
    """A terminal's producer that also sends the suite's 1 MB records."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        retries=10,
        max_request_size=8_000_000,
        request_timeout_ms=10_000,
        max_block_ms=10_000,
    )


@dataclass
class Sending:
    """Where each input landed: (topic, partition, offset), or None if its send failed."""

    placed: list[tuple[str, int, int] | None] = field(default_factory=list)
    failed: int = 0
    done_at: float | None = None  # monotonic


class Sender:
    """Sends the inputs in order, spread over ``duration_s`` by their event time, from a
    thread; the terminals' load while a fault happens."""

    def __init__(self, bootstrap: str, topics: TopicNames, inputs: list[Input]) -> None:
        self.bootstrap, self.topics, self.inputs = bootstrap, topics, inputs
        self.result = Sending()
        self._thread: threading.Thread | None = None
        self.abort = threading.Event()

    def start(self, duration_s: float) -> Sender:
        self._thread = threading.Thread(target=self._run, args=(duration_s,), daemon=True)
        self._thread.start()
        return self

    def join(self, timeout_s: float) -> Sending:
        if self._thread:
            self._thread.join(timeout_s)
        return self.result

    def _run(self, duration_s: float) -> None:
        try:
            self._send(duration_s)
        finally:  # every input has a place, None where it was not sent
            missing = len(self.inputs) - len(self.result.placed)
            self.result.placed += [None] * missing
            self.result.failed = sum(1 for p in self.result.placed if p is None)
            self.result.done_at = time.monotonic()

    def _send(self, duration_s: float) -> None:
        producer = make_producer(self.bootstrap)
        first, last = self.inputs[0].at, self.inputs[-1].at
        span = max((last - first).total_seconds(), 1.0)
        start = time.monotonic()
        futures = []
        for i in self.inputs:
            if self.abort.is_set():
                break
            due = start + (i.at - first).total_seconds() / span * duration_s
            if due - time.monotonic() > 0.05:
                producer.flush()
                time.sleep(max(due - time.monotonic(), 0.0))
            try:
                futures.append(
                    producer.send(
                        self.topics.of_kind(i.kind),
                        key=i.key,
                        value=i.value,
                        partition=i.partition,
                        # delivered at once, as a terminal does: its lateness does not
                        # depend on when the case runs (the fault-free run is earlier)
                        timestamp_ms=int(i.at.timestamp() * 1000),
                    )
                )
            except Exception:  # the broker is away: the record is not sent
                futures.append(None)
        with contextlib.suppress(Exception):
            producer.flush(30)
        for f in futures:
            try:
                meta = f.get(0) if f is not None else None
            except Exception:
                meta = None
            self.result.placed.append(
                (meta.topic, meta.partition, meta.offset) if meta is not None else None
            )
        with contextlib.suppress(Exception):
            producer.close(5)

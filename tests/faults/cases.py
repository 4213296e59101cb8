"""The fault cases and the run of one: its own broker, database and workers, the terminals'
load, the fault, the catch-up, and what it left compared with the fault-free run."""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from ccwatch.broker import EmbeddedBroker
from tests.conftest import fresh_postgres_db
from tests.faults.inputs import Input
from tests.faults.ledger import (
    Difference,
    Fates,
    Outcome,
    Snapshot,
    committed,
    compare,
    fates,
    output_ids,
    read_topic,
    snapshot,
)
from tests.faults.rig import Postgres, Sender, Sending, Supervisor
from tests.integration.harness import System
from tests.postgres import find_bindir

STOP_LIMIT_S = 10.0  # SIGTERM must end a worker within this


@dataclass
class Context:
    """What a fault acts on while the load runs."""

    case: Case
    supervisor: Supervisor
    broker: EmbeddedBroker
    postgres: Postgres | None
    sender: Sender
    rng: random.Random
    make_sender: Callable[[], Sender]
    topics_complete: bool = True  # False: the broker lost its records (memory storage)


@dataclass(frozen=True)
class Case:
    name: str
    inject: Callable[[Context], None]  # returns when the fault is over
    load_s: float  # the inputs are spread over this long
    workers: int = 1
    hostile: int = 0  # hostile records mixed into the inputs
    exits_allowed: bool = False  # the worker may exit (cleanly) and be restarted
    postgres: bool = False  # the case stops or freezes PostgreSQL
    settle_timeout_s: float = 60.0
    seed: int = 1
    settings: dict[str, Any] = field(default_factory=dict)  # the workers' own (harness.System)


@dataclass
class Result:
    case: str
    inputs: int
    fates: Fates
    diff: Difference
    exits: list[int | None]
    kills: int
    catch_up_s: float | None
    stop_s: float
    send_failures: int
    exits_allowed: bool
    workdir: Path
    took_s: float = 0.0  # the whole run, wall clock
    lost_where: list[str] = field(default_factory=list)
    # hostile records not dead-lettered, by what is wrong with them and their fate
    hostile_missed: Counter[str] = field(default_factory=Counter)

    @property
    def lost(self) -> int:
        return self.fates.count("lost") + sum(self.diff.lost.values())

    @property
    def duplicated(self) -> int:
        return sum(self.diff.extra.values())

    @property
    def differing(self) -> int:
        return sum(self.diff.differing.values())

    @property
    def passed(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.differing == 0
            and (self.exits_allowed or not self.exits)
            and self.catch_up_s is not None
            and self.stop_s <= STOP_LIMIT_S
        )


# Faults ---------------------------------------------------------------------------------


def no_fault(ctx: Context) -> None:
    ctx.sender.join(ctx.case.load_s + 60)


def sigkills(kills: int, gap_s: tuple[float, float]) -> Callable[[Context], None]:
    """SIGKILL a random worker ``kills`` times, a random while apart; each is restarted."""

    def inject(ctx: Context) -> None:
        for _ in range(kills):
            time.sleep(ctx.rng.uniform(*gap_s))
            ctx.supervisor.kill(ctx.rng.randrange(len(ctx.supervisor.slots)))

    return inject


def postgres_down(lead_s: float, down_s: float, freeze: bool) -> Callable[[Context], None]:
    """PostgreSQL stopped (connections refused) or frozen (connections hang) for a while."""

    def inject(ctx: Context) -> None:
        assert ctx.postgres is not None
        time.sleep(lead_s)
        if freeze:
            ctx.postgres.freeze()
            time.sleep(down_s)
            ctx.postgres.thaw()
        else:
            ctx.postgres.halt()
            time.sleep(down_s)
            ctx.postgres.resume()

    return inject


def broker_restart(lead_s: float, down_s: float, resend_s: float) -> Callable[[Context], None]:
    """The broker stopped and started again on its port. The embedded broker keeps its data
    in memory, so the restart loses every topic, offset and changelog (Kafka would keep
    them): the terminals then send all their records again (same event ids), and the run
    must end as the fault-free one did. The broker stays down longer than the workers'
    ``broker_lost_s``, so they leave (status 69) and start again on the empty broker with
    empty tables; a broker back empty before a worker notices is a known gap on tansu
    (docs/runbook.md, Broker restarted)."""

    def inject(ctx: Context) -> None:
        time.sleep(lead_s)
        ctx.broker.stop()
        time.sleep(down_s)
        ctx.broker.start()
        ctx.sender.abort.set()
        ctx.sender.join(60)
        ctx.sender = ctx.make_sender().start(resend_s)
        ctx.topics_complete = False
        ctx.sender.join(resend_s + 60)

    return inject


def suite_cases(short: bool) -> list[Case]:
    """The cases: the long version (``./dev faults``) or the short one (CI)."""
    if short:
        return [
            Case("SIGKILL x3, 2 workers", sigkills(3, (2.0, 3.0)), load_s=9, workers=2),
            Case("PostgreSQL stopped 8 s", postgres_down(2, 8, freeze=False), 10, postgres=True),
            Case("PostgreSQL frozen 8 s", postgres_down(2, 8, freeze=True), 10, postgres=True),
            Case(
                "broker restarted (empty)",
                broker_restart(3, 6, 4),
                load_s=8,
                exits_allowed=True,
                settings={"broker_lost_s": 3.0},
            ),
            Case("300 hostile records", no_fault, load_s=6, hostile=300),
        ]
    return [
        Case("no fault, 2 workers (control)", no_fault, load_s=60, workers=2),
        Case(
            "SIGKILL x20, 2 workers",
            sigkills(20, (2.0, 10.0)),
            load_s=130,
            workers=2,
            settle_timeout_s=180,
        ),
        Case(
            "PostgreSQL stopped 60 s",
            postgres_down(10, 60, freeze=False),
            load_s=90,
            postgres=True,
            settle_timeout_s=180,
        ),
        Case(
            "PostgreSQL frozen 60 s",
            postgres_down(10, 60, freeze=True),
            load_s=90,
            postgres=True,
            settle_timeout_s=180,
        ),
        Case(
            "broker restarted (empty)",
            broker_restart(20, 15, 30),
            load_s=60,
            exits_allowed=True,
            settle_timeout_s=180,
            settings={"broker_lost_s": 10.0},
        ),
        Case(
            "10,000 hostile records",
            no_fault,
            load_s=60,
            hostile=10_000,
            settle_timeout_s=300,
        ),
    ]


# Running a case -------------------------------------------------------------------------


class Databases:
    """One PostgreSQL server for the runs, a new database for each (cases that stop or
    freeze it run one at a time); SQLite where the machine has no PostgreSQL binaries."""

    def __init__(self) -> None:
        bindir = find_bindir()
        self.server = Postgres(bindir) if bindir else None
        self.url = self.server.start() if self.server else ""

    def database(self, workdir: Path) -> str:
        if self.server is None:
            return f"sqlite:///{workdir / 'ccwatch.db'}"
        self.server.recover()
        return fresh_postgres_db(self.url)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def run_case(
    case: Case,
    inputs: list[Input],
    databases: Databases,
    workdir: Path,
    want: Outcome | None = None,
    expected: list[str] | None = None,
    backlog: bool = False,
) -> tuple[Outcome, Result]:
    """One run of ``inputs`` under ``case``'s fault. ``want``: the fault-free outcome to
    compare with and wait for (None: this is the fault-free run). ``backlog``: send every
    input before the workers start (the fault-free run)."""
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    broker = EmbeddedBroker(log_path=workdir / "broker.log").start()
    url = databases.database(workdir)
    private = databases.server if case.postgres else None
    system: System | None = None
    supervisor: Supervisor | None = None
    sender: Sender | None = None
    stop_s, catch_up = 0.0, None
    try:
        system = System(broker.bootstrap, url, workdir, **case.settings)
        topics = system.settings.topics

        def make_sender() -> Sender:
            return Sender(broker.bootstrap, topics, inputs)

        if backlog:
            sender = make_sender().start(0)
            sender.join(300)
        supervisor = Supervisor(system, case.workers)
        if not supervisor.wait_ready(120):
            raise RuntimeError(f"{case.name}: workers did not start; see {workdir}")
        supervisor.start()
        sender = sender or make_sender().start(case.load_s)
        ctx = Context(
            case, supervisor, broker, private, sender, random.Random(case.seed), make_sender
        )
        case.inject(ctx)
        fault_end = time.monotonic()
        sending = ctx.sender.join(case.load_s + 120)
        began = max(fault_end, sending.done_at or fault_end)
        # Live workers tick on; the suite's workers do not (their ticks would follow the
        # wall clock): the last ticks are sent again while it settles, so a record held
        # when they first came (an input still behind) is released as it would be live.
        ticks = [i for i in inputs if i.kind == "tick"]
        last = [i for i in ticks if i.at == ticks[-1].at] if ticks else []

        def tick_again() -> None:
            for i in last:
                system.producer.send(topics.control, value=i.value, partition=i.partition)
            system.producer.flush()

        done_at = settle(system, url, sending, want, case.settle_timeout_s, tick_again)
        catch_up = None if done_at is None else max(done_at - began, 0.0)
        stop_s = supervisor.stop()
        outcome = collect(system, url, sending)
        exits = [e.code for e in supervisor.exits]
        kills = supervisor.kills
        topics_complete = ctx.topics_complete
    finally:
        if supervisor is not None:
            supervisor.stop(5)
        if system is not None:
            system.close()
        broker.stop()
        if private is not None:
            private.recover()
    expected = expected or ["processed"] * len(inputs)
    diff = compare(want, outcome, expected, topics_complete) if want else Difference()
    result = Result(
        case.name,
        len(inputs),
        outcome.fates,
        diff,
        exits,
        kills,
        catch_up,
        stop_s,
        sending.failed,
        case.exits_allowed,
        workdir,
        time.monotonic() - started,
        outcome.lost_where(),
    )
    if result.passed:
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome, result


def _inputs_done(system: System, sending: Sending) -> bool:
    """The group committed past every input that was sent."""
    last: dict[tuple[str, int], int] = {}
    for p in sending.placed:
        if p is not None:
            last[p[0], p[1]] = max(last.get((p[0], p[1]), -1), p[2])
    offsets = committed(system.settings.kafka_bootstrap, system.settings.app_id, list(last))
    return all(offsets[tp] > n for tp, n in last.items())


def _rows(url: str) -> Snapshot | None:
    engine = create_engine(url, poolclass=NullPool, connect_args=_timeouts(url))
    try:
        return snapshot(engine)
    except Exception:  # the database is not back yet
        return None
    finally:
        engine.dispose()


def _timeouts(url: str) -> dict[str, object]:
    return {"connect_timeout": 5} if url.startswith("postgresql") else {}


def settle(
    system: System,
    url: str,
    sending: Sending,
    want: Outcome | None,
    timeout_s: float,
    tick_again: Callable[[], None] = lambda: None,
) -> float | None:
    """Wait until every input is committed and the database holds what the fault-free run
    left (or, without one or when it never will, until it has not changed for a while).
    Returns when that happened (monotonic), or None on timeout."""
    deadline = time.monotonic() + timeout_s
    quiet_s = 3.0 if want is None else 8.0
    previous, since = None, time.monotonic()
    while time.monotonic() < deadline:
        rows = _rows(url)
        if rows != previous:
            previous, since = rows, time.monotonic()
        done = False
        with contextlib.suppress(Exception):
            done = _inputs_done(system, sending)
        if rows is not None and done:
            if want is not None and rows == want.rows:
                return time.monotonic()
            if time.monotonic() - since >= quiet_s:
                return since
        with contextlib.suppress(Exception):  # the broker may be down meanwhile
            tick_again()
        time.sleep(1.0)
    return None


def collect(system: System, url: str, sending: Sending) -> Outcome:
    s = system.settings
    rows = _rows(url) or {}
    outputs = {
        name: output_ids(read_topic(s.kafka_bootstrap, getattr(s.topics, name), s.partitions), name)
        for name in ("alerts", "points", "recommendations")
    }
    dead = read_topic(s.kafka_bootstrap, s.topics.dead_letter, s.partitions)
    parts = sorted({(p[0], p[1]) for p in sending.placed if p is not None})
    offsets = committed(s.kafka_bootstrap, s.app_id, parts)
    return Outcome(rows, outputs, fates(sending.placed, dead, offsets), sending.placed, offsets)

"""Benchmark: one table comparing, on the same backlog in the same run, how fast a consumer
drains location fixes, from the transport's limit down to the ccwatch worker.

    .venv/bin/python bench/throughput.py [--fixes 200000] [--subjects 10000] [--partitions 4]
                                         [--batch 30] [--short]

One embedded broker (tansu, memory://) gets two backlogs of the same signed fixes: one fix per
record (contract v1) on one set of topics, and ``--batch`` fixes per record (v1.1,
``batch_of`` then ``sign``) on another. A subject's fixes are cut into uploads of ``--batch``,
so ``fixes / batch`` subjects (at most ``--subjects``) send; the single backlog is the same
fixes in the order they were taken, the batched one each upload in the order it was
complete. The fixes are inside the county and plausible, a minute apart and a few hundred
metres from one another, so each moves the position the detectors read and the worker
stores its subject's state for every fix (the state table's worst case). Each subject's
e-positioning is approved, so every fix is judged. They are dated a day ago, so each is a
late arrival (it updates the track and changes no alert).

Each row is measured in a process of its own, one after the other, each reading its backlog
from the beginning (no consumer group, or a fresh one):

1. ``raw aiokafka consumer`` (bench/drain.py): aiokafka's ``getmany`` on the single backlog,
   counting records and decoding nothing: what the transport delivers to one Python process.
2. ``no-op Faust agent`` (bench/drain.py): a faust-streaming app whose agent only iterates the
   stream, on the single backlog: the framework's floor. The ratio column divides every
   row's fixes/s by this row's.
3. ``ccwatch core alone``: ccwatch's own work on the single backlog in the benchmark's
   process, without Kafka: each record validated (decoded, signature, datum) and applied
   to its subject's state by the pure pipeline (every detector, the ledger), as the worker
   does. What the worker adds to this is the framework's and the state table's cost.
4. ``ccwatch worker, single``: ``ccwatch worker`` (every detector, the state table, sinks to
   its own copy of the SQLite database, metrics) on the single backlog.
5. ``ccwatch worker, batched``: the same on the batched backlog, counted in fixes (the
   worker's ``ccwatch_events_consumed_total{topic="locations",outcome="ok"}`` counts each fix
   of a batch), not records.

Rates run from the first record a process has to the last (start-up and the consumer
group's join are left out): in-process counters for rows 1-3, the worker's own /metrics
polled every 0.5 s for rows 4-5 (each scrape costs the worker about 10 ms of its one core;
polled every 0.1 s, scrapes took a tenth of it). Microseconds per fix are wall time per
fix in that one process. Peak RSS is the kernel's high-water mark of the consuming process
(VmHWM, read just before it is stopped; elsewhere than Linux, the largest RSS psutil
sampled). The
children run uvloop where it is installed, as the worker does. Under the table, the
worker's counters show what its fixes became (dead-lettered, duplicates, without
positioning approval: none are expected).

Prints a header naming the machine, the date and the backlog, then the table; asserts
nothing (speed is checked by benchmark scripts that print figures, never by timed unit
tests). ``--short`` (5,000 fixes, 500 subjects) runs in well under a minute, e.g. in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psutil
from drain import SESSION_TIMEOUT_S, STALL_S
from kafka import KafkaProducer
from population import add_subjects, approve_positioning  # bench/ is on the path as a script
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy.orm import Session

from alerts.clock import SystemClock
from ccwatch.broker import EmbeddedBroker, free_port
from ccwatch.keys import enrol_missing, keyring
from ccwatch.seed import seed
from ccwatch.settings import Settings
from models.db import make_engine, migrate
from models.events import LocationFix, batch_of, encode
from models.limits import MAX_BATCH_FIXES
from models.localtime import local
from models.signing import sign
from scoring.rules import load_ruleset
from streams.app import first_registry
from streams.pipeline import EMPTY_STATE, Pipeline, SubjectState
from streams.topics import ensure_topics

DEFAULTS = {"fixes": 200_000, "subjects": 10_000}
SHORT = {"fixes": 5_000, "subjects": 500}
EVERY = timedelta(seconds=60)  # between a subject's fixes: the jitter below stays plausible
POLL_S = 0.5
IN_COUNTY = (30.712, 122.451)  # Shengsi's main island
STARTED = time.monotonic()
T = TypeVar("T")


# --- the backlog ------------------------------------------------------------------------


def uploads(
    people: list[str], fixes: int, batch: int, rng: random.Random, now: datetime
) -> list[list[LocationFix]]:
    """``fixes`` unsigned fixes cut into uploads of ``batch`` (the last may be shorter): upload
    ``c`` is subject ``c % len(people)``'s ``c // len(people)``-th, a fix a minute, from a
    day ago (or earlier, so that the last is an hour old at least)."""
    span = math.ceil(fixes / batch / len(people)) * batch * EVERY
    start = now.replace(microsecond=0) - max(timedelta(days=1), span + timedelta(hours=1))
    out = []
    for c in range(math.ceil(fixes / batch)):
        who, first = people[c % len(people)], c // len(people) * batch
        out.append(
            [
                located(f"{who}-{n}", who, start + n * EVERY, rng)
                for n in range(first, first + min(batch, fixes - c * batch))
            ]
        )
    return out


def located(
    event_id: str,
    who: str,
    at: datetime,
    rng: random.Random,
    where: tuple[float, float] = IN_COUNTY,
) -> LocationFix:
    """An unsigned GPS fix of ``who``'s phone (``P-<who>``) at ``at``, within a few hundred
    metres of ``where`` (by default inside the county)."""
    return LocationFix(
        event_id=event_id,
        subject_id=who,
        device_id=f"P-{who}",
        occurred_at=at,
        lat=where[0] + rng.uniform(-0.003, 0.003),
        lon=where[1] + rng.uniform(-0.003, 0.003),
        accuracy_m=15.0,
        source="gps",
        battery_pct=80,
    )


def produce(bootstrap: str, topic: str, records: Iterable[tuple[str, bytes]]) -> int:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=50, batch_size=256 * 1024, acks=1
    )
    count = 0
    for key, value in records:
        producer.send(topic, key=key.encode(), value=value)
        count += 1
    producer.flush()
    producer.close()
    return count


# --- the parent: runs each row's process and reads its figures -------------------------


@dataclass
class Row:
    name: str
    backlog: str
    records: int  # in the backlog
    fixes: int  # counted from the first to the last (see the module's docstring)
    seconds: float
    peak_rss: int  # bytes
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.fixes / self.seconds if self.seconds > 0 else 0.0


def high_water(pid: int, sampled: int) -> int:
    """A running process's peak RSS in bytes: the kernel's high-water mark of its memory
    (Linux), else the largest RSS sampled. Not ``ru_maxrss`` from ``wait4``: that starts
    from the parent's own RSS, which the child shares until it execs."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return max(sampled, int(line.split()[1]) * 1024)
    return sampled


def spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with its output (both streams) in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def run(
    cmd: list[str], env: dict[str, str], log: Path, done: Callable[[], T | None], limit_s: float
) -> tuple[T, int]:
    """Start ``cmd``, wait until ``done()`` answers, stop it; the answer and its peak RSS."""
    proc = spawn(cmd, env, log)
    deadline, sampled, watched = time.monotonic() + limit_s, 0, psutil.Process(proc.pid)
    try:
        while (answer := done()) is None:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[1:3]} exited ({proc.returncode}): see {log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{cmd[1:3]} did not finish in {limit_s:.0f} s: see {log}")
            with contextlib.suppress(psutil.Error):
                sampled = max(sampled, watched.memory_info().rss)
            time.sleep(POLL_S)
        return answer, high_water(proc.pid, sampled)
    finally:  # drained: nothing it holds is needed, so no graceful stop
        proc.kill()
        proc.wait()


def in_process(
    kind: str, bootstrap: str, topic: str, partitions: int, records: int, work: Path
) -> tuple[dict[str, Any], int]:
    out = work / f"{kind}.json"
    drain = Path(__file__).with_name("drain.py")
    cmd = [sys.executable, str(drain), kind, "--bootstrap", bootstrap, "--topic", topic]
    cmd += ["--partitions", str(partitions), "--expect", str(records)]
    cmd += ["--out", str(out), "--datadir", str(work / f"{kind}-data")]

    def done() -> dict[str, Any] | None:
        return json.loads(out.read_text()) if out.exists() else None

    return run(cmd, dict(os.environ), work / f"{kind}.log", done, 120 + records / 500)


WORKER_COUNTS = {  # (sample name, outcome or None): what the worker made of the locations
    "ok": ("ccwatch_events_consumed_total", "ok"),
    "dead-lettered": ("ccwatch_events_consumed_total", "!ok"),
    "duplicates": ("ccwatch_duplicate_records_total", None),
    "unapproved": ("ccwatch_records_without_positioning_approval_total", None),
    "late arrivals": ("ccwatch_late_arrivals_total", None),
}


def samples(port: int) -> list[Sample] | None:
    """Every sample of a worker's /metrics, or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def worker_counts(port: int) -> dict[str, float] | None:
    """What a worker made of the fixes so far (:data:`WORKER_COUNTS`), from its /metrics."""
    got = samples(port)
    if got is None:
        return None
    counts = dict.fromkeys(WORKER_COUNTS, 0.0)
    for s in got:
        if s.labels.get("topic") != "locations":
            continue
        for what, (name, outcome) in WORKER_COUNTS.items():
            got_outcome = s.labels.get("outcome")
            if s.name == name and (
                outcome is None
                or got_outcome == outcome
                or (outcome == "!ok" and got_outcome != "ok")
            ):
                counts[what] += s.value
    return counts


@dataclass
class Watch:
    """Polls a worker's /metrics until every fix is accounted for (or nothing moves)."""

    port: int
    fixes: int
    first: tuple[float, float] | None = None  # (time, fixes applied) when first seen
    last: tuple[float, float] = (0.0, 0.0)
    counts: dict[str, float] = field(default_factory=dict)

    def __call__(self) -> bool | None:
        counts = worker_counts(self.port)
        if counts is None or counts["ok"] == 0:
            return None
        now, ok = time.perf_counter(), counts["ok"]
        if self.first is None:
            self.first = (now, ok)
        if ok > self.last[1]:
            self.last = (now, ok)
        self.counts = counts
        settled = counts["ok"] + counts["dead-lettered"] + counts["duplicates"]
        return True if settled >= self.fixes or now - self.last[0] > STALL_S else None


def worker_env(settings: Settings) -> dict[str, str]:
    """This process's environment with ``settings`` as ``CCWATCH_*`` variables."""
    return {**os.environ, **settings.environment()}


def ccwatch_worker(
    name: str, settings: Settings, fixes: int, records: int, backlog: str, work: Path
) -> Row:
    env = worker_env(settings)
    watch = Watch(settings.metrics_port, fixes)
    cmd = [sys.executable, "-m", "ccwatch", "worker"]
    _, peak = run(cmd, env, work / f"{name}.log", watch, 120 + fixes / 200)
    assert watch.first is not None
    row = Row(
        "ccwatch worker",
        backlog,
        records,
        int(watch.last[1] - watch.first[1]),
        watch.last[0] - watch.first[0],
        peak,
    )
    counts = {k: int(v) for k, v in watch.counts.items()}
    row.notes.append(", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if counts["ok"] + counts["dead-lettered"] + counts["duplicates"] < fixes:
        row.notes.append(f"stalled: {fixes - counts['ok']:,} fixes never applied")
    return row


def core_alone(url: str, work: Path, records: list[tuple[str, bytes]]) -> Row:
    """ccwatch's own work per fix, in this process and without Kafka: each record of the
    single backlog validated (decoded, signature, datum) and applied to its subject's
    state (every detector, the ledger), in the backlog's order, as the worker does."""
    engine = make_engine(url)
    clock = SystemClock()
    registry = first_registry(engine, work / "core-registry.json")
    pipeline = Pipeline(registry, load_ruleset(), clock, Settings().max_clock_skew_s)
    states: dict[str, SubjectState] = {}
    received = clock.now()  # the broker's timestamp the worker would see: a day late
    began = time.perf_counter()
    for key, value in records:
        fix = pipeline.validate_locations(value, key.encode())
        assert isinstance(fix, LocationFix), fix
        states[key] = pipeline.apply_location(states.get(key, EMPTY_STATE), fix, received).state
    seconds = time.perf_counter() - began
    engine.dispose()
    return Row("ccwatch core alone", "in-process", len(records), len(records), seconds, 0)


# --- the run ----------------------------------------------------------------------------


def table(rows: list[Row], floor: float) -> list[str]:
    head = (
        f"{'variant':<24} {'backlog':<12} {'records':>9} {'fixes timed':>11} {'seconds':>8} "
        f"{'fixes/s':>9} {'us/fix':>8} {'peak RSS MB':>11} {'x floor':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        us = 1e6 / r.rate if r.rate else math.inf
        rss = f"{r.peak_rss / 2**20:.0f}" if r.peak_rss else "-"  # (in-process: not its own)
        lines.append(
            f"{r.name:<24} {r.backlog:<12} {r.records:>9,} {r.fixes:>11,} {r.seconds:>8.2f} "
            f"{r.rate:>9,.0f} {us:>8.1f} {rss:>11} "
            f"{r.rate / floor if floor else math.nan:>8.2f}"
        )
    return lines


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fixes", type=int, help=f"default {DEFAULTS['fixes']:,}")
    parser.add_argument("--subjects", type=int, help=f"default {DEFAULTS['subjects']:,}")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--batch", type=int, default=30, help="fixes per batched record")
    parser.add_argument(
        "--short",
        action="store_true",
        help=f"small sizes: {SHORT['fixes']:,} fixes, "
        f"{SHORT['subjects']:,} subjects (unless given)",
    )
    parser.add_argument(
        "--producer-batch",
        type=int,
        default=1,
        help="CCWATCH_PRODUCER_MAX_BATCH_SIZE of the workers",
    )
    args = parser.parse_args()
    sizes = SHORT if args.short else DEFAULTS
    fixes: int = args.fixes or sizes["fixes"]
    registered: int = args.subjects or sizes["subjects"]
    if not 1 <= args.batch <= MAX_BATCH_FIXES:
        parser.error(f"--batch must be 1..{MAX_BATCH_FIXES}")
    began = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="ccwatch-bench-tp-"))
    say(f"working in {work}")

    url = f"sqlite:///{work / 'tp.db'}"
    migrate(url)
    engine = make_engine(url)
    seed(engine)
    rng = random.Random(3)
    people = [str(p["id"]) for p in add_subjects(engine, registered, rng)]
    with Session(engine) as session, session.begin():  # each phone signs its fixes
        enrol_missing(session, [(f"P-{who}", who) for who in people])
    keys = keyring(engine)
    sent = uploads(people, fixes, args.batch, rng, began)
    senders = sorted({u[0].subject_id for u in sent})
    first, today = local(sent[0][0].occurred_at).date(), local(began).date()
    approve_positioning(engine, senders, first - timedelta(days=1), today + timedelta(days=1))
    engine.dispose()
    say(f"database: {registered:,} subjects, keys enrolled, {len(senders):,} approved")

    broker = EmbeddedBroker(log_path=work / "tansu.log").start()
    try:
        settings = {}
        for backlog in ("single", "batched"):
            data = work / backlog
            data.mkdir()
            shutil.copy(work / "tp.db", data / "tp.db")  # each worker writes its own database
            settings[backlog] = Settings(
                kafka_bootstrap=broker.bootstrap,
                database_url=f"sqlite:///{data / 'tp.db'}",
                data_dir=data,
                partitions=args.partitions,
                topic_prefix=f"bench-{backlog}",
                app_id=f"bench-tp-{backlog}",
                session_timeout_s=SESSION_TIMEOUT_S,
                tick_interval_s=0,
                close_timer=False,
                metrics_port=free_port(),
                producer_max_batch_size=args.producer_batch,
            )
            ensure_topics(broker.bootstrap, settings[backlog].topics.all(), args.partitions)

        single_topic = settings["single"].topics.locations
        t0 = time.perf_counter()
        in_time_order = sorted(
            (f for u in sent for f in u), key=lambda f: (f.occurred_at, f.subject_id)
        )
        single_records = [(f.subject_id, encode(sign(f, keys[f.device_id]))) for f in in_time_order]
        singles = produce(broker.bootstrap, single_topic, single_records)
        say(f"produced {singles:,} single fixes in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        when_complete = sorted(sent, key=lambda u: (u[-1].occurred_at, u[0].subject_id))
        batches = produce(
            broker.bootstrap,
            settings["batched"].topics.locations,
            (
                (u[0].subject_id, encode(sign(batch_of(u), keys[u[0].device_id])))
                for u in when_complete
            ),
        )
        say(f"produced {batches:,} batches in {time.perf_counter() - t0:.1f} s")

        rows = []
        for kind, name in (("raw", "raw aiokafka consumer"), ("noop", "no-op Faust agent")):
            say(f"measuring: {name}")
            got, peak = in_process(
                kind, broker.bootstrap, single_topic, args.partitions, singles, work
            )
            row = Row(name, "single", singles, got["counted"], got["seconds"], peak)
            if got["records"] < singles:
                row.notes.append(f"stalled: got {got['records']:,} of {singles:,} records")
            rows.append(row)
        say("measuring: ccwatch core alone")
        rows.append(core_alone(url, work, single_records))
        for backlog, records in (("single", singles), ("batched", batches)):
            say(f"measuring: ccwatch worker, {backlog}")
            label = "single" if backlog == "single" else f"batched {args.batch}"
            rows.append(ccwatch_worker(backlog, settings[backlog], fixes, records, label, work))
    finally:
        broker.stop()

    floor = rows[1].rate
    print(
        f"bench/throughput.py, {began:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs "
        f"(os.cpu_count()), {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    print(
        f"backlog: {fixes:,} fixes from {len(senders):,} of {registered:,} subjects, "
        f"{args.partitions} partitions, one tansu broker (memory://); single: {singles:,} "
        f"records of one fix (v1); batched: {batches:,} records of up to {args.batch} "
        f"fixes (v1.1)"
    )
    print("x floor: fixes/s over the no-op Faust agent's on the single-fix backlog")
    print()
    for line in table(rows, floor):
        print(line)
    notes = [(r, n) for r in rows for n in r.notes]
    if notes:
        print()
    for r, n in notes:
        print(f"{r.name}, {r.backlog}: {n}")


if __name__ == "__main__":
    main()

"""Benchmark: whether ``ccwatch worker`` holds a fixed offered load of live fixes, and how
long an alert takes from the upload that carries its evidence to the alerts topic.

    .venv/bin/python bench/offered.py [--rate 11700 ...] [--minutes 5] [--workers 1]
                                      [--subjects N] [--find] [--short]

For each ``--rate`` (fixes/s, all subjects together) one run, each on a fresh tansu broker
(memory://) and a fresh SQLite database, with ``--workers`` ``ccwatch worker`` processes in
one consumer group (every detector, the state table, the sinks, metrics; ticks every
``--tick`` s, as in production: 30 s):

- **Population.** ``--subjects`` (default rate x 60: one fix a minute each, as the issue's
  700,000 subjects for 11,700 fixes/s) are registered with enrolled phone keys and
  e-positioning approvals, so every fix is judged. With fewer subjects each fix comes
  proportionally more often (a fix every subjects / rate seconds); the header says which.
- **Offered load.** A producer process offers the rate by the wall clock, not as fast as it
  can: each subject's phone records a fix every interval and uploads every 2-5 minutes
  (``--upload-minutes``, drawn per subject) what it recorded since its last upload, as one
  signed batch (contract v1.1), the newest fix 0.5-10 s old; the subjects' phases are
  spread evenly. Fixes are inside the county and move a few hundred metres each.
- **Alerts.** One subject in ``--alerting`` (1,000) is outside the county, far out (over
  5 km: it alerts at once): its phone sends nothing until a moment drawn evenly over the
  run, then its first upload opens an ``out_of_bounds`` alert, so alerts come throughout.

Columns (one row per run):

- ``offered`` / ``sent``: the rate asked for, and fixes the producer sent per second
  (below ``offered`` when the producer itself fell behind on this machine);
  ``fixes/upl``: mean fixes per upload (record).
- ``applied``: fixes the workers applied per second over the second half of the sending
  (their ``ccwatch_events_consumed_total{topic="locations"}``, plus duplicates; polled every
  second); ``growth``: the slope of the backlog (fixes sent less fixes applied, which
  counts records on the broker and records the worker holds for order) over that half;
  ``held``: yes when the backlog grew by less than 5% of the rate over the second half
  and every fix sent was applied within 15 s (or 5% of the sending time,
  if longer) after the last send: the backlog may rise in stalls, but does not grow.
- ``alerts``: ``opened`` out_of_bounds alerts read back from the alerts topic, of those
  expected (one per alerting subject whose first upload was sent).
- ``p50`` / ``p99`` / ``max``: event-to-alert latency in seconds, from the moment the
  producer sent the upload holding the alert's evidence fix to the alert record's broker
  timestamp (CreateTime: the worker's send) on the alerts topic. ``tick``: how many of the
  alerts were decided (their ``recorded_at``) within 1 s after a tick reached the control
  topic and more than 1 s after their upload: records held for event-time order that a
  tick released.
- ``fetch p50`` / ``fetch p99``: the transport's share. A bare aiokafka consumer with
  Faust's fetch settings (``fetch_max_wait_ms=1500``) reads the locations topic during the
  run: seconds from each record's CreateTime (its send) to its delivery. On tansu a fetch
  with nothing new waits out its whole max wait, so this is mostly fetch wait.
- ``us/fix``: the worker's own time to decide a fix and send its outputs (the mean of its
  ``ccwatch_event_processing_seconds{topic="locations"}``: wall time from a fix's release
  to its outputs sent, so it includes waits for the event loop and the CPU), not the
  framework's cost or the fetch. ``CPU %``: the workers' CPU time per second over the
  second half (100: one core busy); ``wait %``: the time they were ready to run but waited
  for a CPU then (Linux schedstat: other processes had the cores). CPU % plus wait % near
  100 per worker: the worker was CPU-bound; well below: it waited on I/O or the broker.
  ``RSS MB``: the largest worker's peak RSS (VmHWM).

Under the table: the workers needed for 11,700 fixes/s, ceil(11,700 / the highest rate
one worker held), from the runs printed only. ``--find`` runs the rates given in
ascending order and stops at the first not held. Asserts nothing. ``--short`` (200
fixes/s for 15 s, 12,000 subjects) finishes in well under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from drain import SESSION_TIMEOUT_S, write_json
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from population import add_subjects, approve_positioning  # bench/ is on the path as a script
from sqlalchemy.orm import Session
from throughput import high_water, located, samples, say, spawn, worker_env

from ccwatch.broker import EmbeddedBroker, free_port
from ccwatch.keys import enrol_missing, keyring
from ccwatch.seed import seed
from ccwatch.settings import Settings
from models.db import make_engine, migrate
from models.events import AlertEvent, Tick, batch_of, decode, decode_control, encode
from models.limits import MAX_BATCH_FIXES
from models.localtime import local
from models.signing import sign
from streams.topics import ensure_topics

TARGET = 11_700  # fixes/s: 700,000 subjects, a fix a minute (issue 15)
FAR_OUT = (30.400, 122.300)  # far outside the county (as tests/integration/test_recovery.py)
FETCH_MAX_WAIT_MS = 1500  # what faust-streaming gives its aiokafka consumer
SHORT = {"rate": 200.0, "minutes": 0.25}
HELD_GROWTH_SHARE = 0.05  # held: the backlog grew by less than this share of the rate...
HELD_DRAIN_S = 15.0  # ...and every fix was applied this long after the last send...
HELD_DRAIN_SHARE = 0.05  # ...or this share of the sending time, if longer
TICK_SPAN_S = 1.0


# --- the producer (a process of its own) ---------------------------------------------


@dataclass
class Spec:
    """What the producer process offers."""

    bootstrap: str
    topic: str
    database_url: str
    rate: float
    seconds: float
    upload_minutes: tuple[float, float]
    upload_fixes: tuple[int, int] | None  # instead of minutes: fixes per upload
    alerting: int  # one subject in this many alerts
    status: str  # where the producer reports (JSON)
    seed: int = 15


def offer(spec: Spec) -> None:
    """Send every subject's uploads at their times until ``spec.seconds`` have passed;
    report progress every second and, at the end, the send time of each alerting upload's
    fixes (by event id)."""
    rng = random.Random(spec.seed)
    engine = make_engine(spec.database_url)
    keys = keyring(engine)
    engine.dispose()
    people = sorted(device[2:] for device in keys if device.startswith("P-B-"))
    every = len(people) / spec.rate  # seconds between a subject's fixes
    period, size, delay, heap = [], [], [], []
    for i in range(len(people)):
        count = round(rng.uniform(*spec.upload_minutes) * 60 / every)
        if spec.upload_fixes:
            count = rng.randint(*spec.upload_fixes)
        size.append(min(max(count, 1), MAX_BATCH_FIXES))
        period.append(size[i] * every)
        delay.append(rng.uniform(0.5, min(10.0, every / 2)))
        first = rng.uniform(0.0, period[i])
        if i % spec.alerting == spec.alerting - 1:  # comes on far out, some time in the run
            first = rng.uniform(0.02, 0.9) * spec.seconds
        heap.append((first, i))
    start = time.time() + 0.5  # the keys read, the schedule drawn
    heap = [(start + first, i) for first, i in heap]
    heapq.heapify(heap)
    end = start + spec.seconds
    producer = KafkaProducer(
        bootstrap_servers=spec.bootstrap, linger_ms=5, batch_size=256 * 1024, acks=1
    )
    uploaded = [0] * len(people)
    fixes_sent, records_sent, behind = 0, 0, 0.0
    evidence: dict[str, float] = {}
    reported = time.time()

    def progress(done: bool) -> dict[str, Any]:
        got = {"fixes": fixes_sent, "records": records_sent, "behind_s": behind}
        got |= {"start": start, "done": done}
        return got | {"evidence": evidence, "ended": time.time()} if done else got

    while heap and heap[0][0] < end:
        at, i = heap[0]
        now = time.time()
        if now - reported >= 1.0:
            write_json(Path(spec.status), progress(False))
            reported = now
        if at > now:
            time.sleep(min(at - now, 0.01))
            continue
        heapq.heapreplace(heap, (at + period[i], i))
        who, n, alerting = people[i], uploaded[i], i % spec.alerting == spec.alerting - 1
        uploaded[i] += 1
        where = FAR_OUT if alerting else (30.712, 122.451)
        last = at - delay[i]
        fixes = [
            located(
                f"{who}-{n}-{j}",
                who,
                datetime.fromtimestamp(last - (size[i] - 1 - j) * every, UTC),
                rng,
                where,
            )
            for j in range(size[i])
        ]
        value = encode(sign(batch_of(fixes), keys[f"P-{who}"]))
        sent_at = time.time()
        producer.send(spec.topic, key=who.encode(), value=value)
        if alerting:
            evidence.update((f.event_id, sent_at) for f in fixes)
        fixes_sent, records_sent = fixes_sent + len(fixes), records_sent + 1
        behind = max(behind, sent_at - at)
    producer.flush()
    producer.close()
    write_json(Path(spec.status), progress(True))


# --- the fetch probe (a process of its own) ------------------------------------------


async def probe(bootstrap: str, topic: str, partitions: int, out: Path) -> None:
    """Read ``topic`` with Faust's fetch settings until ``out.stop`` exists: the delays from
    each record's CreateTime to its delivery (seconds)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka import TopicPartition as TP

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    await consumer.start()
    delays: list[float] = []
    try:
        tps = [TP(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out.with_suffix(".ready").touch()
        while not out.with_suffix(".stop").exists():
            got = await consumer.getmany(timeout_ms=500)
            now_ms = time.time() * 1000
            delays += [(now_ms - r.timestamp) / 1000 for rs in got.values() for r in rs]
    finally:
        await consumer.stop()
    write_json(out, {"delays": delays})


# --- the parent ------------------------------------------------------------------------


@dataclass
class Sample:
    """One poll of the run: seconds since the first send, and fixes so far."""

    t: float
    sent: int
    applied: float
    lag_records: float  # the workers' ccwatch_consumer_lag_records (updated every 15 s)
    cpu_s: float  # CPU time the workers used so far
    runq_s: float  # time the workers were ready to run but waited for a CPU (Linux)


@dataclass
class Result:
    """One run's figures (the columns of the table)."""

    rate: float
    workers: int
    subjects: int
    every_s: float
    seconds: float = 0.0
    sent: int = 0
    records: int = 0
    behind_s: float = 0.0
    applied_rate: float = 0.0
    growth: float = 0.0
    expected_alerts: int = 0
    latencies: list[float] = field(default_factory=list)
    to_decision: list[float] = field(default_factory=list)  # send to the alert's recorded_at
    tick_released: int = 0
    fetch: list[float] = field(default_factory=list)
    us_per_fix: float = math.nan
    peak_rss: int = 0
    seeding_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    end_backlog: float = 0.0  # fixes sent and not applied when the last was sent
    drained_s: float | None = None  # from the last send until every fix was applied
    end_lag: float = 0.0  # the workers' consumer lag (records) then
    cpu: float = 0.0  # the workers' CPU seconds per second over the second half
    runq: float = 0.0  # the seconds per second they waited for a CPU then

    @property
    def held(self) -> bool:
        """Every fix was applied within ``HELD_DRAIN_S`` (or ``HELD_DRAIN_SHARE`` of the
        sending time, if longer) after the last was sent, and over the second half the
        backlog grew by less than ``HELD_GROWTH_SHARE`` of the rate: stalls the worker
        recovers from are allowed, a backlog that grows is not (a short run's growth may
        still drain within the limit)."""
        limit = max(HELD_DRAIN_S, HELD_DRAIN_SHARE * self.seconds)
        drained = self.drained_s is not None and self.drained_s <= limit
        return self.sent > 0 and drained and self.growth <= HELD_GROWTH_SHARE * self.rate


def quantile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 with fewer than two points)."""
    if len(points) < 2 or len({x for x, _ in points}) < 2:
        return 0.0
    return statistics.linear_regression([x for x, _ in points], [y for _, y in points]).slope


def worker_figures(port: int) -> dict[str, float] | None:
    """Fixes applied (or otherwise settled), consumer lag (records) and processing time
    (sum, count) of the locations topic, from a worker's /metrics."""
    got = samples(port)
    if got is None:
        return None
    out = dict.fromkeys(("applied", "lag", "proc_sum", "proc_count"), 0.0)
    names = {
        "ccwatch_events_consumed_total": "applied",
        "ccwatch_duplicate_records_total": "applied",
        "ccwatch_consumer_lag_records": "lag",
        "ccwatch_event_processing_seconds_sum": "proc_sum",
        "ccwatch_event_processing_seconds_count": "proc_count",
    }
    for s in got:
        if s.labels.get("topic") == "locations" and s.name in names:
            out[names[s.name]] += s.value
    return out


def read_topic(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, bytes]]:
    """Every record of ``topic`` (broker timestamp in ms, value), up to the high watermarks
    its fetches report (tansu's end offsets are not to be trusted: broker-notes.md)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    out: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        got = consumer.poll(timeout_ms=500, max_records=5000)
        out += [(r.timestamp, r.value) for rs in got.values() for r in rs]
        highs = [consumer.highwater(tp) for tp in tps]
        if all(
            h is not None and consumer.position(tp) >= h for tp, h in zip(tps, highs, strict=True)
        ):
            break
    consumer.close()
    return out


def populate(url: str, subjects: int, now: datetime) -> None:
    migrate(url)
    engine = make_engine(url)
    seed(engine)
    people = [str(p["id"]) for p in add_subjects(engine, subjects, random.Random(3))]
    with Session(engine) as session, session.begin():  # each phone signs its fixes
        enrol_missing(session, [(f"P-{who}", who) for who in people])
    today = local(now).date()
    approve_positioning(engine, people, today - timedelta(days=1), today + timedelta(days=1))
    engine.dispose()


def measure(rate: float, args: argparse.Namespace) -> Result:
    subjects = args.subjects or round(rate * 60)
    result = Result(rate, args.workers, subjects, subjects / rate)
    work = Path(tempfile.mkdtemp(prefix="ccwatch-bench-offered-"))
    say(f"{rate:,.0f} fixes/s: working in {work}")
    t0 = time.perf_counter()
    url = f"sqlite:///{work / 'offered.db'}"
    populate(url, subjects, datetime.now(UTC))
    result.seeding_s = time.perf_counter() - t0
    say(f"database: {subjects:,} subjects, keys, approvals in {result.seeding_s:.1f} s")

    broker = EmbeddedBroker(log_path=work / "tansu.log").start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        settings = Settings(
            kafka_bootstrap=broker.bootstrap,
            database_url=url,
            data_dir=work / "data",
            partitions=args.partitions,
            topic_prefix="offered",
            app_id="bench-offered",
            session_timeout_s=SESSION_TIMEOUT_S,
            tick_interval_s=args.tick,
            registry_refresh_s=args.refresh,
            producer_max_batch_size=args.producer_batch,
            close_timer=False,
            metrics_port=0,
        )
        topics = settings.topics
        ensure_topics(broker.bootstrap, topics.all(), args.partitions)
        ports = [free_port() for _ in range(args.workers)]
        for n, port in enumerate(ports):
            ready = work / f"worker-{n}.ready"
            env = {
                **worker_env(settings),
                "CCWATCH_METRICS_PORT": str(port),
                "CCWATCH_READY_FILE": str(ready),
            }
            cmd = [sys.executable, "-m", "ccwatch", "worker"]
            procs.append(spawn(cmd, env, work / f"worker-{n}.log"))
        wait_for(lambda: all((work / f"worker-{n}.ready").exists() for n in range(len(ports))))
        time.sleep(2.0 if args.workers > 1 else 0.0)  # the last join's rebalance settles
        say(f"{args.workers} worker(s) joined")

        seconds = args.minutes * 60
        fetch_out = work / "fetch.json"
        me = [sys.executable, str(Path(__file__))]
        probe_cmd = [*me, "--probe", str(fetch_out), "--bootstrap", broker.bootstrap]
        probe_cmd += ["--topic", topics.locations, "--partitions", str(args.partitions)]
        procs.append(spawn(probe_cmd, dict(os.environ), work / "probe.log"))
        wait_for(lambda: fetch_out.with_suffix(".ready").exists())
        status = work / "producer.json"
        spec = Spec(
            broker.bootstrap,
            topics.locations,
            url,
            rate,
            seconds,
            (args.upload_minutes[0], args.upload_minutes[1]),
            (args.upload_fixes[0], args.upload_fixes[1]) if args.upload_fixes else None,
            args.alerting,
            str(status),
        )
        (work / "spec.json").write_text(json.dumps(asdict(spec)))
        producer = spawn(
            [*me, "--produce", str(work / "spec.json")], dict(os.environ), work / "producer.log"
        )
        procs.append(producer)
        say(f"offering {rate:,.0f} fixes/s for {seconds:.0f} s")

        timeline, rss = watch(producer, status, ports, procs[: args.workers], args.drain)
        fetch_out.with_suffix(".stop").touch()
        final = json.loads(status.read_text())
        result.seconds = final["ended"] - final["start"]
        result.sent, result.records = final["fixes"], final["records"]
        result.behind_s = final["behind_s"]
        half = [s for s in timeline if seconds / 2 <= s.t <= seconds]
        result.applied_rate = slope([(s.t, s.applied) for s in half])
        result.growth = slope([(s.t, s.sent - s.applied) for s in half])
        result.cpu = slope([(s.t, s.cpu_s) for s in half])
        result.runq = slope([(s.t, s.runq_s) for s in half])
        if half:
            result.end_backlog = half[-1].sent - half[-1].applied
            result.end_lag = half[-1].lag_records
        tail = [s for s in timeline if s.t >= result.seconds]
        done = next((s.t - result.seconds for s in tail if s.applied >= s.sent), None)
        result.drained_s = None if done is None else max(done, 0.0)
        result.peak_rss = max(
            high_water(p.pid, r) for p, r in zip(procs[: args.workers], rss, strict=True)
        )
        figures = [f for f in (worker_figures(p) for p in ports) if f is not None]
        count = sum(f["proc_count"] for f in figures)
        result.us_per_fix = 1e6 * sum(f["proc_sum"] for f in figures) / count if count else math.nan
        last = timeline[-1] if timeline else None
        if last is not None and last.applied < last.sent:
            result.notes.append(
                f"{last.sent - last.applied:,.0f} fixes not applied {last.t - seconds:.0f} s "
                "after the last send"
            )
        wait_for(lambda: fetch_out.exists(), 60.0)
        result.fetch = json.loads(fetch_out.read_text())["delays"]
        alerts(result, broker.bootstrap, settings, final["evidence"])
        kept = {"timeline": [asdict(s) for s in timeline], "latencies": result.latencies}
        (work / "result.json").write_text(json.dumps(kept))  # for a look with --keep
    finally:
        for p in procs:
            with contextlib.suppress(OSError):
                p.kill()
            p.wait()
        broker.stop()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def wait_for(ready: Any, limit_s: float = 300.0) -> None:
    deadline = time.monotonic() + limit_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready in {limit_s:.0f} s")
        time.sleep(0.2)


def waited(pid: int) -> float:
    """Seconds a process has waited, ready to run, for a CPU (Linux's schedstat; 0 where
    there is none)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    return 0.0


def watch(
    producer: subprocess.Popen[bytes],
    status: Path,
    ports: list[int],
    workers: list[subprocess.Popen[bytes]],
    drain_s: float,
) -> tuple[list[Sample], list[int]]:
    """Poll the producer and the workers every second while it sends, then until the
    workers applied every fix sent (or ``drain_s`` passed): the timeline and the largest
    RSS sampled of each worker."""
    timeline: list[Sample] = []
    rss = [0] * len(workers)
    drained_by: float | None = None
    while True:
        time.sleep(1.0)
        cpu, runq = 0.0, 0.0
        for n, w in enumerate(workers):
            if w.poll() is not None:
                raise RuntimeError(f"worker {n} exited ({w.returncode})")
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(w.pid)
                rss[n] = max(rss[n], proc.memory_info().rss)
                times = proc.cpu_times()
                cpu += times.user + times.system
                runq += waited(w.pid)
        with contextlib.suppress(OSError, ValueError):
            sent = json.loads(status.read_text())
            figures = [f for f in (worker_figures(p) for p in ports) if f is not None]
            applied = sum(f["applied"] for f in figures)
            lag = sum(f["lag"] for f in figures)
            at = time.time() - sent["start"]
            timeline.append(Sample(at, sent["fixes"], applied, lag, cpu, runq))
            if sent["done"]:
                drained_by = drained_by or time.monotonic() + drain_s
                if applied >= sent["fixes"] or time.monotonic() > drained_by:
                    return timeline, rss
        if producer.poll() not in (None, 0):
            raise RuntimeError(f"the producer exited ({producer.returncode})")


def alerts(result: Result, bootstrap: str, settings: Settings, sent: dict[str, float]) -> None:
    """Latencies of the opened out_of_bounds alerts, and how many a tick released."""
    topics, n = settings.topics, settings.partitions
    ticks = sorted(
        stamp / 1000
        for stamp, value in read_topic(bootstrap, topics.control, n)
        if isinstance(decode_control(value), Tick)
    )
    alerting_subjects = {eid.rsplit("-", 2)[0] for eid in sent}
    result.expected_alerts = len(alerting_subjects)
    for stamp, value in read_topic(bootstrap, topics.alerts, n):
        alert = decode(value, AlertEvent)
        if not isinstance(alert, AlertEvent) or alert.transition != "opened":
            continue
        if alert.alert_type != "out_of_bounds" or alert.evidence[0] not in sent:
            continue
        at = sent[alert.evidence[0]]
        result.latencies.append(stamp / 1000 - at)
        decided = alert.recorded_at.timestamp()
        result.to_decision.append(decided - at)
        after_tick = any(t <= decided <= t + TICK_SPAN_S for t in ticks)
        result.tick_released += after_tick and decided - at > TICK_SPAN_S


# --- the report ------------------------------------------------------------------------


def table(results: list[Result]) -> list[str]:
    head = (
        f"{'offered':>8} {'sent':>8} {'subjects':>9} {'fixes/upl':>9} {'workers':>7} "
        f"{'applied':>8} {'growth':>7} {'held':>4} {'alerts':>7} {'p50 s':>6} {'p99 s':>6} "
        f"{'max s':>6} {'tick':>4} {'fetch p50':>9} {'fetch p99':>9} {'us/fix':>6} "
        f"{'CPU %':>5} {'wait %':>6} {'RSS MB':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        per_upload = r.sent / r.records if r.records else math.nan
        alerts = f"{len(r.latencies)}/{r.expected_alerts}"
        lines.append(
            f"{r.rate:>8,.0f} {r.sent / r.seconds:>8,.0f} {r.subjects:>9,} {per_upload:>9.1f} "
            f"{r.workers:>7} {r.applied_rate:>8,.0f} {r.growth:>7,.0f} "
            f"{'yes' if r.held else 'no':>4} {alerts:>7} {quantile(r.latencies, 0.5):>6.2f} "
            f"{quantile(r.latencies, 0.99):>6.2f} {max(r.latencies, default=math.nan):>6.2f} "
            f"{r.tick_released:>4} {quantile(r.fetch, 0.5):>9.2f} "
            f"{quantile(r.fetch, 0.99):>9.2f} {r.us_per_fix:>6.0f} {100 * r.cpu:>5.0f} "
            f"{100 * r.runq:>6.0f} {r.peak_rss / 2**20:>6.0f}"
        )
    return lines


def report(results: list[Result], args: argparse.Namespace, began: datetime) -> None:
    first = results[0]
    print(
        f"bench/offered.py, {began:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs "
        f"(os.cpu_count()), load average {os.getloadavg()[0]:.2f} at the end, "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    )
    subjects = (
        "rate x 60 subjects, a fix a minute each"
        if not args.subjects
        else f"{args.subjects:,} subjects, a fix every {first.every_s:.1f} s each at the first "
        "rate (fewer subjects than the rate x 60: fixes proportionally more often)"
    )
    lo, hi = args.upload_fixes or args.upload_minutes
    uploads = (
        f"uploads of {lo}-{hi} fixes" if args.upload_fixes else f"uploads every {lo:g}-{hi:g} min"
    )
    print(
        f"offered for {args.minutes:g} min a run: {subjects}, {uploads} "
        f"(v1.1 batches), 1 in {args.alerting:,} subjects alerting; {args.workers} worker(s), "
        f"{args.partitions} partitions, ticks every {args.tick:g} s, registry read every "
        f"{args.refresh:g} s, producer batches of {args.producer_batch}, one tansu broker "
        "(memory://), SQLite, the workers' other settings as default"
    )
    print(
        "applied, growth: fixes/s over the second half; p50-max: seconds from the upload's "
        "send to the alert on the alerts topic; fetch: seconds from a record's send to a bare "
        "consumer (Faust's fetch wait)"
    )
    print()
    for line in table(results):
        print(line)
    print()
    for r in results:
        drained = "never" if r.drained_s is None else f"in {r.drained_s:.0f} s"
        verdict = "held" if r.held else f"not held (lag grows {r.growth:,.0f} fixes/s)"
        verdict += f"; backlog as sending ended {r.end_backlog:,.0f} fixes, applied {drained}"
        print(
            f"{r.rate:,.0f} fixes/s: {verdict}; seeding {r.seeding_s:.0f} s; producer at most "
            f"{r.behind_s:.2f} s behind schedule; consumer lag as the sending ended "
            f"{r.end_lag:,.0f} records (the workers' gauge)"
        )
        decided = quantile(r.to_decision, 0.5)
        publish = quantile([a - b for a, b in zip(r.latencies, r.to_decision, strict=True)], 0.5)
        print(
            f"  latency p50 {quantile(r.latencies, 0.5):.2f} s = send to the worker's decision "
            f"{decided:.2f} s (fetch, queue, held for order, deciding) + the alert's publication "
            f"{publish:.2f} s; the transport alone (fetch) p50 "
            f"{quantile(r.fetch, 0.5):.2f} s"
        )
        for note in r.notes:
            print(f"  {note}")
    print(needed(results))


def needed(results: list[Result]) -> str:
    """Workers for the target rate, from the highest rate a worker held and the lowest one
    above it that it did not."""
    held = [r.rate / r.workers for r in results if r.held]
    if not held:
        return f"workers needed for {TARGET:,} fixes/s: unknown (no rate was held)"
    best = max(held)
    above = [r.rate / r.workers for r in results if not r.held and r.rate / r.workers > best]
    workers = f"ceil({TARGET:,} / {best:,.0f}) = {math.ceil(TARGET / best)}"
    if above:
        return (
            f"workers needed for {TARGET:,} fixes/s = {workers} (a worker held {best:,.0f} "
            f"fixes/s and not {min(above):,.0f})"
        )
    return (
        f"workers needed for {TARGET:,} fixes/s: at most {workers} (a worker held every rate "
        "tried: give higher ones to find its limit)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, nargs="+", help=f"fixes/s (default {TARGET:,})")
    parser.add_argument("--minutes", type=float, help="sending time of each run (default 5)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--subjects", type=int, help="default: rate x 60 (a fix a minute)")
    parser.add_argument("--upload-minutes", type=float, nargs=2, default=[2.0, 5.0])
    parser.add_argument(
        "--upload-fixes", type=int, nargs=2, help="fixes per upload instead of minutes"
    )
    parser.add_argument("--alerting", type=int, default=1000, help="one subject in N alerts")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--tick", type=float, default=30.0, help="CCWATCH_TICK_INTERVAL_S")
    parser.add_argument("--refresh", type=float, default=30.0, help="CCWATCH_REGISTRY_REFRESH_S")
    parser.add_argument(
        "--producer-batch",
        type=int,
        default=1,
        help="CCWATCH_PRODUCER_MAX_BATCH_SIZE of the workers (1, their default, on tansu)",
    )
    parser.add_argument("--drain", type=float, help="longest wait after the last send (s)")
    parser.add_argument("--find", action="store_true", help="stop at the first rate not held")
    parser.add_argument("--short", action="store_true", help="200 fixes/s for 15 s")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--produce", help=argparse.SUPPRESS)  # the producer process
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # the fetch probe process
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.produce:
        offer(Spec(**json.loads(Path(args.produce).read_text())))
        return
    if args.probe:
        asyncio.run(probe(args.bootstrap, args.topic, args.partitions, Path(args.probe)))
        return
    args.rate = sorted(args.rate or [SHORT["rate"] if args.short else TARGET])
    args.minutes = args.minutes or (SHORT["minutes"] if args.short else 5.0)
    args.drain = args.drain if args.drain is not None else (10.0 if args.short else 60.0)
    began = datetime.now(UTC)
    results = []
    for rate in args.rate:
        results.append(measure(rate, args))
        if args.find and not results[-1].held:
            break
    report(results, args, began)


if __name__ == "__main__":
    main()

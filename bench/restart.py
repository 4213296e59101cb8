"""Benchmark: how long a worker takes to restart, against the size of its state changelog.

    .venv/bin/python bench/restart.py [--sizes 10000 50000 100000] [--stores memory rocksdb]
    .venv/bin/python bench/restart.py --subjects 700000 [--stores rocksdb memory]

1. State writes (changelog records) per 1,000 fixes and per subject-hour, over three
   simulated days (terminals/simulator.py, a fix every 15 minutes per subject) and for one
   phone reporting every minute or every 5 s, still or walking: the rule before issue 11
   (the last-seen time stored in 15-minute slots) against the current one
   (:meth:`streams.pipeline.Outcome.durable`).
2. For each table store and changelog size: the changelog is filled (one record per
   producer batch, as the workers write it), a worker starts (it reads the whole changelog),
   stops, and starts again; each start is timed until the worker has decided a probe fix
   (an alert on the alerts topic). With memory:// every start reads the whole changelog;
   with rocksdb:// a restart reads only what was written after the offsets it kept.
3. With ``--subjects N`` (issue 15, national scale), instead of 1 and 2: the state a
   worker keeps for a subject after a day of fixes a minute (the seeded subjects played
   through the pure pipeline: two simulated days, the last densified to a fix a minute,
   a tick a minute), its encoded size, and for each store: the changelog filled with one
   record per subject (those states re-keyed ``X-000000``...), a worker's first start,
   SIGKILL while it runs, and its next start, each timed until it alerts on a probe fix;
   the worker's peak RSS (VmHWM) and its table on disk (the data dir's ``faust/``).

Changelogs are filled by 16 aiokafka producers in parallel, each record its own batch (else
tansu's end offsets are wrong and table recovery stops early): 2,500-5,000 records/s of
3.7 KB on 2 shared cores, where one kafka-python producer with ``batch_size=0`` does about
1,000. tansu serves a changelog of 700,000 one-record batches at only a few hundred records
a second (the broker busy, the worker mostly idle), so a start that reads it all takes about
half an hour here, bound by the broker (not measured on Kafka).

The worker ticks every second, as a production worker does every 30 s (ticks release
records held for order). Prints a table; asserts nothing. The local broker (tansu) never
compacts a changelog; real Kafka does (docs/runbook.md, "Restart time").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.* helpers

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition

import ccwatch.keys
from alerts.clock import ManualClock
from ccwatch.broker import EmbeddedBroker
from models.events import Activity, CheckIn, LocationFix, Rejection, Tick, decode
from models.ids import derive_id
from scoring.rules import load_ruleset
from streams.control import partition_of
from streams.pipeline import Outcome, Pipeline, SubjectState, dump_state
from streams.topics import ensure_topics
from terminals.simulator import simulate_days
from tests.factories import SOME_DAY, T0, device_secret, keyring, registry
from tests.integration.harness import System
from tests.integration.test_detection import fix
from tests.integration.test_recovery import FAR_OUT, transitions
from tests.restarts import Run, play, timeline

# The probe is signed as the tests sign (tests/conftest.py): the database this script seeds
# enrols keys whose secrets derive from their ids.
ccwatch.keys.secret_for = device_secret

KIND: dict[str, type[Any]] = {"checkin": CheckIn, "location": LocationFix, "activity": Activity}
OLD_SLOT = timedelta(minutes=15)
PRODUCERS = 16  # aiokafka producers filling a changelog, each with a request in flight
MB = 1_000_000
# tansu serves a long changelog at a few hundred records/s: a first start can take 30 min
NATIONAL_TIMEOUT_S = 3 * 3600


def old_rule(outcome: Outcome, before: SubjectState) -> bool:
    """What was stored before issue 11: any decision, or the last-seen time in a new
    15-minute slot (for comparison only)."""
    new, old = outcome.state.detection, before.detection
    if outcome.state.ledger != before.ledger or new.book != old.book:
        return True
    if new.states != old.states or new.first_record != old.first_record:
        return True
    seen, was = new.track.seen_at, old.track.seen_at
    if seen is None or was is None:
        return (seen is None) != (was is None)
    slot = OLD_SLOT.total_seconds()
    return seen.timestamp() // slot != was.timestamp() // slot or (
        new.track.power_off_at != old.track.power_off_at
    )


def simulated_days(days: int = 3) -> list[Any]:
    """The simulator's records of ``days`` days ending on SOME_DAY (a fix / 15 min)."""
    events = simulate_days(SOME_DAY, days, faults=False, keys=keyring())
    decoded = [decode(e.value, KIND[e.kind]) for e in events if e.kind in KIND]
    return [r for r in decoded if not isinstance(r, Rejection)]


def tracker(every: timedelta, hours: int, metres_per_fix: float) -> list[Any]:
    """One phone in the county reporting every ``every``: lying still (GPS jitter of
    about 30 m) or moving north ``metres_per_fix`` a fix."""
    n = int(timedelta(hours=hours) / every)
    return [
        LocationFix(
            event_id=f"trk-{i}",
            subject_id="SS-0001",
            device_id="P-SS-0001",
            occurred_at=T0 + i * every,
            lat=30.712 + ((i % 3) * 30 + i * metres_per_fix) / 111_320,
            lon=122.451,
            accuracy_m=15.0,
            source="gps",
        )
        for i in range(n)
    ]


def played(records: list[Any]) -> Run:
    """The pure pipeline over ``records`` (in event-time order) with a tick a minute."""
    start = records[0].occurred_at
    span = max(r.occurred_at for r in records) - start
    minutes = int(span / timedelta(minutes=1)) + 1
    ticks = [Tick(event_id=f"t{i}", at=start + i * timedelta(minutes=1)) for i in range(minutes)]
    subjects = sorted({r.subject_id for r in records})
    pipeline = Pipeline(registry(), load_ruleset(), ManualClock(start), 1e9)
    return play(pipeline, subjects, timeline(records, ticks))


def count_writes(records: list[Any]) -> tuple[int, int, int, float]:
    """Fixes, writes under the former rule, writes now, and subject-hours covered."""
    old = 0
    original = Outcome.durable

    def counting(self: Outcome, before: SubjectState) -> bool:
        nonlocal old
        old += old_rule(self, before) and self.state is not before
        return original(self, before)

    Outcome.durable = counting  # type: ignore[method-assign]
    try:
        run = played(records)
    finally:
        Outcome.durable = original  # type: ignore[method-assign]
    span = max(r.occurred_at for r in records) - records[0].occurred_at
    return run.fixes, old, run.writes, len(run.subjects) * span / timedelta(hours=1)


def writes_per_fix() -> None:
    cases = [
        ("simulator: 3 days, a fix / 15 min", simulated_days()),
        ("phone still, a fix / min, 6 h", tracker(timedelta(minutes=1), 6, 0.0)),
        ("phone still, a fix / 5 s, 1 h", tracker(timedelta(seconds=5), 1, 0.0)),
        ("phone walking 5 km/h, a fix / min", tracker(timedelta(minutes=1), 6, 83.0)),
    ]
    print("State writes (changelog records):")
    print(f"  {'input':36} {'fixes':>7} {'before /1k':>11} {'now /1k':>8} {'now /subj-h':>11}")
    for name, records in cases:
        fixes, old, now, hours = count_writes(records)
        print(
            f"  {name:36} {fixes:7,} {1000 * old / fixes:11.1f} {1000 * now / fixes:8.1f}"
            f" {now / hours:11.2f}"
        )
    print("  before: the last-seen time in 15-minute slots; now: Outcome.durable")


def a_fix_a_minute(records: list[Any]) -> list[Any]:
    """``records`` with the last day's fixes made a fix a minute: after each fix, one a
    minute until the subject's next (a phone lying still, 30 m of jitter; ids derived)."""
    since = max(r.occurred_at for r in records) - timedelta(days=1)
    fixes: dict[str, list[LocationFix]] = {}
    for r in records:
        if isinstance(r, LocationFix) and r.occurred_at >= since:
            fixes.setdefault(r.subject_id, []).append(r)
    out = list(records)
    for own in fixes.values():
        for each, after in zip(own, [*own[1:], None], strict=True):
            until = after.occurred_at if after else each.occurred_at + timedelta(minutes=15)
            k = 1
            while each.occurred_at + k * timedelta(minutes=1) < until:
                out.append(
                    msgspec.structs.replace(
                        each,
                        event_id=derive_id("bench-fix", each.event_id, str(k)),
                        occurred_at=each.occurred_at + k * timedelta(minutes=1),
                        lat=each.lat + (k % 3) * 30 / 111_320,
                    )
                )
                k += 1
    return sorted(out, key=lambda r: r.occurred_at)


def subject_states() -> list[bytes]:
    """Each seeded subject's state as last written to the changelog after two simulated
    days, the last with a fix a minute (dominated by the ids of the last hour's fixes)."""
    run = played(a_fix_a_minute(simulated_days(2)))
    return [run.stored[who] for who in sorted(run.stored)]


def fill(bootstrap: str, topic: str, partitions: int, records: list[tuple[bytes, bytes]]) -> None:
    """Write ``records`` (key, value) in the key's partition, one record per producer
    batch, :data:`PRODUCERS` producers in parallel; check the end offsets."""
    asyncio.run(_fill(bootstrap, topic, partitions, records))
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    consumer.close()
    if sum(ends.values()) != len(records):
        raise RuntimeError(f"{topic} ends at {sum(ends.values())}, not {len(records)}")


async def _fill(
    bootstrap: str, topic: str, partitions: int, records: list[tuple[bytes, bytes]]
) -> None:
    producers = [
        AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=1, linger_ms=0, acks=1)
        for _ in range(PRODUCERS)
    ]
    for producer in producers:
        await producer.start()

    async def send(producer: AIOKafkaProducer, share: list[tuple[bytes, bytes]]) -> None:
        pending: list[asyncio.Future[Any]] = []
        for key, value in share:
            p = partition_of(key, partitions)
            pending.append(await producer.send(topic, value, key=key, partition=p))
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)

    try:
        await asyncio.gather(*(send(p, records[i::PRODUCERS]) for i, p in enumerate(producers)))
    finally:
        for producer in producers:
            await producer.stop()


def timed_start(system: System, who: str, n: int, timeout_s: float = 600) -> float:
    """Start a worker and send a fix that alerts at once: seconds until the alert."""
    began = time.perf_counter()
    system.start_worker(timeout_s=timeout_s)
    now = datetime.now(UTC)
    t = system.settings.topics
    system.send(t.locations, who.encode(), fix(n, who, now - timedelta(minutes=5), FAR_OUT))
    system.wait_for("the probe's alert", lambda: transitions(system, who), timeout_s)
    return time.perf_counter() - began


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident set size (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"no VmHWM for process {pid}")


def du_mb(path: Path) -> float:
    """The disk space of the files under ``path`` (as du counts it), in MB."""
    used = sum(
        os.stat(Path(folder) / name).st_blocks * 512
        for folder, _, names in os.walk(path)
        for name in names
    )
    return used / MB


def kill9(system: System) -> None:
    """SIGKILL the system's workers (no shutdown at all) and reap them."""
    for proc in system.workers:
        proc.kill()
        proc.wait()
    system.workers.clear()


@contextmanager
def bench_system(store: str) -> Iterator[tuple[System, EmbeddedBroker, str]]:
    """A broker of its own, a System whose workers keep tables in ``store`` and tick every
    second (as in production, ticks release held records), and its subject-state
    changelog's name (the topic created); all closed after."""
    work = Path(tempfile.mkdtemp(prefix="ccwatch-bench-restart-"))
    broker = EmbeddedBroker(log_path=work / "tansu.log").start()
    try:
        db = f"sqlite:///{work / 'ccwatch.db'}"
        system = System(broker.bootstrap, db, work, table_store=store, tick_interval_s=1.0)
        try:
            s = system.settings
            changelog = f"{s.app_id}-subject-state-changelog"
            ensure_topics(broker.bootstrap, [changelog], s.partitions)
            yield system, broker, changelog
        finally:
            system.close()
    finally:
        broker.stop()


def restarts(sizes: list[int], stores: list[str]) -> None:
    print("\nchangelog records | store   | first start s | restart s")
    for size in sizes:
        for store in stores:
            with bench_system(store) as (system, broker, changelog):
                empty = dump_state(SubjectState())
                records = [(f"X-{n % 10_000:05d}".encode(), empty) for n in range(size)]
                fill(broker.bootstrap, changelog, system.settings.partitions, records)
                first = timed_start(system, "SS-0003", 1)
                system.stop_workers()
                again = timed_start(system, "SS-0004", 2)
            print(f"{size:17,} | {store:7} | {first:13.1f} | {again:9.1f}", flush=True)


def national(subjects: int, stores: list[str]) -> None:
    """State size, and start and kill -9 recovery times, with ``subjects`` subjects."""
    began = time.perf_counter()
    states = subject_states()
    sizes = [len(v) for v in states]
    values = [states[n % len(states)] for n in range(subjects)]
    total = sum(len(v) for v in values)
    print(
        f"Subject state ({len(states)} seeded subjects, two simulated days, the last a fix a"
        f" minute; built in {time.perf_counter() - began:.0f} s): mean"
        f" {statistics.mean(sizes):,.0f} B, max {max(sizes):,} B; {subjects:,} subjects"
        f" (re-keyed): {total / MB:,.0f} MB"
    )
    records = [(f"X-{n:06d}".encode(), value) for n, value in enumerate(values)]
    payload = sum(len(k) + len(v) for k, v in records)
    print(
        f"\n{'store':7} | {'subjects':>8} | {'state MB':>8} | {'RSS MB':>6} | {'on-disk MB':>10}"
        f" | {'first start s':>13} | {'after kill -9 s':>15}"
    )
    for store in stores:
        with bench_system(store) as (system, broker, changelog):
            began = time.perf_counter()
            fill(broker.bootstrap, changelog, system.settings.partitions, records)
            filled = time.perf_counter() - began
            print(
                f"  ({store}: changelog filled with {len(records):,} records, {payload / MB:,.0f}"
                f" MB of keys and values, in {filled:.0f} s ({len(records) / filled:,.0f}/s);"
                f" broker RSS {peak_rss_mb(broker.pid):,.0f} MB)",
                flush=True,
            )
            first = timed_start(system, "SS-0003", 1, NATIONAL_TIMEOUT_S)
            first_rss = peak_rss_mb(system.workers[0].pid)
            kill9(system)
            again = timed_start(system, "SS-0004", 2, NATIONAL_TIMEOUT_S)
            rss = peak_rss_mb(system.workers[0].pid)
            disk = du_mb(system.workdir / "faust")
        print(f"  ({store}: worker peak RSS {first_rss:,.0f} MB at its first start)")
        print(
            f"{store:7} | {subjects:8,} | {total / MB:8,.0f} | {rss:6,.0f} | {disk:10,.0f}"
            f" | {first:13.1f} | {again:15.1f}",
            flush=True,
        )
    print("RSS: the restarted worker's peak (VmHWM); on-disk: its data dir's faust/ (du)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--stores", nargs="+", default=["memory", "rocksdb"])
    parser.add_argument("--no-writes", action="store_true", help="skip the state writes part")
    parser.add_argument(
        "--subjects", type=int, help="national scale: this many subjects' state (only that)"
    )
    args = parser.parse_args()
    if args.subjects:
        national(args.subjects, args.stores)
        return
    if not args.no_writes:
        writes_per_fix()
    restarts(args.sizes, args.stores)


if __name__ == "__main__":
    main()

"""Benchmark: how long a worker takes to restart, against the size of its state changelog.

    .venv/bin/python bench/restart.py [--sizes 10000 50000 100000] [--stores memory rocksdb]

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

The worker ticks every second, as a production worker does every 30 s (ticks release
records held for order). Prints a table; asserts nothing. The local broker (tansu) never
compacts a changelog; real Kafka does (docs/runbook.md, "Restart time").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.* helpers

from kafka import KafkaProducer

import ccwatch.keys
from alerts.clock import ManualClock
from ccwatch.broker import EmbeddedBroker
from models.events import Activity, CheckIn, LocationFix, Rejection, Tick, decode
from scoring.rules import load_ruleset
from streams.control import partition_of
from streams.pipeline import Outcome, Pipeline, SubjectState, dump_state
from streams.topics import ensure_topics
from terminals.simulator import simulate_days
from tests.factories import SOME_DAY, T0, device_secret, keyring, registry
from tests.integration.harness import System
from tests.integration.test_detection import fix
from tests.integration.test_recovery import FAR_OUT, transitions
from tests.restarts import play, timeline

# The probe is signed as the tests sign (tests/conftest.py): the database this script seeds
# enrols keys whose secrets derive from their ids.
ccwatch.keys.secret_for = device_secret

KIND: dict[str, type[Any]] = {"checkin": CheckIn, "location": LocationFix, "activity": Activity}
OLD_SLOT = timedelta(minutes=15)


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


def simulated_days() -> list[Any]:
    events = simulate_days(SOME_DAY, 3, faults=False, keys=keyring())
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


def count_writes(records: list[Any]) -> tuple[int, int, int, float]:
    """Fixes, writes under the former rule, writes now, and subject-hours covered."""
    start = records[0].occurred_at
    span = max(r.occurred_at for r in records) - start
    minutes = int(span / timedelta(minutes=1)) + 1
    ticks = [Tick(event_id=f"t{i}", at=start + i * timedelta(minutes=1)) for i in range(minutes)]
    subjects = sorted({r.subject_id for r in records})
    old = 0
    original = Outcome.durable

    def counting(self: Outcome, before: SubjectState) -> bool:
        nonlocal old
        old += old_rule(self, before) and self.state is not before
        return original(self, before)

    Outcome.durable = counting  # type: ignore[method-assign]
    try:
        run = play(
            Pipeline(registry(), load_ruleset(), ManualClock(start), 1e9),
            subjects,
            timeline(records, ticks),
        )
    finally:
        Outcome.durable = original  # type: ignore[method-assign]
    return run.fixes, old, run.writes, len(subjects) * span / timedelta(hours=1)


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


def fill(bootstrap: str, topic: str, records: int, partitions: int) -> None:
    """``records`` changelog records over 10,000 keys, one record per producer batch."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, batch_size=0, linger_ms=0, acks=1)
    value = dump_state(SubjectState())
    for n in range(records):
        key = f"X-{n % 10_000:05d}".encode()
        producer.send(topic, key=key, value=value, partition=partition_of(key, partitions))
    producer.flush()
    producer.close()


def timed_start(system: System, who: str, n: int) -> float:
    """Start a worker and send a fix that alerts at once: seconds until the alert."""
    began = time.perf_counter()
    system.start_worker(timeout_s=600)
    now = datetime.now(UTC)
    t = system.settings.topics
    system.send(t.locations, who.encode(), fix(n, who, now - timedelta(minutes=5), FAR_OUT))
    system.wait_for("the probe's alert", lambda: transitions(system, who), 600)
    return time.perf_counter() - began


def restarts(sizes: list[int], stores: list[str]) -> None:
    print("\nchangelog records | store   | first start s | restart s")
    for size in sizes:
        for store in stores:
            work = Path(tempfile.mkdtemp(prefix="ccwatch-bench-restart-"))
            broker = EmbeddedBroker(log_path=work / "tansu.log").start()
            try:
                system = System(
                    broker.bootstrap,
                    f"sqlite:///{work / 'ccwatch.db'}",
                    work,
                    table_store=store,
                    tick_interval_s=1.0,  # as in production: ticks release held records
                )
                s = system.settings
                changelog = f"{s.app_id}-subject-state-changelog"
                ensure_topics(broker.bootstrap, [changelog], s.partitions)
                fill(broker.bootstrap, changelog, size, s.partitions)
                first = timed_start(system, "SS-0003", 1)
                system.stop_workers()
                again = timed_start(system, "SS-0004", 2)
                system.close()
                print(f"{size:17,} | {store:7} | {first:13.1f} | {again:9.1f}", flush=True)
            finally:
                broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--stores", nargs="+", default=["memory", "rocksdb"])
    parser.add_argument("--no-writes", action="store_true", help="skip the state writes part")
    args = parser.parse_args()
    if not args.no_writes:
        writes_per_fix()
    restarts(args.sizes, args.stores)


if __name__ == "__main__":
    main()

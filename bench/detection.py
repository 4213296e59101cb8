"""Benchmark: absconding detection delay, and noise against a naive detector.

    .venv/bin/python bench/detection.py [--shore 300] [--fishers 60] [--departures 8]

1. Noise: a day of realistic GPS for subjects living near the county line (accuracy
   20-300 m, now and then a cell fix of 500-1500 m), fishermen with hours-long signal gaps
   at sea, and a few real departures by ferry. The same fixes go through ccwatch's pipeline
   (ticks every 5 minutes) and through a naive detector that alerts on any outside fix.
2. Delay: a scripted ferry departure through the real broker and a worker process: event
   time from the first outside fix to the fix that raises the alert, and wall time from
   sending that fix to the alert arriving on the alerts topic.

Prints the figures; asserts nothing. Targets: >= 20x fewer false alerts than naive, no
missed departure, under 60 s of event time and under 1 s of processing.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from alerts.clock import ManualClock
from alerts.geofence import Area
from ccwatch.broker import EmbeddedBroker
from ccwatch.reference import shengsi
from ccwatch.seed import seed
from ccwatch.settings import Settings
from models.db import make_engine, migrate
from models.events import AlertEvent, LocationFix, Tick, decode, encode
from models.registry import load_registry
from models.values import SubjectRef
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Pipeline, SubjectState
from streams.topics import ensure_topics

DAY = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # local midnight, Nov 21
PIER, LUCHAO = (30.722, 122.398), (30.850, 121.850)
METRES = 111_320.0
TRIALS = 10


def _fix(n: int, who: str, at: datetime, lat: float, lon: float, acc: float) -> LocationFix:
    return LocationFix(
        event_id=f"{who}-{n}",
        subject_id=who,
        device_id=f"P-{who}",
        occurred_at=at,
        lat=lat,
        lon=lon,
        accuracy_m=round(acc, 1),
        source="cell" if acc > 400 else "gps",
    )


def noise_day(
    rng: random.Random, shore: int, fishers: int, departures: int
) -> tuple[dict[str, SubjectRef], list[LocationFix], set[str]]:
    """Subjects and their fixes for a day; returns who really left."""
    people: dict[str, SubjectRef] = {}
    fixes: list[LocationFix] = []
    start, end = date(2025, 1, 1), date(2028, 1, 1)

    def person(who: str, grace: float = 0.0) -> None:
        people[who] = SubjectRef(who, "caiyuan", "central", "normal", start, end, grace)

    for i in range(shore):  # homes 50-400 m inside the county's south line (lat 30.52)
        who = f"N-{i:04d}"
        person(who)
        home = (30.52 + rng.uniform(50, 400) / METRES, rng.uniform(122.15, 122.55))
        at = DAY + timedelta(seconds=rng.randrange(300))
        while at < DAY + timedelta(days=1):
            acc = rng.uniform(500, 1500) if rng.random() < 0.05 else rng.uniform(20, 300)
            lat = home[0] + rng.gauss(0, acc / 1.5) / METRES
            lon = home[1] + rng.gauss(0, acc / 1.5) / METRES / 0.86
            fixes.append(_fix(len(fixes), who, at, lat, lon, acc))
            at += timedelta(minutes=5)
    for i in range(fishers):  # at sea inside the county, out of reach for hours
        who = f"F-{i:04d}"
        person(who, grace=6 * 3600)
        at, gap_from = DAY, DAY + timedelta(hours=rng.uniform(3, 8))
        gap_to = gap_from + timedelta(hours=rng.uniform(2, 7))
        base = (30.70 + rng.uniform(-0.05, 0.05), 122.80 + rng.uniform(-0.05, 0.05))
        while at < DAY + timedelta(days=1):
            if not gap_from <= at < gap_to:
                acc = rng.uniform(20, 300)
                fixes.append(
                    _fix(
                        len(fixes),
                        who,
                        at,
                        base[0] + rng.gauss(0, 0.002),
                        base[1] + rng.gauss(0, 0.002),
                        acc,
                    )
                )
            at += timedelta(minutes=5)
    for i in range(departures):  # home, the pier, then the ferry to Luchao
        who = f"D-{i:04d}"
        person(who)
        leave_at = DAY + timedelta(hours=rng.uniform(7, 15))
        at = DAY
        while at < DAY + timedelta(days=1):
            f = min(max((at - leave_at) / timedelta(hours=1), 0.0), 1.0)
            lat = PIER[0] + (LUCHAO[0] - PIER[0]) * f + rng.gauss(0, 0.0002)
            lon = PIER[1] + (LUCHAO[1] - PIER[1]) * f + rng.gauss(0, 0.0002)
            fixes.append(_fix(len(fixes), who, at, lat, lon, rng.uniform(10, 60)))
            at += timedelta(minutes=2 if leave_at <= at <= leave_at + timedelta(hours=1) else 5)
    fixes.sort(key=lambda f: (f.occurred_at, f.subject_id))
    return people, fixes, {w for w in people if w.startswith("D-")}


def noise(args: argparse.Namespace, work: Path) -> None:
    url = f"sqlite:///{work / 'noise.db'}"
    migrate(url)
    engine = make_engine(url)
    seed(engine)
    base = load_registry(engine)
    people, fixes, leaving = noise_day(random.Random(7), args.shore, args.fishers, args.departures)
    clock = ManualClock(DAY + timedelta(days=2))
    pipeline = Pipeline(replace(base, subjects=people), load_ruleset(), clock, 300)
    county = Area(base.county or {})
    states: dict[str, SubjectState] = {}
    ours: list[AlertEvent] = []
    next_tick = DAY + timedelta(minutes=5)
    t0 = time.perf_counter()
    for f in fixes:
        while f.occurred_at >= next_tick:
            tick = Tick(event_id=f"t{next_tick}", at=next_tick)
            for who in people:
                out = pipeline.tick(states.get(who, EMPTY_STATE), who, tick)
                states[who] = out.state
                ours += out.alerts
            next_tick += timedelta(minutes=5)
        out = pipeline.apply_location(states.get(f.subject_id, EMPTY_STATE), f)
        states[f.subject_id] = out.state
        ours += out.alerts
    elapsed = time.perf_counter() - t0
    opened = [a for a in ours if a.transition == "opened"]
    false_ours = [a for a in opened if a.subject_id not in leaving]
    outside = [f for f in fixes if not county.contains(f.lat, f.lon)]
    naive = [f for f in outside if f.subject_id not in leaving]
    naive_episodes = _episodes(fixes, county, leaving)
    caught = {a.subject_id for a in opened if a.alert_type == "out_of_bounds"} & leaving
    first_out = {}
    for f in outside:
        first_out.setdefault(f.subject_id, f.occurred_at)
    fix_time = {f.event_id: f.occurred_at for f in fixes}
    delays = [
        (fix_time[a.evidence[-1]] - first_out[a.subject_id]).total_seconds()
        for a in opened
        if a.alert_type == "out_of_bounds" and a.subject_id in leaving
    ]
    kinds = Counter(a.alert_type for a in false_ours)
    print(
        f"noise: {len(people)} subjects ({args.shore} near the county line, {args.fishers} "
        f"fishermen, {args.departures} departures), {len(fixes):,} fixes, "
        f"{len(outside):,} of them outside the county line"
    )
    print(
        f"  naive (an alert per outside fix): {len(naive):,} false alerts; "
        f"even one per outside episode: {naive_episodes:,}"
    )
    print(
        f"  ccwatch: {len(false_ours)} false alerts {dict(kinds)}; "
        f"{len(naive) / max(len(false_ours), 1):,.0f}x fewer than naive per fix, "
        f"{naive_episodes / max(len(false_ours), 1):,.0f}x fewer than naive per episode"
    )
    print(
        f"  real departures caught: {len(caught)} of {len(leaving)}; event-time delay from "
        f"the first outside fix: max {max(delays, default=0):.0f} s, "
        f"mean {sum(delays) / max(len(delays), 1):.0f} s"
    )
    print(f"  pipeline: {len(fixes) / elapsed:,.0f} fixes/s in one process, ticks included")


def _episodes(fixes: list[LocationFix], county: Area, leaving: set[str]) -> int:
    out, inside_now = 0, dict[str, bool]()
    for f in fixes:
        if f.subject_id in leaving:
            continue
        inside = county.contains(f.lat, f.lon)
        if not inside and inside_now.get(f.subject_id, True):
            out += 1
        inside_now[f.subject_id] = inside
    return out


def delay(work: Path) -> None:
    """A ferry departure through the real broker and a worker process."""
    broker = EmbeddedBroker(log_path=work / "tansu.log").start()
    url = f"sqlite:///{work / 'delay.db'}"
    migrate(url)
    seed(make_engine(url))
    settings = Settings(
        kafka_bootstrap=broker.bootstrap,
        database_url=url,
        data_dir=work,
        app_id="bench-delay",
        session_timeout_s=6,
        tick_interval_s=0,
        close_timer=False,
    )
    ensure_topics(broker.bootstrap, settings.topics.all(), settings.partitions)
    ready = work / "ready"
    env = {
        **os.environ,
        **{
            f"CCWATCH_{k.upper()}": str(v)
            for k, v in settings.model_dump().items()
            if v is not None
        },
        "CCWATCH_READY_FILE": str(ready),
    }
    with (work / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "ccwatch", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        while not ready.exists():
            time.sleep(0.1)
        county = Area(shengsi().county)
        arrived: dict[str, float] = {}
        stop = threading.Event()

        def listen() -> None:
            consumer = KafkaConsumer(
                settings.topics.alerts,
                bootstrap_servers=broker.bootstrap,
                group_id=None,
                auto_offset_reset="earliest",
            )
            while not stop.is_set():
                for records in consumer.poll(timeout_ms=20).values():
                    for r in records:
                        alert = decode(r.value, AlertEvent)
                        if isinstance(alert, AlertEvent) and alert.transition == "opened":
                            arrived.setdefault(alert.evidence[-1], time.perf_counter())
            consumer.close()

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0, acks=1)
        event_delays, wall_delays = [], []
        for who in [p.id for p in shengsi().subjects][:TRIALS]:
            start = datetime.now(UTC) - timedelta(hours=2)
            ride = [
                _fix(
                    n,
                    who,
                    start + n * timedelta(minutes=2),
                    PIER[0] + (LUCHAO[0] - PIER[0]) * n / 30,
                    PIER[1] + (LUCHAO[1] - PIER[1]) * n / 30,
                    15.0,
                )
                for n in range(31)
            ]
            first = next(f for f in ride if not county.contains(f.lat, f.lon))
            sent: dict[str, float] = {}
            for f in ride:  # a fix every 0.5 s of wall time: the worker is caught up each time
                producer.send(settings.topics.locations, key=who.encode(), value=encode(f))
                producer.flush()
                sent[f.event_id] = time.perf_counter()
                time.sleep(0.5)
                trigger = next((t for t in arrived if t in sent), None)
                if trigger:
                    break
            time.sleep(1.5)
            trigger = next(t for t in arrived if t in sent)
            at = next(f.occurred_at for f in ride if f.event_id == trigger)
            event_delays.append((at - first.occurred_at).total_seconds())
            wall_delays.append((arrived[trigger] - sent[trigger]) * 1000)
        stop.set()
        thread.join(5)
        wall_delays.sort()
        print(
            f"delay: {TRIALS} ferry departures through the broker and a worker: the alert is on "
            f"the topic at most {max(event_delays):.0f} s of event time after the first "
            f"outside fix; processing from sending that fix: median "
            f"{wall_delays[len(wall_delays) // 2]:.0f} ms, max {wall_delays[-1]:.0f} ms"
        )
    finally:
        worker.terminate()
        worker.wait(20)
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shore", type=int, default=300)
    parser.add_argument("--fishers", type=int, default=60)
    parser.add_argument("--departures", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ccwatch-bench-detect-"))
    noise(args, work)
    delay(work)


if __name__ == "__main__":
    main()

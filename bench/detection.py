"""Benchmark: absconding detection delay, and noise against a naive detector.

    .venv/bin/python bench/detection.py [--shore 300] [--fishers 60] [--departures 8]
        [--cell 250] [--cell-days 4] [--cell-departures 8] [--no-broker]

1. Noise, over two seeded populations, printed as one table:
   A. a day of realistic GPS for subjects living near the county line (accuracy 20-300 m,
      now and then a cell fix of 500-1500 m), fishermen with hours-long signal gaps at sea,
      and a few real departures by ferry;
   B. cell-positioned subjects living 0.5-3 km inside the county line, every fix a
      cell-tower position of 1-5 km accuracy (bench/cell_population.py), over several days,
      and a few who really leave.
   The same fixes go through ccwatch's real pipeline (ticks every 5 minutes), through the
   pipeline with the old far-outside rule (no accuracy term: ``far_accuracy_factor = 0``),
   and through a naive detector that alerts on any outside fix. False alerts are counted
   per 1,000 subject-days of the subjects who stay.
2. Delay (skipped with --no-broker): a scripted ferry departure through the real broker
   and a worker process: event time from the first outside fix to the fix that raises the
   alert, and wall time from sending that fix to the alert arriving on the alerts topic.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
from cell_population import cell_population  # bench/ is on the path when run as a script
from kafka import KafkaConsumer, KafkaProducer

from alerts.clock import ManualClock
from alerts.geofence import Area
from alerts.policy import load_policy
from ccwatch.broker import EmbeddedBroker
from ccwatch.keys import keyring
from ccwatch.reference import shengsi
from ccwatch.seed import seed
from ccwatch.settings import Settings
from models.db import make_engine, migrate
from models.events import AlertEvent, LocationFix, Tick, decode, encode
from models.registry import load_registry
from models.signing import sign
from models.values import PositioningWindow, SubjectRef
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Pipeline, SubjectState
from streams.topics import ensure_topics

DAY = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # local midnight, Nov 21
PIER, LUCHAO = (30.722, 122.398), (30.850, 121.850)
METRES = 111_320.0
TRIALS = 10
TICK = timedelta(minutes=5)


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


@dataclass
class Replay:
    """What a pipeline decided over a population's fixes."""

    opened: list[Opened]
    seconds: float  # wall time


@dataclass(frozen=True)
class Opened:
    alert: AlertEvent
    at: datetime  # event time of the decision
    how: str  # the kind, and for out of bounds what confirmed it


def replay(
    pipeline: Pipeline, people: Iterable[str], fixes: list[LocationFix], end: datetime
) -> Replay:
    """The fixes in event-time order through the pipeline, with a tick every 5 minutes for
    every subject (as a worker's timer does) until ``end``."""
    who_all = list(people)
    dwell = timedelta(seconds=pipeline.policy.normal.dwell_s)
    states: dict[str, SubjectState] = {}
    opened: list[Opened] = []
    next_tick = DAY + TICK

    def note(alerts: list[AlertEvent], at: datetime, fix_id: str | None) -> None:
        for a in alerts:
            if a.transition != "opened":
                continue
            how: str = a.alert_type
            if a.alert_type == "out_of_bounds":
                # Decided at the fix that confirmed it, or when the dwell time since the
                # first clearly-outside fix ran out (a tick or a later fix woke it).
                if a.evidence[-1] != fix_id:
                    at, why = a.occurred_at + dwell, "dwell"
                elif len(a.evidence) > 1:
                    why = "second fix"
                else:
                    why = "dwell" if at - a.occurred_at >= dwell else "at once"
                how = f"{how} ({why})"
            opened.append(Opened(a, at, how))

    def ticks_until(until: datetime) -> None:
        nonlocal next_tick
        while next_tick <= until:
            tick = Tick(event_id=f"t{next_tick}", at=next_tick)
            for who in who_all:
                out = pipeline.tick(states.get(who, EMPTY_STATE), who, tick)
                states[who] = out.state
                note(out.alerts, next_tick, None)
            next_tick += TICK

    t0 = time.perf_counter()
    for f in fixes:
        ticks_until(f.occurred_at)
        out = pipeline.apply_location(states.get(f.subject_id, EMPTY_STATE), f)
        states[f.subject_id] = out.state
        note(out.alerts, f.occurred_at, f.event_id)
    ticks_until(end)
    return Replay(opened, time.perf_counter() - t0)


@dataclass
class Figures:
    """One detector's figures over one population."""

    false: int  # alerts of any kind for subjects who stayed
    caught: int  # departures with an out-of-bounds alert decided once they had left
    delays: list[float]  # event time from leaving to that decision, seconds
    kinds: Counter[str] = field(default_factory=Counter)  # of the false alerts
    early: int = 0  # departures alerted before they left (noise, not the departure)
    confirmed: Counter[str] = field(default_factory=Counter)  # what confirmed departures


def judged(opened: list[Opened], left: dict[str, datetime]) -> Figures:
    """ccwatch's figures: ``left`` is when each departure left."""
    first: dict[str, Opened] = {}
    early: set[str] = set()
    for o in sorted(opened, key=lambda o: o.at):
        who = o.alert.subject_id
        if who in left and o.alert.alert_type == "out_of_bounds":
            if o.at < left[who]:
                early.add(who)
            else:
                first.setdefault(who, o)
    false = Counter(o.how for o in opened if o.alert.subject_id not in left)
    delays = [(o.at - left[who]).total_seconds() for who, o in first.items()]
    confirmed = Counter(o.how.removeprefix("out_of_bounds (")[:-1] for o in first.values())
    return Figures(sum(false.values()), len(first), delays, false, len(early), confirmed)


def naive(
    fixes: list[LocationFix], county: Area, left: dict[str, datetime], episodes: bool
) -> Figures:
    """A detector alerting on any outside fix (or once per run of outside fixes)."""
    false, first, inside_now = 0, dict[str, float](), dict[str, bool]()
    for f in fixes:
        inside = county.contains(f.lat, f.lon)
        was_inside = inside_now.get(f.subject_id, True)
        inside_now[f.subject_id] = inside
        if inside or (episodes and not was_inside):
            continue
        if f.subject_id not in left:
            false += 1
        elif f.occurred_at >= left[f.subject_id]:
            first.setdefault(f.subject_id, (f.occurred_at - left[f.subject_id]).total_seconds())
    return Figures(false, len(first), list(first.values()))


@dataclass
class Population:
    label: str
    people: dict[str, SubjectRef]
    fixes: list[LocationFix]
    left: dict[str, datetime]  # departures: when each left
    days: int
    staying: int  # subjects who do not leave

    @property
    def subject_days(self) -> int:
        return self.staying * self.days


def noise(args: argparse.Namespace, work: Path) -> None:
    url = f"sqlite:///{work / 'noise.db'}"
    migrate(url)
    engine = make_engine(url)
    seed(engine)
    base = load_registry(engine)
    county = Area(base.county or {})
    rules, policy = load_ruleset(), load_policy()
    old_rule = msgspec.structs.replace(
        policy, normal=msgspec.structs.replace(policy.normal, far_accuracy_factor=0.0)
    )

    people, fixes, leaving = noise_day(random.Random(7), args.shore, args.fishers, args.departures)
    outside_a = [f for f in fixes if not county.contains(f.lat, f.lon)]
    left_a: dict[str, datetime] = {}
    for f in outside_a:  # a ferry departure starts at its first outside fix
        if f.subject_id in leaving:
            left_a.setdefault(f.subject_id, f.occurred_at)
    cell = cell_population(random.Random(11), DAY, args.cell, args.cell_days, args.cell_departures)
    left_b: dict[str, datetime] = {}
    for f in cell.fixes:  # a cell departure starts at its first fix truly outside
        if f.subject_id in cell.leaving and not county.contains(*cell.truth[f.event_id]):
            left_b.setdefault(f.subject_id, f.occurred_at)
    outside_b = sum(not county.contains(f.lat, f.lon) for f in cell.fixes)
    a = Population("A. GPS near the line", people, fixes, left_a, 1, args.shore + args.fishers)
    b = Population("B. cell, 1-5 km", cell.people, cell.fixes, left_b, args.cell_days, args.cell)

    rows = [("population", "detector", "false alerts", "per 1,000 subject-days",
             "departures caught", "delay max / mean")]  # fmt: skip
    notes: list[str] = []
    speed = 0.0
    for pop in (a, b):
        end = DAY + timedelta(days=pop.days)
        clock = ManualClock(end + timedelta(days=1))
        approved = (PositioningWindow("bench", DAY, end),)  # e-positioning: every day judged
        registry = replace(
            base, subjects=pop.people, positioning=dict.fromkeys(pop.people, approved)
        )
        runs = [
            ("naive: an alert per outside fix", naive(pop.fixes, county, pop.left, False)),
            ("naive: one per outside episode", naive(pop.fixes, county, pop.left, True)),
        ]
        for name, rule in (("ccwatch, far rule without accuracy", old_rule), ("ccwatch", policy)):
            run = replay(Pipeline(registry, rules, clock, 300, rule), pop.people, pop.fixes, end)
            runs.append((name, judged(run.opened, pop.left)))
            speed = len(pop.fixes) / run.seconds if pop is a else speed
        for i, (name, fig) in enumerate(runs):
            rows.append(
                (
                    pop.label if i == 0 else "",
                    name,
                    f"{fig.false:,}",
                    f"{1000 * fig.false / pop.subject_days:,.1f}",
                    f"{fig.caught} of {len(pop.left)}",
                    _delays(fig.delays),
                )
            )
            if name.startswith("ccwatch"):
                notes.append(f"{pop.label[:2]} {name}: {_note(fig)}")
    print(
        f"noise: A. {len(people)} subjects for a day: {args.shore} living 50-400 m inside the "
        f"county line (GPS of 20-300 m, 5% cell fixes of 500-1,500 m), {args.fishers} "
        f"fishermen with 2-7 h signal gaps at sea, {len(left_a)} ferry departures; "
        f"{len(fixes):,} fixes, {len(outside_a):,} of them outside the county line"
    )
    print(
        f"       B. {args.cell} subjects for {args.cell_days} days living 0.5-3 km inside the "
        f"county's south line, cell positions every 5 min of 1-5 km accuracy (the 68% radius "
        f"of their error), and {len(left_b)} who leave by boat for 8-20 km outside; "
        f"{len(cell.fixes):,} fixes, {outside_b:,} of them outside the county line"
    )
    print(
        "       each replayed through the real Pipeline (a tick every 5 min); delay: event time "
        "from a departure's first outside fix (A) or first fix truly outside (B) to the alert"
    )
    _print_table(rows)
    for note in notes:
        print(f"  {note}")
    print(f"  pipeline: {speed:,.0f} fixes/s in one process, ticks included (A, ccwatch)")


def _note(fig: Figures) -> str:
    """What the false alerts were, and what confirmed each departure caught."""
    kinds = ", ".join(f"{n:,} {k}" for k, n in fig.kinds.most_common()) or "none"
    how = ", ".join(f"{n} {k}" for k, n in fig.confirmed.most_common()) or "none"
    early = f"; alerted before they left: {fig.early}" if fig.early else ""
    return f"false alerts: {kinds}; departures confirmed: {how}{early}"


def _delays(delays: list[float]) -> str:
    if not delays:
        return "-"
    return f"{max(delays):,.0f} s / {sum(delays) / len(delays):,.0f} s"


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  " + "  ".join(cells).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def delay(work: Path) -> None:
    """A ferry departure through the real broker and a worker process."""
    broker = EmbeddedBroker(log_path=work / "tansu.log").start()
    url = f"sqlite:///{work / 'delay.db'}"
    migrate(url)
    seed(make_engine(url))
    keys = keyring(make_engine(url))  # the phones sign their fixes
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
    env = {**os.environ, **settings.environment(), "CCWATCH_READY_FILE": str(ready)}
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
                signed = sign(f, keys[f.device_id])
                producer.send(settings.topics.locations, key=who.encode(), value=encode(signed))
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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shore", type=int, default=300)
    parser.add_argument("--fishers", type=int, default=60)
    parser.add_argument("--departures", type=int, default=8)
    parser.add_argument("--cell", type=int, default=250, help="cell subjects near the line")
    parser.add_argument("--cell-days", type=int, default=4)
    parser.add_argument("--cell-departures", type=int, default=8)
    parser.add_argument(
        "--no-broker", action="store_true", help="skip the delay through the broker and a worker"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ccwatch-bench-detect-"))
    noise(args, work)
    if not args.no_broker:
        delay(work)


if __name__ == "__main__":
    main()

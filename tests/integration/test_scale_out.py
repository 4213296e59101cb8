"""Two worker processes share one consumer group: the partitions are split between them,
each subject's records are handled by exactly one, and co-offenders whose partitions
different workers own are still seen together."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime, timedelta
from functools import partial

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from ccwatch.broker import free_port
from ccwatch.reference import shengsi
from models.reference import Subject
from streams.control import partition_of
from tests.factories import checkin, payload
from tests.integration.harness import System
from tests.integration.test_detection import first_gathering, fix, opened

M = timedelta(minutes=1)
SPOT = (30.7150, 122.4550)

WORKER_SETTINGS = {"tick_interval_s": 0}


def samples(port: int, name: str) -> list[tuple[dict[str, str], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [
        (dict(s.labels), s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name
    ]


def test_two_workers_split_the_partitions(system: System) -> None:
    second = free_port()
    first = free_port()
    system.stop_workers()
    system.start_worker(metrics_port=str(first))
    system.start_worker(metrics_port=str(second))
    ports = (first, second)

    def owned() -> list[set[int]]:
        return [
            {
                int(labels["partition"])
                for labels, _ in samples(p, "ccwatch_consumer_lag_records")
                if labels["topic"] == "checkins"
            }
            for p in ports
        ]

    split = system.wait_for(
        "both workers to own partitions",
        lambda: (o := owned()) and all(o) and len(o[0] | o[1]) == 4 and not o[0] & o[1] and o,
        90,
    )
    people = [p.id for p in shengsi().subjects][:20]
    for n, who in enumerate(people):
        system.send(
            system.settings.topics.checkins,
            who.encode(),
            payload(checkin(n, timedelta(hours=-1), subject=who)),
        )

    def handled() -> list[float]:
        return [
            sum(
                v
                for labels, v in samples(p, "ccwatch_events_consumed_total")
                if labels["topic"] == "checkins"
            )
            for p in ports
        ]

    counts = system.wait_for("all check-ins handled", lambda: sum(c := handled()) == 20 and c)
    expected = [sum(1 for who in people if partition_of(who.encode(), 4) in mine) for mine in split]
    assert counts == expected  # each subject's records went to the worker owning its partition

    # Gathering across workers: a co-offender whose partition the other worker owns.
    home = next(i for i, mine in enumerate(split) if partition_of(b"SS-0010", 4) in mine)
    mate = next(
        p.id
        for p in shengsi().subjects
        if p.case_id is None and partition_of(p.id.encode(), 4) in split[1 - home]
    )
    with Session(system.engine) as session, session.begin():
        session.get_one(Subject, mate).case_id = "C-2025-017"
    time.sleep(3 * system.settings.registry_refresh_s)  # the workers reload the register
    start = datetime.now(UTC) - 90 * M
    for n in range(10):
        for who, where in (("SS-0010", SPOT), (mate, SPOT), ("SS-0012", (30.712, 122.451))):
            system.send(
                system.settings.topics.locations,
                who.encode(),
                fix(n, who, start + n * 5 * M, where),
            )
    for who in ("SS-0010", mate):
        system.wait_for(f"{who}'s gathering alert", partial(first_gathering, system, who), 60)
    assert opened(system, "SS-0012", "gathering") == []  # 500 m away all along

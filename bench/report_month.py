"""Benchmark: a month of ledger for N subjects (default 700,000), then time the CSV report.

    .venv/bin/python bench/report_month.py [--subjects 700000] [--database-url URL]

Prints the figures; it asserts nothing (the target is 60 s for the CSV of all subjects).
The ledger is generated directly as rows (what the sink would have written), shaped like a
real month: base score, check-ins, study and service hours, caps, missed weeks, shortfalls.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from population import add_subjects  # bench/ is on the path when run as a script
from sqlalchemy import insert, text

from ccwatch.seed import seed
from models.db import make_engine, migrate
from models.ids import derive_id
from models.records import PointsEntryRow
from scoring.rules import load_ruleset

MONTH = "2026-11"
START = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight


def generate(url: str, subjects: int, seed_: int = 1) -> int:
    """Subjects spread over the 7 offices and one month of their ledger; returns entries."""
    migrate(url)
    engine = make_engine(url)
    seed(engine)
    rules = {r.id: r for r in load_ruleset().rules}
    rng = random.Random(seed_)
    people = add_subjects(engine, subjects, rng)
    total, batch = 0, list[dict[str, Any]]()
    for p in people:
        for rule_id, delta, day in _month_of(rng, str(p["level"])):
            rule = rules[rule_id]
            batch.append(
                {
                    "id": derive_id("bench", str(p["id"]), rule_id, str(day), str(len(batch))),
                    "subject_id": p["id"],
                    "office_id": p["office_id"],
                    "occurred_at": START + timedelta(days=day, hours=rng.randint(9, 16)),
                    "local_month": MONTH,
                    "ruleset_id": "shengsi-points",
                    "ruleset_version": "2020.1",
                    "rule_id": rule_id,
                    "rule_version": 1,
                    "delta": delta,
                    "evidence": [derive_id("ev", str(p["id"]), str(day), rule_id)],
                    "reason_zh": rule.label_zh,
                    "reason_en": rule.label_en,
                    "recorded_at": START + timedelta(days=day, hours=17),
                    "reverses_entry_id": None,
                }
            )
        if len(batch) >= 100_000:
            total += _flush(engine, batch)
    total += _flush(engine, batch)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return total


def _flush(engine: object, batch: list[dict[str, object]]) -> int:
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(PointsEntryRow), batch)
    n = len(batch)
    batch.clear()
    return n


def _month_of(rng: random.Random, level: str) -> list[tuple[str, int, int]]:
    """(rule, delta, day of month) for one subject's month, about 8 entries."""
    out = [("base.monthly", 60, 29)]
    for _ in range(rng.randint(1, 5)):
        out.append(("checkin.on_time", 2, rng.randint(0, 27)))
    for _ in range(rng.randint(1, 3)):
        out.append(("study.hours", rng.randint(2, 5), rng.randint(0, 27)))
    out.append(("service.hours", rng.randint(2, 5), rng.randint(0, 27)))
    if rng.random() < 0.3:
        out.append(("checkin.missed", -5, 29))
    if rng.random() < 0.2:
        out.append(("study.shortfall", -5, 29))
    if rng.random() < 0.05:
        out.append(("violation.out_of_bounds", -10, rng.randint(0, 27)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=700_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ccwatch-bench-"))
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"

    t0 = time.perf_counter()
    entries = generate(url, args.subjects)
    print(
        f"generated {args.subjects:,} subjects and {entries:,} entries "
        f"in {time.perf_counter() - t0:.1f} s ({url})"
    )

    from reports.files import write_report

    t0 = time.perf_counter()
    paths = write_report(url, MONTH, None, None, ["csv"], work, None)
    elapsed = time.perf_counter() - t0
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in paths)
    print(
        f"CSV report of all {args.subjects:,} subjects: {elapsed:.1f} s "
        f"({entries / elapsed:,.0f} entries/s; target 60 s) -> {sizes}"
    )


if __name__ == "__main__":
    main()

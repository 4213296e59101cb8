"""The fault-injection suite: ``python -m tests.faults.suite [--short]`` (``./dev faults``).

Runs the input once without faults (the reference), then each fault case on the same
input, and prints one table: every input accounted for, outputs lost, duplicated or
differing against the reference, worker exits, catch-up time, SIGTERM time, verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tests.faults.cases import (
    STOP_LIMIT_S,
    Case,
    Databases,
    Result,
    no_fault,
    run_case,
    suite_cases,
)
from tests.faults.inputs import Input, hostile_inputs, valid_inputs
from tests.faults.ledger import Outcome

REPO = Path(__file__).parents[2]
console = Console(width=None if Console().is_terminal else 160)


def inputs_for(short: bool, now: datetime | None = None) -> list[Input]:
    """The valid input: 3 h of the simulated day (short) or 36 h, ending 2 minutes ago."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    return valid_inputs(3 if short else 36, now - timedelta(minutes=2))


@dataclass
class Reference:
    """The fault-free run every case is compared with, and where the runs are made."""

    valid: list[Input]
    outcome: Outcome
    databases: Databases
    root: Path


def reference_run(short: bool, root: Path, say: bool = True) -> Reference:
    """The valid input sent as a backlog to one worker, without faults."""
    valid = inputs_for(short)
    databases = Databases()
    try:
        if say:
            console.print(f"[cyan]fault-free run of {len(valid)} inputs[/]")
        free = Case("fault-free", no_fault, load_s=0)
        want, result = run_case(free, valid, databases, root / "reference", backlog=True)
        if say:
            console.print(f"  took {result.took_s:.0f} s")
        if result.catch_up_s is None:
            raise RuntimeError(f"the fault-free run did not settle; see {root / 'reference'}")
    except BaseException:
        databases.close()
        raise
    return Reference(valid, want, databases, root)


def run_one(case: Case, ref: Reference, n: int = 0) -> Result:
    """One case on the reference's input (with its hostile records, if any)."""
    inputs = hostile_inputs(ref.valid, case.hostile) if case.hostile else ref.valid
    it = iter(ref.outcome.fates.of)  # each input's fate in the fault-free run
    expected = ["dead" if i.hostile else next(it) for i in inputs]
    got, result = run_case(
        case, inputs, ref.databases, ref.root / f"case-{n}", ref.outcome, expected
    )
    for i, fate in zip(inputs, got.fates.of, strict=True):
        if i.hostile and not fate.startswith("dead:"):
            result.hostile_missed[f"{i.hostile} {fate}"] += 1
    return result


def run_suite(short: bool, root: Path, only: list[str] | None = None) -> list[Result]:
    """The reference run, then each case (``only``: names containing one of these)."""
    cases = [c for c in suite_cases(short) if not only or any(o in c.name for o in only)]
    ref = reference_run(short, root)
    results: list[Result] = []
    try:
        for n, case in enumerate(cases):
            console.print(f"[cyan]{case.name}[/]")
            results.append(run_one(case, ref, n))
            console.print(table(results[-1:]))
    finally:
        ref.databases.close()
    return results


def table(results: list[Result]) -> Table:
    t = Table(title="fault-injection suite")
    for col in (
        "case",
        "inputs",
        "processed",
        "dead-lettered",
        "lost",
        "duplicated",
        "differing",
        "worker exits",
        "catch-up s",
        "SIGTERM s",
        "verdict",
        "run s",
    ):
        t.add_column(col, justify="left" if col == "case" else "right")
    for r in results:
        exits = str(len(r.exits)) + (f" ({r.kills} killed)" if r.kills else "")
        t.add_row(
            r.case,
            str(r.inputs),
            str(r.fates.count("processed")),
            str(r.fates.count("dead")),
            str(r.lost),
            str(r.duplicated),
            str(r.differing),
            exits,
            "-" if r.catch_up_s is None else f"{r.catch_up_s:.1f}",
            f"{r.stop_s:.1f}",
            "[green]PASS[/]" if r.passed else "[red]FAIL[/]",
            f"{r.took_s:.0f}",
        )
    return t


def details(r: Result) -> list[str]:
    """Why a case failed, in a few lines."""
    out = []
    lost_inputs = r.fates.count("lost")
    if lost_inputs:
        out.append(f"inputs neither processed nor dead-lettered: {lost_inputs}")
        out += [f"  {w}" for w in r.lost_where[:8]]
    for kind in ("lost", "extra", "differing"):
        counts = getattr(r.diff, kind)
        if counts:
            out.append(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if r.hostile_missed:
        missed = sorted(r.hostile_missed.items())
        out.append("hostile, not dead-lettered: " + ", ".join(f"{k} {v}" for k, v in missed))
    if r.exits:
        out.append(f"worker exit codes: {r.exits}")
    if r.catch_up_s is None:
        out.append("did not catch up before the timeout")
    if r.stop_s > STOP_LIMIT_S:
        out.append(f"SIGTERM took {r.stop_s:.1f} s (limit {STOP_LIMIT_S:.0f} s)")
    if r.send_failures:
        out.append(f"records the terminals could not send: {r.send_failures}")
    if r.fates.dead_copies:
        out.append(f"repeated dead letters (at-least-once): {r.fates.dead_copies}")
    out += [f"  e.g. {e}" for e in r.diff.examples[:6]]
    if not r.passed:
        out.append(f"logs: {r.workdir}")
    return out


def main(
    short: Annotated[
        bool, typer.Option("--short", help="The CI version: small and quick.")
    ] = False,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only cases whose name contains this.")
    ] = None,
) -> None:
    """Run the fault-injection suite and print its table (exit status 1 if a case fails)."""
    root = REPO / "var" / "faults" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    results = run_suite(short, root, case)
    console.print(table(results))
    for r in results:
        if lines := details(r):
            console.print(f"[bold]{r.case}[/]")
            for line in lines:
                console.print(f"  {line}", markup=False)
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


if __name__ == "__main__":
    typer.run(main)

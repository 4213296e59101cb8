"""The fault-injection suite's short version (CI): each case against the fault-free run of
the same input. The long version is ``./dev faults`` (docs/runbook.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.cases import suite_cases
from tests.faults.suite import Reference, details, reference_run, run_one

pytestmark = pytest.mark.integration
CASES = suite_cases(short=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    root: Path = tmp_path_factory.mktemp("faults")
    ref = reference_run(short=True, root=root, say=False)
    yield ref
    ref.databases.close()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("n", range(len(CASES)), ids=[case.name for case in CASES])
def test_fault_case(reference: Reference, n: int) -> None:
    result = run_one(CASES[n], reference, n)
    assert result.passed, "\n".join([f"{result.case}: FAIL", *details(result)])

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
# Open defect (issue 11's note): after rebalances under SIGKILL, a partition's committed
# offset can stop moving although every output matches the fault-free run. Shown, not hidden:
# the case runs on every CI run and reports XFAIL/XPASS until that is fixed.
STALLED_COMMITS = pytest.mark.xfail(
    strict=False, reason="committed offsets can stall after rebalances under SIGKILL"
)


def _param(n: int) -> object:
    marks = [STALLED_COMMITS] if CASES[n].name.startswith("SIGKILL") else []
    return pytest.param(n, marks=marks, id=CASES[n].name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    root: Path = tmp_path_factory.mktemp("faults")
    ref = reference_run(short=True, root=root, say=False)
    yield ref
    ref.databases.close()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("n", [_param(n) for n in range(len(CASES))])
def test_fault_case(reference: Reference, n: int) -> None:
    result = run_one(CASES[n], reference, n)
    assert result.passed, "\n".join([f"{result.case}: FAIL", *details(result)])

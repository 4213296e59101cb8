"""The thorough run tries the slow property tests' full number of examples."""

from __future__ import annotations

import pytest

from tests.examples import examples


def test_a_short_run_by_default_and_the_full_one_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CCWATCH_THOROUGH", raising=False)
    assert examples(short=50, thorough=200) == 50
    monkeypatch.setenv("CCWATCH_THOROUGH", "1")
    assert examples(short=50, thorough=200) == 200

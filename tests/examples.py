"""How many examples a slow property test tries: a short run in ``./dev test`` (CI), the
full run with ``CCWATCH_THOROUGH=1 ./dev test tests/unit`` (README, "Tests")."""

from __future__ import annotations

import os


def examples(short: int, thorough: int) -> int:
    return thorough if os.environ.get("CCWATCH_THOROUGH") == "1" else short

"""Workers of one app on one machine each get a RocksDB folder of their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from streams.datadir import claim_slot

HOLD = (
    "import sys, time, pathlib; from streams.datadir import claim_slot; "
    "print(claim_slot(pathlib.Path(sys.argv[1])), flush=True); time.sleep(60)"
)


def test_each_process_takes_the_first_free_slot_and_gets_it_back(tmp_path: Path) -> None:
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None
        assert Path(other.stdout.readline().strip()) == tmp_path / "worker-0"
        assert claim_slot(tmp_path) == tmp_path / "worker-1"  # held by the other process
    finally:
        other.kill()  # however a process ends, the system releases its lock
        other.wait()
    again = subprocess.run(
        [sys.executable, "-c", HOLD.replace("time.sleep(60)", "pass"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(again.stdout.strip()) == tmp_path / "worker-0"  # a restart finds its slot

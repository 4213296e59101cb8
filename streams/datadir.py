"""A worker's own folder for its on-disk tables (RocksDB allows one process per database).

Workers of one app on one machine share ``data_dir``: each takes the first free slot folder
under it, guarded by an advisory lock held for the life of the process (the system releases
it when the process ends, however it ends), so a restarted worker finds a slot again, most
often its own, with the tables it kept. Whatever slot it gets, Faust reads each partition's
changelog on from the offset that slot stored, so a table is right in any slot.
"""

from __future__ import annotations

import fcntl
import itertools
import shutil
from pathlib import Path
from typing import IO

_held: list[IO[str]] = []  # the locks of this process's slots: held until it exits


def claim_slot(root: Path, empty: bool = False) -> Path:
    """The first slot folder under ``root`` that no running process holds, now held; with
    ``empty``, without the tables it kept (their changelogs are gone: a broker that lost
    its topics, whose offsets the kept tables would be ahead of)."""
    root.mkdir(parents=True, exist_ok=True)
    for n in itertools.count():
        slot = root / f"worker-{n}"
        slot.mkdir(exist_ok=True)
        lock = (slot / ".lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _held.append(lock)
        if empty:
            for kept in slot.iterdir():
                if kept.name != ".lock":
                    shutil.rmtree(kept) if kept.is_dir() else kept.unlink()
        return slot
    raise AssertionError("unreachable")

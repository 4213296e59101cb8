"""`ccwatch run` as a user runs it: it stops everything it started when stopped with Ctrl-C
(SIGINT to the terminal's process group), SIGTERM or SIGHUP, leaves its ports free and its
worker's log quiet, and does not start beside a run that still holds its ports."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from ccwatch.broker import free_port
from models.localtime import LOCAL_TZ

REPO = Path(__file__).resolve().parents[2]
UP = "simulated day sent"
ERRORS = re.compile(r"ERROR|Connection refused|Traceback|Unable connect", re.IGNORECASE)


def sim_day() -> date:
    """A recent past day early in its month: a history of a day or so."""
    day = datetime.now(LOCAL_TZ).date() - timedelta(days=1)
    return day if day.day <= 2 else day.replace(day=2)


@dataclass
class Run:
    """A ``ccwatch run`` in a session of its own (as in a terminal), its output collected."""

    proc: subprocess.Popen[str]
    env: dict[str, str]
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    children: list[psutil.Process] = field(default_factory=list)

    def output(self) -> str:
        return "".join(self.lines)

    def ports(self) -> list[int]:
        broker = re.search(r"embedded broker \(tansu\) on 127\.0\.0\.1:(\d+)", self.output())
        assert broker, self.output()
        return [
            int(self.env["CCWATCH_WEB_PORT"]),
            int(self.env["CCWATCH_METRICS_PORT"]),
            int(broker[1]),
        ]

    def wait_up(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while UP not in self.output():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, f"not up in {timeout_s} s:\n{self.output()}"
            time.sleep(0.5)
        self.children = psutil.Process(self.proc.pid).children(recursive=True)
        assert len(self.children) >= 3, self.children  # broker, worker, web app (and history)

    def kill_all(self) -> None:
        """However a test ended: nothing of this run is left running."""
        if self.proc.poll() is None:
            self.children += psutil.Process(self.proc.pid).children(recursive=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for p in self.children:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        self.proc.wait(10)


def settings_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCWATCH_")}
    return {
        **env,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "CCWATCH_DATA_DIR": str(tmp / "var"),
        "CCWATCH_DATABASE_URL": f"sqlite:///{tmp / 'ccwatch.db'}",
        "CCWATCH_WEB_PORT": str(free_port()),
        "CCWATCH_METRICS_PORT": str(free_port()),
    }


def start(env: dict[str, str], cwd: Path, *options: str) -> Run:
    day = sim_day().isoformat()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccwatch", "run", "--date", day, "--history-months", "0", *options],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    run = Run(proc, env, Path(env["CCWATCH_DATA_DIR"]))
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: run.lines.extend(stdout), daemon=True).start()
    return run


def assert_all_stopped(run: Run, timeout_s: float = 120) -> None:
    code = run.proc.wait(timeout_s)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in run.children):
        time.sleep(0.2)
    left = [f"{p.pid} {' '.join(p.cmdline())}" for p in run.children if alive(p)]
    assert not left, f"left running: {left}\n{run.output()}"
    for port in run.ports():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server binds
            s.bind(("127.0.0.1", port))  # free again
    assert code == 0, run.output()
    log = (run.data_dir / "worker.log").read_text("utf-8", "replace")
    errors = [line for line in log.splitlines() if ERRORS.search(line)]
    assert len(errors) <= 3, "\n".join(errors[:20]) + f"\n... {len(errors)} error lines"


def alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("first-run")
    run = start(settings_env(tmp), tmp, "--speed", "0")
    try:
        run.wait_up()
        yield run
    finally:
        run.kill_all()


def test_a_second_run_is_refused_while_the_first_holds_its_ports(
    first: Run, tmp_path: Path
) -> None:
    second = start(
        {**first.env, "CCWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'second.db'}"}, tmp_path
    )
    try:
        second.proc.wait(60)
    finally:
        second.kill_all()
    said = second.output()
    assert second.proc.returncode == 2, said
    web = first.env["CCWATCH_WEB_PORT"]
    [holder] = [p for p in first.children if f"127.0.0.1:{web}" in said and str(p.pid) in said]
    assert "ccwatch web" in said, said  # the process, by its command line
    assert "embedded broker" not in said and not (tmp_path / "second.db").exists()
    assert "Traceback" not in said
    assert holder.is_running()


def test_ctrl_c_stops_everything(first: Run) -> None:
    """Last in this module: it ends the module's run."""
    os.killpg(first.proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    assert_all_stopped(first)


@pytest.mark.parametrize("signum", [signal.SIGTERM])
def test_a_signal_to_the_run_alone_stops_everything(signum: int, tmp_path: Path) -> None:
    run = start(settings_env(tmp_path), tmp_path, "--speed", "0")
    try:
        run.wait_up()
        run.proc.send_signal(signum)  # `kill -TERM <pid>`: the children are not told
        assert_all_stopped(run)
    finally:
        run.kill_all()

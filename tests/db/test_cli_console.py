"""The CLI as a user meets it, in a process of its own: from any folder, piped, with people's
text that looks like rich markup, and with no database yet."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import msgspec

from models.db import make_engine, migrate
from streams.sink import DatabaseSink
from tests.factories import verified

HOSTILE = "see [/x] [bold]"
ALERT_ID = "0b6a4c1e-6f1d-5c7e-9a43-3c1f0f6f7d2e"  # as long as a real one (UUIDv5)
REPO = Path(__file__).resolve().parents[2]


def ccwatch(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``ccwatch ARGS`` in ``cwd``, output piped, with only the given CCWATCH_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CCWATCH_")}
    base.pop("COLUMNS", None)
    return subprocess.run(
        [sys.executable, "-m", "ccwatch", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def add_alert(url: str) -> None:
    """An open alert whose reason is long and looks like rich markup."""
    opened = msgspec.structs.replace(
        verified(1, timedelta(hours=5), subject="SS-0007"),
        alert_id=ALERT_ID,
        transition="opened",
        actor="system",
        outcome=None,
        reason_zh=f"离开舟山市，在上海市芦潮港附近，距嵊泗县界 40 公里 {HOSTILE}",
        reason_en=f"left Zhoushan, near Luchao port in Shanghai {HOSTILE}",
    )
    DatabaseSink(make_engine(url)).write_alerts([opened])


def test_alerts_piped_show_ids_in_full_and_text_as_it_is(url: str, tmp_path: Path) -> None:
    add_alert(url)
    shown = ccwatch("alerts", cwd=tmp_path, env={"CCWATCH_DATABASE_URL": url})
    assert shown.returncode == 0, shown.stderr
    assert ALERT_ID in shown.stdout  # what `ccwatch act` needs
    assert HOSTILE in shown.stdout
    assert max(len(line) for line in shown.stdout.splitlines()) > 80  # not cut to 80 columns


def test_act_names_an_unknown_alert_as_given(url: str, tmp_path: Path) -> None:
    env = {"CCWATCH_DATABASE_URL": url, "CCWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:9"}
    refused = ccwatch("act", "[/x]", "acknowledge", "--officer", "O-1", cwd=tmp_path, env=env)
    assert refused.returncode == 1
    assert "no alert [/x]" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr


def test_report_from_another_folder_uses_the_data_folder(tmp_path: Path) -> None:
    from ccwatch.seed import seed

    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    data.mkdir()
    elsewhere.mkdir()
    url = f"sqlite:///{data / 'ccwatch.db'}"
    migrate(url)
    seed(make_engine(url))
    env = {"CCWATCH_DATA_DIR": str(data)}  # the database's default home
    done = ccwatch("report", "--month", "2026-11", "--format", "csv", cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (data / "reports").iterdir()) == [
        "points-2026-11-all-entries.csv",
        "points-2026-11-all-subjects.csv",
    ]
    assert list(elsewhere.iterdir()) == []


def test_a_missing_database_is_named_with_how_to_create_it(tmp_path: Path) -> None:
    env = {"CCWATCH_DATA_DIR": str(tmp_path / "none")}
    for args in (["report", "--month", "2026-11"], ["alerts"], ["points"]):
        refused = ccwatch(*args, cwd=tmp_path, env=env)
        said = refused.stdout + refused.stderr
        assert refused.returncode == 2, said
        assert "no database" in said and "ccwatch db upgrade" in said, said
        assert str(tmp_path / "none" / "ccwatch.db") in said
        assert "Traceback" not in said
    assert list(tmp_path.iterdir()) == []  # no empty database left behind


def test_an_uninitialised_database_says_how_to_set_it_up(tmp_path: Path) -> None:
    (tmp_path / "ccwatch.db").touch()
    env = {"CCWATCH_DATA_DIR": str(tmp_path)}
    refused = ccwatch("alerts", cwd=tmp_path, env=env)
    said = refused.stdout + refused.stderr
    assert refused.returncode == 2 and "Traceback" not in said, said
    assert "no ccwatch tables" in said and "ccwatch db upgrade" in said, said

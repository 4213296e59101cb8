"""Settings come from CCWATCH_* variables, and the README documents every one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccwatch.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text("utf-8")


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCWATCH_PARTITIONS", "12")
    monkeypatch.setenv("CCWATCH_TOPIC_PREFIX", "zj.shengsi")
    s = Settings()
    assert s.partitions == 12
    assert s.topics.locations == "zj.shengsi.locations"
    assert s.topics.dead_letter == "zj.shengsi.dead-letter"


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCWATCH_PARTITIONS", "0")
    with pytest.raises(ValueError, match="partitions"):
        Settings()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_readme_documents_the_setting(name: str) -> None:
    assert f"`CCWATCH_{name.upper()}`" in README


def test_default_files_live_in_the_project_whatever_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parents[2]
    for name in ("CCWATCH_DATA_DIR", "CCWATCH_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.data_dir == root / "var"
    assert s.database_url == f"sqlite:///{root / 'var' / 'ccwatch.db'}"


def test_the_default_database_lives_in_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CCWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("CCWATCH_DATA_DIR", str(tmp_path))
    assert Settings().database_url == f"sqlite:///{tmp_path / 'ccwatch.db'}"
    monkeypatch.setenv("CCWATCH_DATABASE_URL", "sqlite:///var/replay.db")  # as given
    assert Settings().database_url == "sqlite:///var/replay.db"


def test_settings_handed_to_a_child_process_read_back_the_same(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a test or a benchmark gives a worker process: its settings as variables."""
    given = Settings(data_dir=tmp_path, partitions=8, tick_interval_s=1.5, topic_prefix="x")
    for name, value in given.environment().items():
        monkeypatch.setenv(name, value)
    assert Settings() == given

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

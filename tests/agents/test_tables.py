"""The workers' tables: changelogs Kafka compacts (docs/runbook.md, Restart time)."""

from __future__ import annotations

from streams.worker import Worker
from tests.agents.conftest import Sent


def test_state_changelogs_are_compacted_topics(worker: tuple[Worker, Sent]) -> None:
    w, _ = worker
    for name in ("subjects", "groups"):
        topic = w.tables[name].changelog_topic
        assert topic.compacting  # created with cleanup.policy=compact
        assert topic.get_topic_name().endswith("-changelog")

"""Topic names and their creation before any client touches them."""

from __future__ import annotations

import contextlib
import logging

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)
TABLES = ("subject-state", "group-state")  # the worker's Faust tables, by name


class TopicNames:
    """The names of ccwatch's topics under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        # inputs
        self.checkins = f"{prefix}.checkins"
        self.locations = f"{prefix}.locations"
        self.activities = f"{prefix}.activities"
        self.decisions = f"{prefix}.decisions"
        self.actions = f"{prefix}.alert-actions"
        self.devices = f"{prefix}.devices"
        self.control = f"{prefix}.control"
        # internal: co-offenders' fixes repartitioned by group, decisions back by subject
        self.groups = f"{prefix}.groups"
        self.sightings = f"{prefix}.sightings"
        # outputs
        self.alerts = f"{prefix}.alerts"
        self.points = f"{prefix}.points"
        self.recommendations = f"{prefix}.recommendations"
        self.dead_letter = f"{prefix}.dead-letter"

    def of_kind(self, kind: str) -> str:
        """The input topic of a simulated or generated record's kind."""
        return {
            "checkin": self.checkins,
            "location": self.locations,
            "activity": self.activities,
            "device": self.devices,
            "tick": self.control,
        }[kind]

    def inputs(self) -> list[str]:
        return [
            self.checkins,
            self.locations,
            self.activities,
            self.decisions,
            self.actions,
            self.devices,
            self.control,
        ]

    def all(self) -> list[str]:
        return [
            *self.inputs(),
            self.groups,
            self.sightings,
            self.alerts,
            self.points,
            self.recommendations,
            self.dead_letter,
        ]


def ensure_topics(
    bootstrap: str,
    names: list[str],
    partitions: int,
    replication_factor: int = 1,
    configs: dict[str, dict[str, str]] | None = None,
) -> None:
    """Create missing topics with ``partitions`` partitions (and each one's ``configs``);
    fail on a count mismatch.

    Brokers that auto-create unknown topics pick their own partition count, which breaks
    co-partitioning with the tables' changelogs, so every topic is created up front.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ccwatch-admin")
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # a concurrent creator won
                admin.create_topics(
                    [
                        NewTopic(
                            n,
                            partitions,
                            replication_factor,
                            topic_configs=(configs or {}).get(n, {}),
                        )
                        for n in missing
                    ]
                )
            log.info("created topics %s with %d partitions", missing, partitions)
        described = admin.describe_topics(names)
        for topic in described:
            count = len(topic["partitions"])
            if count != partitions:
                raise RuntimeError(
                    f"topic {topic['topic']} has {count} partitions, expected {partitions}: "
                    "set CCWATCH_PARTITIONS to match or recreate the topic"
                )
    finally:
        admin.close()


def changelogs(app_id: str) -> list[str]:
    """The changelog topics of the worker's tables (Faust names them so)."""
    return [f"{app_id}-{table}-changelog" for table in TABLES]


def absent(bootstrap: str, names: list[str]) -> list[str]:
    """Which of ``names`` the broker does not have."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ccwatch-admin")
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    return [n for n in names if n not in existing]

"""The worker's Kafka producer made idempotent: Faust has no setting for it (only its
exactly-once mode turns it on), so a transport whose producer asks aiokafka for it.

An idempotent producer waits for every in-sync replica (acks=all) and the broker drops a
retried batch it already has, so a retry after a lost acknowledgement writes no duplicate.
Apache Kafka supports it; the local tansu broker does not (InitProducerId fails), hence
``CCWATCH_PRODUCER_IDEMPOTENCE`` is off by default and on in docker-compose.yml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka


class IdempotentProducer(aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class IdempotentTransport(aiokafka.Transport):
    Producer = IdempotentProducer


def make_idempotent(app: faust.App) -> None:
    """Give ``app`` the idempotent producer; call it before anything uses the transport."""
    app.transport = IdempotentTransport(app.conf.broker_consumer, app)

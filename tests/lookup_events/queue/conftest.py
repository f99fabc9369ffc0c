"""The queue on every transport: the embedded SQLite file, RabbitMQ, Redis, SQS.

RabbitMQ and Redis are the servers on 127.0.0.1 (skipped when down, failed
under CI=true); SQS is the session's moto server. Every test uses its own
queue names and deletes them afterwards. Where a broker gives back what a
dead consumer held after a timeout, the timeout is 2 s.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import Backoff
from tests.support.queues import REDIS_URL, TRANSPORTS, Broker, server_broker
from tests.support.rabbitmq import AMQP_URL, broker_in_use


@pytest.fixture(params=TRANSPORTS)
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    """Return each transport in turn (RabbitMQ held while the test uses it)."""
    kind: str = request.param
    if kind == "rabbitmq":
        with broker_in_use():
            yield server_broker(kind, AMQP_URL, {})
    elif kind == "redis":
        yield server_broker(kind, REDIS_URL, {"visibility_timeout": 2})
    elif kind == "embedded":
        yield Broker(kind, f"sqlite:///{tmp_path / 'data' / 'queue.db'}?lease=2")
    elif kind == "memory":
        yield Broker(kind, "memory://")
    else:  # sqs
        endpoint = urlsplit(request.getfixturevalue("moto_endpoint"))
        options = {"region": "us-east-1", "is_secure": False, "visibility_timeout": 2}
        yield Broker(kind, f"sqs://testing:testing@{endpoint.netloc}", options)


@pytest.fixture
def queue(broker: Broker) -> Iterator[EventQueue]:
    """Open a uniquely named queue with quick backoff (0.5 s, 1 s) and 3 attempts."""
    opened = EventQueue(
        broker.url,
        name=f"test-{uuid.uuid4().hex[:10]}",
        max_attempts=3,
        backoff=Backoff(initial=0.5, factor=2.0, maximum=4.0),
        transport_options=broker.options,
    )
    yield opened
    opened.delete()

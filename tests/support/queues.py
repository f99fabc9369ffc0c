"""The queue tests' transports, events, a consuming loop and a second process.

RabbitMQ and Redis are the servers on 127.0.0.1; SQS is the session's moto
server; ``memory`` is in-process only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from lookup_events.events import DatasetEvent
from lookup_events.queue.consumer import Delivery
from lookup_events.queue.event_queue import EventQueue
from tests.support.processes import REPO
from tests.support.servers import require_service

REDIS_URL = os.environ.get("DTOOL_LOOKUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
EMBEDDED = pytest.param("embedded", id="embedded")
RABBITMQ = pytest.param("rabbitmq", id="rabbitmq", marks=pytest.mark.rabbitmq)
REDIS = pytest.param("redis", id="redis")
SQS = pytest.param("sqs", id="sqs")
MEMORY = pytest.param("memory", id="memory")
#: Every transport with a server (or a file) behind it; ``memory`` is in-process only.
TRANSPORTS = [EMBEDDED, RABBITMQ, REDIS, SQS]

# A second process: publishes events, or takes one event and then dies
# (SIGKILL) or leaves gracefully, in both cases without acking it.
CHILD = r"""
import json, os, signal, sys
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import Backoff
args = json.loads(sys.argv[1])
queue = EventQueue(
    args["url"],
    name=args["name"],
    transport_options=args["options"],
    max_attempts=args["max_attempts"],
    backoff=Backoff(*args["backoff"]),
)
if args["mode"] == "publish":
    queue.publish_many(DatasetEvent.from_json(text) for text in args["events"])
    queue.close()
    sys.exit(0)
with queue.consumer(prefetch=1) as consumer:
    for batch in consumer.batches(max_size=1, idle_timeout=20):
        print(batch[0].event.uri, flush=True)
        if args["mode"] == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        break
"""


@dataclass
class Broker:
    """Where a queue lives, and how to reach it."""

    kind: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)


def server_broker(kind: str, url: str, options: dict[str, Any]) -> Broker:
    """Return the broker of a server at ``url`` (skip, or fail under CI, when it is down)."""
    parts = urlsplit(url)
    require_service(kind, parts.hostname or "127.0.0.1", parts.port or 0)
    return Broker(kind, url, options)


def event(number: int = 0) -> DatasetEvent:
    """Return a frozen event for a dataset in a test bucket."""
    uri = f"s3://bucket/{uuid.UUID(int=number)}"
    return DatasetEvent.create(
        "frozen", uri, "s3", occurred_at=1.8e9 + number, event_id=str(number)
    )


def consume(
    queue: EventQueue, verdict: Callable[[Delivery], Any], expect: int, idle: float = 6
) -> list[tuple[Delivery, float]]:
    """Settle deliveries with ``verdict(delivery)`` until ``expect`` came or ``idle`` passed."""
    seen: list[tuple[Delivery, float]] = []
    with queue.consumer(prefetch=10) as consumer:
        for batch in consumer.batches(max_size=10, max_wait=0.2, idle_timeout=idle):
            for delivery in batch:
                seen.append((delivery, time.monotonic()))
                verdict(delivery)
            if len(seen) >= expect:
                break
    return seen


def run_child(broker: Broker, queue: EventQueue, mode: str, **extra: Any) -> str:
    """Run CHILD in a new Python process; return what it printed."""
    args = {
        "url": broker.url,
        "name": queue.name,
        "options": broker.options,
        "mode": mode,
        "max_attempts": queue.max_attempts,
        "backoff": dataclasses.astuple(queue.backoff),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps({**args, **extra})],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in {0, -9}, done.stderr
    return done.stdout.strip()

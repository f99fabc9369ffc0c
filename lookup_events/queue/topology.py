"""The event queue's topology and the values its messages carry.

For a queue named N (default ``dtool-lookup``), on one durable direct
exchange N:

- ``N`` (routing key ``work``): the durable work queue of event messages;
- ``N.dead`` (``dead``): dead letters, JSON holding the original body, the
  reason, the attempt count and the time;
- ``N.delay.<ms>`` (``delay.<ms>``): one queue per backoff delay, on the
  transports whose retries wait in delay queues (``delays.py``).

Headers: ``x-attempts`` (failures so far), ``x-last-error``, and
``x-not-before`` (the time a retry in a delay queue is due).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from kombu import entity as kombu_entity

from lookup_events.errors import InvalidEvent
from lookup_events.events import DatasetEvent

# NOTE(dev): kombu ships py.typed but almost no annotations; its objects are Any here.
Exchange: Any = kombu_entity.Exchange
Queue: Any = kombu_entity.Queue

CONTENT_TYPE = "application/json"
WORK = "work"
DEAD = "dead"
MAX_REASON = 2000

#: The broker arguments of an exchange's delay queue for a delay in ms (None: none).
QueueArguments = Callable[[str, int], "dict[str, Any] | None"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: the wait before the next try after n failures."""

    initial: float = 2.0
    factor: float = 4.0
    maximum: float = 900.0

    def delay(self, failures: int) -> float:
        """Return the seconds to wait after the ``failures``-th failure."""
        return float(min(self.initial * self.factor ** max(failures - 1, 0), self.maximum))


#: Waits between reconnection attempts (broker) and database probes.
RECONNECT = Backoff(initial=0.5, factor=2.0, maximum=30.0)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that was given up on, and why."""

    body: str
    reason: str
    attempts: int
    failed_at: float
    queue: str = ""

    @property
    def event(self) -> DatasetEvent | None:
        """The event in the body, or None for a body that is not one."""
        try:
            return DatasetEvent.from_json(self.body)
        except InvalidEvent:
            return None

    def to_json(self) -> str:
        """Return the dead-letter message body."""
        return json.dumps(asdict(self))

    @classmethod
    def from_message(cls, body: str) -> DeadLetter:
        """Read a dead-letter message body; a foreign one becomes its own entry."""
        try:
            data = json.loads(body)
            return cls(
                str(data["body"]),
                str(data["reason"]),
                int(data["attempts"]),
                float(data["failed_at"]),
                str(data.get("queue", "")),
            )
        except (ValueError, TypeError, KeyError):
            return cls(body, "not a dead-letter record", 0, 0.0)


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Messages waiting in each part of the topology."""

    ready: int
    delayed: int
    dead: int


@dataclass(frozen=True)
class Topology:
    """The exchange and queues of one event queue, as kombu entities."""

    name: str
    exchange: Any
    work_queue: Any
    dead_queue: Any
    delay_queues: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, delays_ms: Iterable[int], arguments: QueueArguments) -> Topology:
        """Return the topology named ``name``, a delay queue per delay given."""
        exchange = Exchange(name, type="direct", durable=True)
        work = Queue(name, exchange, routing_key=WORK, durable=True)
        dead = Queue(f"{name}.{DEAD}", exchange, routing_key=DEAD, durable=True)
        delay_queues = {
            ms: Queue(
                f"{name}.delay.{ms}",
                exchange,
                routing_key=delay_key(ms),
                durable=True,
                queue_arguments=arguments(name, ms),
            )
            for ms in sorted(set(delays_ms))
        }
        return cls(name, exchange, work, dead, delay_queues)

    def queues(self) -> list[Any]:
        """Return every queue of the topology."""
        return [self.work_queue, self.dead_queue, *self.delay_queues.values()]

    @property
    def longest_delay(self) -> float:
        """The longest delay a delay queue holds a message for, in seconds."""
        return max(self.delay_queues, default=0) / 1000


def delay_key(ms: int) -> str:
    """Return the routing key of the delay queue for ``ms`` milliseconds."""
    return f"delay.{ms}"


def queue_size(queue: Any, channel: Any) -> int:
    """Return how many messages wait in ``queue`` (a kombu entity) on ``channel``."""
    _, count, _ = queue(channel).queue_declare()
    return int(count)


def copied_headers(message: Any) -> dict[str, Any]:
    """Return a message's headers to re-publish, without the broker's own."""
    return {k: v for k, v in (message.headers or {}).items() if k != "x-death"}


def text_of(body: str | bytes) -> str:
    """Return a message body as text."""
    return body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body

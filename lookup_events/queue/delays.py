"""How a retry waits out its backoff: one component per way a broker can delay.

- ``TtlDelayQueues`` (RabbitMQ): each delay queue has ``x-message-ttl``
  and dead-letters into the work queue when the TTL expires; no consumer
  code.
- ``BrokerDelay`` (SQS, the embedded queue): the retry goes to the work
  queue with a ``delay_seconds`` property and the broker hides it until it
  is due (SQS's ``DelaySeconds``, at most 900 s); no delay queues.
- ``PromotedDelayQueues`` (Redis, any other kombu transport): the delay
  queues hold the retries with an ``x-not-before`` header; every consumer
  moves the due heads of those queues to the work queue between batches
  (``DelayPromoter``). Within one delay queue the due times only grow, so
  only its head needs looking at. A head not yet due is held unacked, so a
  broker that gives unacked messages back after a visibility timeout must
  not do so before the longest delay.

A transport (``transports.py``) picks its component once; the event queue
and its consumers never ask which broker they are on.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from lookup_events.queue.topology import (
    CONTENT_TYPE,
    WORK,
    Topology,
    copied_headers,
    delay_key,
    text_of,
)

#: Publishes a body: ``send(body, routing_key, headers, **properties)``.
Send = Callable[..., None]
Clock = Callable[[], float]

_PROMOTIONS_PER_ROUND = 1000


@dataclass(frozen=True, slots=True)
class Retry:
    """A message to publish again once ``delay`` seconds have passed."""

    body: str
    headers: dict[str, Any]
    delay: float
    due: float


class Housekeeper(Protocol):
    """What a consumer runs between batches."""

    def run(self) -> int:
        """Do one round of housekeeping; return how many messages it moved."""
        ...


class RetryDelay(ABC):
    """How a retry waits out its backoff on one kind of broker."""

    #: Whether retries wait in a queue per backoff delay.
    uses_delay_queues: ClassVar[bool] = False

    def topology(self, name: str, delays: Iterable[float]) -> Topology:
        """Return the topology named ``name``, with its delay queues if any."""
        delays_ms = [round(delay * 1000) for delay in delays] if self.uses_delay_queues else []
        return Topology.create(name, delays_ms, self.queue_arguments)

    def queue_arguments(self, exchange: str, ms: int) -> dict[str, Any] | None:
        """Return the broker arguments of ``exchange``'s delay queue for ``ms`` ms."""
        return None

    @abstractmethod
    def schedule(self, send: Send, retry: Retry) -> None:
        """Publish ``retry`` so that it reaches the work queue once due."""

    def housekeeper(
        self, topology: Topology, send: Send, clock: Clock, connection: Any
    ) -> Housekeeper | None:
        """Return what a consumer on ``connection`` runs between batches, if anything."""
        return None


class TtlDelayQueues(RetryDelay):
    """Delay queues whose message TTL dead-letters a retry into the work queue."""

    uses_delay_queues = True

    def queue_arguments(self, exchange: str, ms: int) -> dict[str, Any] | None:
        """Return the TTL and dead-letter target of the ``ms`` delay queue."""
        return {
            "x-message-ttl": ms,
            "x-dead-letter-exchange": exchange,
            "x-dead-letter-routing-key": WORK,
        }

    def schedule(self, send: Send, retry: Retry) -> None:
        """Park the retry in the delay queue of its delay."""
        send(retry.body, delay_key(round(retry.delay * 1000)), retry.headers)


class BrokerDelay(RetryDelay):
    """The broker hides a retry sent to the work queue until it is due."""

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit

    def schedule(self, send: Send, retry: Retry) -> None:
        """Send the retry to the work queue with its delay in whole seconds."""
        seconds = math.ceil(retry.delay)
        if self._limit is not None:
            seconds = min(seconds, self._limit)
        send(retry.body, WORK, retry.headers, delay_seconds=seconds)


class PromotedDelayQueues(RetryDelay):
    """Delay queues of retries marked ``x-not-before``, promoted by consumers."""

    uses_delay_queues = True

    def schedule(self, send: Send, retry: Retry) -> None:
        """Park the retry in the delay queue of its delay, marked with its due time."""
        headers = {**retry.headers, "x-not-before": retry.due}
        send(retry.body, delay_key(round(retry.delay * 1000)), headers)

    def housekeeper(
        self, topology: Topology, send: Send, clock: Clock, connection: Any
    ) -> DelayPromoter:
        """Return a promoter of due retries on a channel of ``connection``."""
        return DelayPromoter(topology, send, clock, connection.channel())


class DelayPromoter:
    """Moves due retries from the heads of the delay queues to the work queue.

    A head not yet due is kept unacked (one per delay queue) until it is.
    """

    def __init__(self, topology: Topology, send: Send, clock: Clock, channel: Any) -> None:
        self._topology = topology
        self._send = send
        self._clock = clock
        self._channel = channel
        self._held: dict[int, Any] = {}

    def run(self) -> int:
        """Promote what is due; return how many retries moved."""
        moved = 0
        for ms, queue in self._topology.delay_queues.items():
            while moved < _PROMOTIONS_PER_ROUND:
                head = self._held.pop(ms, None) or queue(self._channel).get(
                    no_ack=False, accept=[CONTENT_TYPE]
                )
                if head is None:
                    break
                headers = copied_headers(head)
                if float(headers.pop("x-not-before", 0)) > self._clock():
                    self._held[ms] = head
                    break
                self._send(text_of(head.body), WORK, headers)
                head.ack()
                moved += 1
        return moved

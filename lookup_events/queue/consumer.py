"""Consuming the event queue: batches of deliveries that the handler settles.

Each delivery is acked only when the handler says its work is committed
(``ack``), retried with backoff (``retry``) or parked with a reason
(``dead_letter``). Messages that are not valid events are dead-lettered here
and never reach the handler; what the handler leaves unsettled is retried
before the next batch is fetched. Between batches the consumer runs its
transport's housekeeping (on some, moving due retries to the work queue).

Typical use::

    with queue.consumer(prefetch=20) as consumer:
        for batch in consumer.batches(max_size=10):
            for delivery in batch:
                ...  # write the store, commit
                delivery.ack()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from kombu import messaging as kombu_messaging
from kombu.exceptions import OperationalError

from lookup_events.errors import InvalidEvent, QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.queue.delays import Housekeeper
from lookup_events.queue.topology import CONTENT_TYPE, Topology, text_of
from lookup_events.queue.transports import Transport

# NOTE(dev): kombu ships py.typed but almost no annotations; its objects are Any here.
Consumer: Any = kombu_messaging.Consumer


class ConsumedQueue(Protocol):
    """What a consumer needs of the queue it consumes (an ``EventQueue``)."""

    max_attempts: int
    topology: Topology
    transport: Transport

    def connect(self) -> Any:
        """Return a new connection with the topology declared."""
        ...

    def retry_later(self, message: Any, failures: int, reason: str) -> None:
        """Re-publish a received message to come back after the backoff delay."""
        ...

    def dead_letter(self, body: str | bytes, reason: str, attempts: int = 0) -> None:
        """Park a body that cannot be handled."""
        ...

    def housekeeper(self, connection: Any) -> Housekeeper | None:
        """Return what a consumer on ``connection`` runs between batches, if anything."""
        ...


class Delivery:
    """One received event, waiting for the handler's verdict."""

    def __init__(self, queue: ConsumedQueue, message: Any, event: DatasetEvent) -> None:
        self.event = event
        self.attempts = int((message.headers or {}).get("x-attempts", 0))
        self.redelivered = bool((message.delivery_info or {}).get("redelivered", False))
        self.settled = ""
        self._queue = queue
        self._message = message

    def ack(self) -> None:
        """Acknowledge: the work is committed, the message can go."""
        self._settle("acked")
        self._message.ack()

    def retry(self, reason: str) -> None:
        """Try again after a backoff; dead-letter after the last attempt."""
        failures = self.attempts + 1
        if failures >= self._queue.max_attempts:
            self.dead_letter(f"{reason} (gave up after {failures} attempts)")
            return
        self._settle("retried")
        self._queue.retry_later(self._message, failures, reason)
        self._message.ack()

    def dead_letter(self, reason: str) -> None:
        """Give up on the message, keeping its body, the reason and the attempts."""
        self._settle("dead-lettered")
        self._queue.dead_letter(self._message.body, reason, self.attempts + 1)
        self._message.ack()

    def _settle(self, verdict: str) -> None:
        if self.settled:
            raise RuntimeError(f"the delivery of {self.event.uri} was {self.settled} already")
        self.settled = verdict


def ack_all(deliveries: Sequence[Delivery]) -> None:
    """Acknowledge deliveries whose work is committed: one multiple-ack on AMQP.

    Settle the batch's other deliveries first: an AMQP multiple-ack covers
    every unacknowledged message of the channel up to the newest one given.
    """
    if not deliveries:
        return
    if not deliveries[0]._queue.transport.multiple_ack:
        for delivery in deliveries:
            delivery.ack()
        return
    for delivery in deliveries:
        delivery._settle("acked")
    newest = max(deliveries, key=lambda delivery: delivery._message.delivery_tag)
    newest._message.ack(multiple=True)


class EventConsumer:
    """Receives events from the work queue in batches, with a prefetch limit."""

    def __init__(self, queue: ConsumedQueue, prefetch: int = 20) -> None:
        self.queue = queue
        self.prefetch = max(prefetch, 1)
        self._buffer: list[Any] = []
        self._connection: Any = None
        self._housekeeper: Housekeeper | None = None

    def __enter__(self) -> EventConsumer:
        self._connection = self.queue.connect()
        consumer = Consumer(
            self._connection.channel(),
            [self.queue.topology.work_queue],
            on_message=self._buffer.append,
            prefetch_count=self.prefetch,
            accept=[CONTENT_TYPE],
        )
        consumer.consume()
        self._housekeeper = self.queue.housekeeper(self._connection)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            self._connection.release()  # unacked messages go back to the queue
        self._connection = self._housekeeper = None
        self._buffer.clear()

    def batches(
        self,
        max_size: int = 10,
        max_wait: float = 0.5,
        idle_timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[list[Delivery]]:
        """Yield batches of up to ``max_size`` deliveries.

        A batch is cut when full or after ``max_wait`` seconds. Iteration
        ends after ``idle_timeout`` seconds without a message, or once
        ``stop`` is set. What the handler left unsettled is retried before
        the next batch is fetched.
        """
        max_size = min(max_size, self.prefetch)
        idle_since = time.monotonic()
        while stop is None or not stop.is_set():
            if self._housekeeper is not None:
                self._housekeeper.run()
            self._fill(max_size, max_wait, stop)
            if not self._buffer:
                if idle_timeout is not None and time.monotonic() - idle_since >= idle_timeout:
                    return
                continue
            idle_since = time.monotonic()
            batch = self._deliveries(max_size)
            if batch:
                yield batch
            for delivery in batch:
                if not delivery.settled:
                    delivery.retry("the handler did not settle the delivery")

    def _fill(self, max_size: int, max_wait: float, stop: threading.Event | None) -> None:
        if self._connection is None:
            raise RuntimeError("use the consumer as a context manager")
        deadline = time.monotonic() + max_wait
        while len(self._buffer) < max_size and (stop is None or not stop.is_set()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                self._connection.drain_events(timeout=remaining)
            except TimeoutError:
                return
            except (OperationalError, *self._connection.connection_errors) as ex:
                raise QueueUnavailable(f"lost the event queue: {ex}") from ex

    def _deliveries(self, max_size: int) -> list[Delivery]:
        taken, self._buffer[:max_size] = self._buffer[:max_size], []
        batch = []
        for message in taken:
            try:
                event = DatasetEvent.from_json(text_of(message.body))
            except InvalidEvent as ex:
                attempts = int((message.headers or {}).get("x-attempts", 0)) + 1
                self.queue.dead_letter(message.body, str(ex), attempts)
                message.ack()
                continue
            batch.append(Delivery(self.queue, message, event))
        return batch

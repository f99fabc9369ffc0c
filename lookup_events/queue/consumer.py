"""Consuming the event queue: batches of deliveries that the handler settles.

Each delivery is acked only when the handler says its work is committed
(``ack``), retried with backoff (``retry``) or parked with a reason
(``dead_letter``). Messages that are not valid events are dead-lettered here
and never reach the handler; a handler that raises gets its unsettled
deliveries retried, and the consumer keeps going.

Typical use::

    with queue.consumer(prefetch=20) as consumer:
        for batch in consumer.batches(max_size=10):
            for delivery in batch:
                ...  # write the store, commit
                delivery.ack()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import amqp  # type: ignore[import-untyped]  # py-amqp has no stubs
from amqp.transport import TCPTransport  # type: ignore[import-untyped]  # py-amqp has no stubs
from kombu import messaging as kombu_messaging
from kombu.exceptions import OperationalError

from lookup_events.errors import InvalidEvent, QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import CONTENT_TYPE, EventQueue, text_of

log = logging.getLogger(__name__)

Consumer: Any = kombu_messaging.Consumer
_SWEEP_INTERVAL = 3600.0
_READ_AHEAD = 8192


class Delivery:
    """One received event, waiting for the handler's verdict."""

    def __init__(self, queue: EventQueue, message: Any, event: DatasetEvent) -> None:
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
    if deliveries[0]._queue.flavour != "amqp":
        for delivery in deliveries:
            delivery.ack()
        return
    for delivery in deliveries:
        delivery._settle("acked")
    newest = max(deliveries, key=lambda delivery: delivery._message.delivery_tag)
    newest._message.ack(multiple=True)


class EventConsumer:
    """Receives events from the work queue in batches, with a prefetch limit."""

    def __init__(self, queue: EventQueue, prefetch: int = 20) -> None:
        self.queue = queue
        self.prefetch = max(prefetch, 1)
        self._buffer: list[Any] = []
        self._held: dict[int, Any] = {}
        self._connection: Any = None
        self._delay_channel: Any = None
        self._swept_at: float | None = None

    def __enter__(self) -> EventConsumer:
        self._connection = self.queue.connect()
        consumer = Consumer(
            self._connection.channel(),
            [self.queue.work_queue],
            on_message=self._buffer.append,
            prefetch_count=self.prefetch,
            accept=[CONTENT_TYPE],
        )
        consumer.consume()
        if self.queue.flavour == "amqp":
            _read_ahead(self._connection)
        if self.queue.delay_queues and self.queue.flavour != "amqp":
            self._delay_channel = self._connection.channel()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            self._connection.release()  # unacked messages go back to the queue
        self._connection = self._delay_channel = None
        self._buffer.clear()
        self._held.clear()

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
            self._housekeeping()
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

    def run(
        self,
        handler: Callable[[list[Delivery]], None],
        max_size: int = 10,
        max_wait: float = 0.5,
        idle_timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> int:
        """Hand batches to ``handler``; return how many deliveries it got."""
        handled = 0
        for batch in self.batches(max_size, max_wait, idle_timeout, stop):
            try:
                handler(batch)
            except Exception as ex:
                log.exception("the event handler failed on a batch of %d", len(batch))
                for delivery in batch:
                    if not delivery.settled:
                        delivery.retry(f"{type(ex).__name__}: {ex}")
            handled += len(batch)
        return handled

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

    def _housekeeping(self) -> None:
        if self._delay_channel is not None:
            self.queue.promote_due(self._delay_channel, self._held)
        due = self._swept_at is None or time.monotonic() - self._swept_at > _SWEEP_INTERVAL
        if due and self.queue.flavour == "sqlite":
            self._swept_at = time.monotonic()
            _delete_consumed_rows(self._connection)


def _read_ahead(connection: Any) -> None:
    """Let py-amqp take what the socket holds, not one frame part at a time.

    NOTE(dev): py-amqp asks ``recv`` for exactly the bytes it needs next (a
    frame's header, payload and end octet): nine system calls per message.
    Its ``_read`` keeps whatever a ``recv`` returns beyond that in its read
    buffer and serves the next frames from there, so asking for a chunk is
    enough. Kept small: ``_read`` copies the rest of the buffer on each call.
    """
    transport: Any = getattr(connection.connection, "transport", None)
    if type(transport) is not TCPTransport:  # TLS reads its own records
        return
    if not amqp.__version__.startswith("5."):  # the private read path checked above
        return
    recv = transport.sock.recv
    transport._quick_recv = lambda size: recv(max(size, _READ_AHEAD))


def _delete_consumed_rows(connection: Any) -> None:
    """Delete the rows kombu's SQL transport hides but never deletes.

    NOTE(dev): an in-flight message's row is hidden too; deleting it is safe
    because kombu gives a message back by inserting a new row.
    """
    try:
        channel = connection.default_channel
        model = channel.message_cls
        deleted = channel.session.query(model).filter(model.visible.is_(False)).delete()
        channel.session.commit()
        log.debug("deleted %d consumed rows from the embedded queue", deleted)
    except Exception:
        log.warning("could not clean up the embedded queue", exc_info=True)

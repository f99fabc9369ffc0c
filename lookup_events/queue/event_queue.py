"""The event queue: publishing events, retries with backoff, and dead letters.

``EventQueue`` is what the rest of the write side holds: it publishes
events, parks dead letters, lists and replays them, counts what waits, and
opens consumers (``consumer.py``). The topology is in ``topology.py``; what
differs between brokers is the transport, chosen once from the URL
(``transports.py``).

Consumers settle every delivery: ack once the work is committed, retry
(re-published with a delay; dead-lettered after ``max_attempts``) or
dead-letter. A re-publish always happens before the ack, so a crash in
between makes a duplicate, never a loss.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from kombu import messaging as kombu_messaging
from kombu.exceptions import OperationalError

from lookup_events.errors import QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.observability import metrics
from lookup_events.queue.consumer import EventConsumer
from lookup_events.queue.delays import Housekeeper, Retry
from lookup_events.queue.topology import (
    CONTENT_TYPE,
    DEAD,
    MAX_REASON,
    WORK,
    Backoff,
    DeadLetter,
    QueueCounts,
    copied_headers,
    queue_size,
    text_of,
)
from lookup_events.queue.transports import Transport, transport_for

# NOTE(dev): kombu ships py.typed but almost no annotations; its objects are Any here.
Producer: Any = kombu_messaging.Producer

_PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}


class EventQueue:
    """A durable queue of dataset events with retries and dead letters.

    Publishing is thread-safe (one connection, behind a lock); each
    consumer opens a connection of its own and belongs to one thread.

    Raises:
        ValueError: the URL or the transport options cannot work (see
            ``transports.py``).
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "dtool-lookup",
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        transport_options: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.name = name
        self.max_attempts = max(max_attempts, 1)
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.transport: Transport = transport_for(url)
        delays = [self.backoff.delay(n) for n in range(1, self.max_attempts)]
        self.topology = self.transport.delays.topology(name, delays)
        self._options = {**self.transport.options(), **(transport_options or {})}
        self.transport.check(self._options, self.topology)
        self._lock = threading.RLock()
        self._connection: Any | None = None
        self._producer: Any | None = None

    def __enter__(self) -> EventQueue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self) -> Any:
        """Return a new connection with the topology declared.

        Raises:
            QueueUnavailable: the broker cannot be reached (or the embedded
                queue's file cannot be created).
        """
        connection = self.transport.connection(self._options)
        try:
            self.transport.prepare()
            connection.ensure_connection(max_retries=2, interval_start=0.2)
            channel = connection.default_channel
            for queue in self.topology.queues():
                queue(channel).declare()
        except (OperationalError, OSError, *connection.connection_errors) as ex:
            connection.release()
            raise QueueUnavailable(f"cannot open the event queue {self.safe_url}: {ex}") from ex
        return connection

    def publish(self, event: DatasetEvent) -> None:
        """Put one event on the work queue."""
        self.publish_many([event])

    def publish_many(self, events: Iterable[DatasetEvent]) -> int:
        """Put events on the work queue; return how many."""
        sources = []
        with self._lock:
            for event in events:
                self.send(event.to_json(), WORK, {"x-attempts": 0})
                sources.append(event.source)
        metrics.count_received(sources)
        return len(sources)

    def dead_letter(self, body: str | bytes, reason: str, attempts: int = 0) -> None:
        """Park a body that cannot be handled (e.g. an unreadable notification)."""
        letter = DeadLetter(text_of(body), reason[:MAX_REASON], attempts, self.clock(), self.name)
        self.send(letter.to_json(), DEAD, {})

    def consumer(self, prefetch: int = 20) -> EventConsumer:
        """Return a consumer of the work queue (use it as a context manager)."""
        return EventConsumer(self, prefetch)

    def retry_later(self, message: Any, failures: int, reason: str) -> None:
        """Re-publish a received message to come back after the backoff delay."""
        delay = self.backoff.delay(failures)
        headers = copied_headers(message)
        headers.update({"x-attempts": failures, "x-last-error": reason[:MAX_REASON]})
        retry = Retry(text_of(message.body), headers, delay, self.clock() + delay)
        self.transport.delays.schedule(self.send, retry)

    def housekeeper(self, connection: Any) -> Housekeeper | None:
        """Return what a consumer on ``connection`` runs between batches, if anything."""
        return self.transport.housekeeper(self.topology, self.send, self.clock, connection)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Return up to ``limit`` dead letters, oldest first, leaving them queued."""
        with self._borrowed(self.topology.dead_queue, limit) as messages:
            return [DeadLetter.from_message(text_of(message.body)) for message in messages]

    def replay(
        self, limit: int | None = None, where: Callable[[DeadLetter], bool] | None = None
    ) -> int:
        """Move dead letters (those ``where`` accepts) back to the work queue."""
        replayed = 0
        with self._borrowed(self.topology.dead_queue, limit) as messages:
            for message in messages:
                letter = DeadLetter.from_message(text_of(message.body))
                if where is not None and not where(letter):
                    continue
                self.send(letter.body, WORK, {"x-attempts": 0, "x-replayed": True})
                message.ack()
                replayed += 1
        return replayed

    def counts(self) -> QueueCounts:
        """Return how many messages wait in the work queue, for a retry, and dead."""
        with self._lock:
            channel = self._publisher().channel
            return QueueCounts(
                queue_size(self.topology.work_queue, channel),
                self.transport.delayed(channel, self.topology),
                queue_size(self.topology.dead_queue, channel),
            )

    def purge(self, dead: bool = True) -> int:
        """Drop every waiting message (dead letters too, unless told not to)."""
        queues = [q for q in self.topology.queues() if dead or q is not self.topology.dead_queue]
        with self._lock:
            counts = self.counts()  # NOTE(dev): SQS's purge miscounts
            channel = self._publisher().channel
            for queue in queues:
                queue(channel).purge()
        return counts.ready + counts.delayed + (counts.dead if dead else 0)

    def delete(self) -> None:
        """Delete the queues and the exchange from the broker (tests, uninstall)."""
        with self._lock:
            channel = self._publisher().channel
            for queue in self.topology.queues():
                queue(channel).delete()
            if self.transport.has_exchanges:
                self.topology.exchange(channel).delete()
        self.close()

    def close(self) -> None:
        """Close the publishing connection."""
        with self._lock:
            if self._connection is not None:
                self._connection.release()
            self._connection = self._producer = None

    def send(
        self, body: str, routing_key: str, headers: dict[str, Any], **properties: Any
    ) -> None:
        """Publish a raw body to a queue of the topology (used by consumers)."""
        with self._lock:
            self._publish(body, routing_key, headers, properties)

    def _publish(
        self, body: str, routing_key: str, headers: dict[str, Any], properties: dict[str, Any]
    ) -> None:
        producer = self._publisher()
        # NOTE(dev): read before publishing: kombu drops the producer's connection on failure.
        lost = (OperationalError, *producer.connection.connection_errors)
        try:
            producer.publish(
                body,
                exchange=self.topology.exchange,
                routing_key=routing_key,
                content_type=CONTENT_TYPE,
                content_encoding="utf-8",
                delivery_mode=2,
                headers=headers,
                retry=True,
                retry_policy=_PUBLISH_RETRY,
                **properties,
            )
        except lost as ex:
            if self._connection is not None:
                self._connection.release()
            self._connection = self._producer = None
            raise QueueUnavailable(f"cannot publish to {self.safe_url}: {ex}") from ex

    def _publisher(self) -> Any:
        if self._producer is None:
            self._connection = self.connect()
            self._producer = Producer(self._connection.default_channel)
        return self._producer

    @contextmanager
    def _borrowed(self, queue: Any, limit: int | None) -> Iterator[list[Any]]:
        """Fetch messages unacked; those not acked are given back after, in order.

        Where a message given back goes to the end of its queue, all of them
        are fetched, so that the queue keeps its order.
        """
        connection = self.connect()
        try:
            bound = queue(connection.channel())
            fetch_all = not self.transport.returns_in_place or limit is None
            messages: list[Any] = []
            while fetch_all or len(messages) < (limit or 0):
                message = bound.get(no_ack=False, accept=[CONTENT_TYPE])
                if message is None:
                    break
                messages.append(message)
            yield messages if limit is None else messages[:limit]
            # NOTE(dev): given back one by one, oldest first: a channel that
            # closes with messages unacked gives them back in an order of its own
            # (Redis: newest first, at the head), or not at all (memory://).
            for message in messages:
                if not message.acknowledged:
                    message.requeue()
        finally:
            connection.release()

    def lost_connection_errors(self) -> tuple[type[BaseException], ...]:
        """Return the exceptions meaning "the broker connection is gone"."""
        probe = self.transport.connection()
        return (
            QueueUnavailable,
            OperationalError,
            *probe.connection_errors,
            *probe.recoverable_connection_errors,
        )

    @property
    def safe_url(self) -> str:
        """The broker URL without its password, for messages and logs."""
        return cast(str, self.transport.connection().as_uri())

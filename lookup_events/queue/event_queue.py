"""The event queue: kombu topology, retries with backoff, and dead letters.

Topology, for a queue named N (default ``dtool-lookup``), on one durable
direct exchange N:

- ``N`` (routing key ``work``): the durable work queue of event messages;
- ``N.dead`` (``dead``): dead letters, JSON holding the original body, the
  reason, the attempt count and the time;
- ``N.delay.<ms>`` (``delay.<ms>``): one queue per backoff delay.

Consumers (``queue_consumer.py``) settle every delivery: ack once the work
is committed, retry (re-published with a delay; dead-lettered after
``max_attempts``) or dead-letter. A re-publish always happens before the
ack, so a crash in between makes a duplicate, never a loss.

How the delay is made, per transport:

- RabbitMQ (``amqp://``): each delay queue has ``x-message-ttl`` and
  dead-letters into the work queue when the TTL expires; no consumer code.
- SQS (``sqs://``): the retry is sent to the work queue with SQS's own
  ``DelaySeconds`` (at most 900 s); no delay queues.
- Others (Redis, the embedded ``sqla+sqlite://``): the delay queues hold the
  retries with an ``x-not-before`` header; every consumer moves the due
  heads of those queues to the work queue between batches. Within one delay
  queue the due times only grow, so only its head needs looking at.

The embedded default, ``sqla+sqlite:///<data dir>/queue.db``, survives
restarts and serves several processes. kombu keeps its unacked messages in
the consumer's memory only: a graceful shutdown puts them back, but a
consumer killed mid-batch loses the events it held (their rows stay hidden),
and so does a retry waiting at the head of a delay queue. The rescan at
start recovers those datasets. kombu never deletes consumed rows; a
consumer deletes hidden rows when it starts and then hourly.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from kombu import connection as kombu_connection
from kombu import entity as kombu_entity
from kombu import messaging as kombu_messaging
from kombu.exceptions import OperationalError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from lookup_events.errors import InvalidEvent, QueueUnavailable
from lookup_events.events import DatasetEvent

if TYPE_CHECKING:
    from lookup_events.queue.consumer import EventConsumer

log = logging.getLogger(__name__)

# NOTE(dev): kombu ships py.typed but almost no annotations; its objects are Any here.
Connection: Any = kombu_connection.Connection
Exchange: Any = kombu_entity.Exchange
Queue: Any = kombu_entity.Queue
Producer: Any = kombu_messaging.Producer

CONTENT_TYPE = "application/json"
_PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}
_SQS_MAX_DELAY = 900
_MAX_REASON = 2000
_DECLARE_ATTEMPTS = 3


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


class EventQueue:
    """A durable queue of dataset events with retries and dead letters.

    Publishing is thread-safe (one connection, behind a lock); each
    consumer opens a connection of its own and belongs to one thread.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "dtool-lookup",
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        transport_options: dict[str, Any] | None = None,
        poll_interval: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.name = name
        self.max_attempts = max(max_attempts, 1)
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.flavour = _flavour(url)
        self.poll_interval = poll_interval or (1.0 if self.flavour == "sqs" else 0.2)
        self._options = {**_default_options(self.flavour), **(transport_options or {})}
        self.exchange = Exchange(name, type="direct", durable=True)
        self.work_queue = Queue(name, self.exchange, routing_key="work", durable=True)
        self.dead_queue = Queue(f"{name}.dead", self.exchange, routing_key="dead", durable=True)
        self.delay_queues = self._delay_queues()
        self._check_options()
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
        for _ in range(_DECLARE_ATTEMPTS - 1):
            try:
                return self._open()
            except (sa_exc.IntegrityError, QueueUnavailable):
                # NOTE(dev): processes creating the embedded queue's tables and rows
                # at once collide; the one that lost finds them on its next try.
                if self.flavour != "sqlite":
                    raise
                time.sleep(0.05)
        return self._open()

    def _open(self) -> Any:
        connection = Connection(self.url, transport_options=self._options)
        try:
            self._make_room()
            connection.ensure_connection(max_retries=2, interval_start=0.2)
            if hasattr(connection.transport, "polling_interval"):
                connection.transport.polling_interval = self.poll_interval
            channel = connection.default_channel
            for queue in self.queues():
                queue(channel).declare()
        except sa_exc.IntegrityError:
            connection.release()
            raise
        except (OperationalError, OSError, *connection.connection_errors) as ex:
            connection.release()
            raise QueueUnavailable(f"cannot open the event queue {self.safe_url}: {ex}") from ex
        return connection

    def queues(self) -> list[Any]:
        """Return every queue of the topology."""
        return [self.work_queue, self.dead_queue, *self.delay_queues.values()]

    def publish(self, event: DatasetEvent) -> None:
        """Put one event on the work queue."""
        self.publish_many([event])

    def publish_many(self, events: Iterable[DatasetEvent]) -> int:
        """Put events on the work queue; return how many."""
        count = 0
        with self._lock:
            for event in events:
                self.send(event.to_json(), "work", {"x-attempts": 0})
                count += 1
        return count

    def dead_letter(self, body: str | bytes, reason: str, attempts: int = 0) -> None:
        """Park a body that cannot be handled (e.g. an unreadable notification)."""
        letter = DeadLetter(text_of(body), reason[:_MAX_REASON], attempts, self.clock(), self.name)
        self.send(letter.to_json(), "dead", {})

    def consumer(self, prefetch: int = 20) -> EventConsumer:
        """Return a consumer of the work queue (use it as a context manager)."""
        from lookup_events.queue.consumer import EventConsumer  # noqa: PLC0415 - it imports us

        return EventConsumer(self, prefetch)

    def retry_later(self, message: Any, failures: int, reason: str) -> None:
        """Re-publish a received message to come back after the backoff delay."""
        delay = self.backoff.delay(failures)
        headers = _copied_headers(message)
        headers.update({"x-attempts": failures, "x-last-error": reason[:_MAX_REASON]})
        if self.flavour == "sqs":
            seconds = min(math.ceil(delay), _SQS_MAX_DELAY)
            self.send(text_of(message.body), "work", headers, delay_seconds=seconds)
            return
        headers["x-not-before"] = self.clock() + delay
        self.send(text_of(message.body), f"delay.{round(delay * 1000)}", headers)

    def promote_due(self, channel: Any, held: dict[int, Any]) -> int:
        """Move due retries from the heads of the delay queues to the work queue.

        Not-yet-due heads are kept unacked in ``held`` (one per delay queue)
        until they are due. Not needed on RabbitMQ and SQS.
        """
        moved = 0
        for ms, queue in self.delay_queues.items():
            while moved < 1000:
                head = held.pop(ms, None) or queue(channel).get(
                    no_ack=False, accept=[CONTENT_TYPE]
                )
                if head is None:
                    break
                headers = _copied_headers(head)
                if float(headers.pop("x-not-before", 0)) > self.clock():
                    held[ms] = head
                    break
                self.send(text_of(head.body), "work", headers)
                head.ack()
                moved += 1
        return moved

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Return up to ``limit`` dead letters, oldest first, leaving them queued."""
        with self._borrowed(self.dead_queue, limit) as messages:
            return [DeadLetter.from_message(text_of(message.body)) for message in messages]

    def replay(
        self, limit: int | None = None, where: Callable[[DeadLetter], bool] | None = None
    ) -> int:
        """Move dead letters (those ``where`` accepts) back to the work queue."""
        replayed = 0
        with self._borrowed(self.dead_queue, limit) as messages:
            for message in messages:
                letter = DeadLetter.from_message(text_of(message.body))
                if where is not None and not where(letter):
                    continue
                self.send(letter.body, "work", {"x-attempts": 0, "x-replayed": True})
                message.ack()
                replayed += 1
        return replayed

    def counts(self) -> QueueCounts:
        """Return how many messages wait in the work, delay and dead queues."""
        with self._lock:
            channel = self._publisher().channel
            sizes = {queue.name: _size(queue, channel) for queue in self.queues()}
        delayed = sum(sizes[queue.name] for queue in self.delay_queues.values())
        return QueueCounts(sizes[self.work_queue.name], delayed, sizes[self.dead_queue.name])

    def purge(self, dead: bool = True) -> int:
        """Drop every waiting message (dead letters too, unless told not to)."""
        queues = [q for q in self.queues() if dead or q is not self.dead_queue]
        with self._lock:
            channel = self._publisher().channel
            counts = [_size(queue, channel) for queue in queues]  # SQS's purge miscounts
            for queue in queues:
                queue(channel).purge()
        return sum(counts)

    def delete(self) -> None:
        """Delete the queues and the exchange from the broker (tests, uninstall)."""
        with self._lock:
            channel = self._publisher().channel
            for queue in self.queues():
                queue(channel).delete()
            if self.flavour != "sqs":  # SQS has no exchanges
                self.exchange(channel).delete()
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
                exchange=self.exchange,
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

    def _delay_queues(self) -> dict[int, Any]:
        if self.flavour == "sqs":
            return {}
        delays = {round(self.backoff.delay(n) * 1000) for n in range(1, self.max_attempts)}
        queues = {}
        for ms in sorted(delays):
            arguments = None
            if self.flavour == "amqp":
                arguments = {
                    "x-message-ttl": ms,
                    "x-dead-letter-exchange": self.name,
                    "x-dead-letter-routing-key": "work",
                }
            queues[ms] = Queue(
                f"{self.name}.delay.{ms}",
                self.exchange,
                routing_key=f"delay.{ms}",
                durable=True,
                queue_arguments=arguments,
            )
        return queues

    def _check_options(self) -> None:
        # NOTE(dev): Redis gives an unacked message back after its visibility
        # timeout; a retry held at the head of a delay queue must not be.
        longest = max(self.delay_queues, default=0) / 1000
        timeout = self._options.get("visibility_timeout", 3600)
        if self.flavour == "redis" and timeout <= longest:
            raise ValueError(f"Redis visibility_timeout {timeout} s must exceed {longest} s")

    @contextmanager
    def _borrowed(self, queue: Any, limit: int | None) -> Iterator[list[Any]]:
        """Fetch messages unacked; those not acked go back to the queue after.

        A virtual transport puts a message given back at the end of its
        queue, so all of them are fetched there, to keep the order.
        """
        connection = self.connect()
        try:
            bound = queue(connection.channel())
            fetch_all = self.flavour not in {"amqp", "sqs"} or limit is None
            messages: list[Any] = []
            while fetch_all or len(messages) < (limit or 0):
                message = bound.get(no_ack=False, accept=[CONTENT_TYPE])
                if message is None:
                    break
                messages.append(message)
            yield messages if limit is None else messages[:limit]
        finally:
            connection.release()

    def _make_room(self) -> None:
        if self.flavour == "sqlite":
            database = make_url(self.url.split("+", 1)[1]).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)

    def lost_connection_errors(self) -> tuple[type[BaseException], ...]:
        """Return the exceptions meaning "the broker connection is gone"."""
        probe = Connection(self.url)
        return (
            QueueUnavailable,
            OperationalError,
            *probe.connection_errors,
            *probe.recoverable_connection_errors,
        )

    @property
    def safe_url(self) -> str:
        """The broker URL without its password, for messages and logs."""
        return cast(str, Connection(self.url).as_uri())


def _flavour(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme in {"amqp", "amqps", "pyamqp"}:
        return "amqp"
    if scheme == "sqs":
        return "sqs"
    if scheme.startswith(("sqla+sqlite", "sqlalchemy+sqlite")):
        return "sqlite"
    return scheme.split("+", 1)[0]


def _default_options(flavour: str) -> dict[str, Any]:
    if flavour == "amqp":
        return {"confirm_publish": True}
    if flavour == "sqs":
        # NOTE(dev): no long polling, so that a dead letter kombu gives back
        # after a listing is visible again at once (it uses this as timeout).
        return {"wait_time_seconds": 0}
    return {}


def _size(queue: Any, channel: Any) -> int:
    _, count, _ = queue(channel).queue_declare()
    return int(count)


def _copied_headers(message: Any) -> dict[str, Any]:
    """Return a message's headers to re-publish, without the broker's own."""
    return {k: v for k, v in (message.headers or {}).items() if k != "x-death"}


def text_of(body: str | bytes) -> str:
    """Return a message body as text."""
    return body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body

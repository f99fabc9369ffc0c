"""The brokers the event queue runs on: one class per transport, chosen once from the URL.

Each says what differs between brokers, so that nothing else has to ask:
how retries wait out their backoff (``delays.py``), its default transport
options and poll interval, whether one multiple-ack settles a batch, what
its consumers do between batches, and what connecting needs.

- ``AmqpTransport`` (``amqp://``, RabbitMQ): TTL delay queues, publisher
  confirms, one multiple-ack per batch.
- ``SqsTransport`` (``sqs://``): ``DelaySeconds``, no exchanges.
- ``RedisTransport`` (``redis://``): promoted delay queues; its visibility
  timeout must outlast the longest delay.
- ``EmbeddedTransport`` (``sqlite:///<path>``, also kombu's spelling
  ``sqla+sqlite:///<path>``): our SQLite transport (``embedded.py``).
- ``VirtualTransport``: any other kombu transport (``memory://``...), with
  promoted delay queues.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from kombu import connection as kombu_connection

from lookup_events.queue import embedded
from lookup_events.queue.delays import (
    BrokerDelay,
    Clock,
    Housekeeper,
    PromotedDelayQueues,
    RetryDelay,
    Send,
    TtlDelayQueues,
)
from lookup_events.queue.topology import Topology, queue_size

# NOTE(dev): kombu ships py.typed but almost no annotations; its objects are Any here.
Connection: Any = kombu_connection.Connection

SQS_MAX_DELAY = 900
REDIS_VISIBILITY_TIMEOUT = 3600


class Transport:
    """A kombu transport as the event queue uses it (the generic virtual one)."""

    #: URL schemes of the transport.
    schemes: ClassVar[frozenset[str]] = frozenset()
    #: Seconds between polls of an empty queue (None: the broker pushes).
    poll_interval: ClassVar[float | None] = 0.2
    #: Whether one multiple-ack settles every message of a batch.
    multiple_ack: ClassVar[bool] = False
    #: Whether the broker has exchanges of its own (to delete).
    has_exchanges: ClassVar[bool] = True
    #: Whether a message given back keeps its place in the queue.
    returns_in_place: ClassVar[bool] = False

    def __init__(self, url: str) -> None:
        self.url = url
        self.delays = self.retry_delay()

    @classmethod
    def handles(cls, scheme: str) -> bool:
        """Tell whether URLs of ``scheme`` are this transport's."""
        return scheme in cls.schemes

    def retry_delay(self) -> RetryDelay:
        """Return how retries wait out their backoff on this transport."""
        return PromotedDelayQueues()

    def options(self) -> dict[str, Any]:
        """Return the default kombu transport options."""
        if self.poll_interval is None:
            return {}
        return {"polling_interval": self.poll_interval}

    def connection(self, options: dict[str, Any] | None = None) -> Any:
        """Return a new (not yet connected) kombu connection."""
        return Connection(self.url, transport_options=options or {})

    def prepare(self) -> None:
        """Make what connecting needs (nothing, but for a file)."""

    def check(self, options: dict[str, Any], topology: Topology) -> None:
        """Refuse options that would break the retries (``ValueError``)."""

    def delayed(self, channel: Any, topology: Topology) -> int:
        """Return how many retries wait for their delay to pass."""
        return sum(queue_size(queue, channel) for queue in topology.delay_queues.values())

    def housekeeper(
        self, topology: Topology, send: Send, clock: Clock, connection: Any
    ) -> Housekeeper | None:
        """Return what a consumer on ``connection`` runs between batches, if anything."""
        return self.delays.housekeeper(topology, send, clock, connection)


class VirtualTransport(Transport):
    """Any other kombu transport (``memory://``...), with promoted delay queues."""


class AmqpTransport(Transport):
    """RabbitMQ: TTL delay queues, publisher confirms, one multiple-ack per batch."""

    schemes = frozenset({"amqp", "amqps", "pyamqp"})
    poll_interval = None
    multiple_ack = True
    returns_in_place = True

    def retry_delay(self) -> RetryDelay:
        """Return TTL delay queues dead-lettering into the work queue."""
        return TtlDelayQueues()

    def options(self) -> dict[str, Any]:
        """Return publisher confirms: a publish returns once the broker has it."""
        return {"confirm_publish": True}


class SqsTransport(Transport):
    """Amazon SQS: retries delayed with ``DelaySeconds``, no exchanges."""

    schemes = frozenset({"sqs"})
    poll_interval = 1.0
    has_exchanges = False
    returns_in_place = True

    def retry_delay(self) -> RetryDelay:
        """Return SQS's own per-message delay."""
        return BrokerDelay(limit=SQS_MAX_DELAY)

    def options(self) -> dict[str, Any]:
        """Return the poll interval, without long polling.

        NOTE(dev): without long polling, a dead letter kombu gives back after
        a listing is visible again at once (it uses this as the timeout).
        """
        return {**super().options(), "wait_time_seconds": 0}


class RedisTransport(Transport):
    """Redis: promoted delay queues under a visibility timeout."""

    schemes = frozenset({"redis", "rediss"})

    def check(self, options: dict[str, Any], topology: Topology) -> None:
        """Refuse a visibility timeout that would give back a retry not yet due.

        NOTE(dev): Redis gives an unacked message back after its visibility
        timeout; a retry held at the head of a delay queue must not be.
        """
        timeout = options.get("visibility_timeout", REDIS_VISIBILITY_TIMEOUT)
        if timeout <= topology.longest_delay:
            raise ValueError(
                f"Redis visibility_timeout {timeout} s must exceed {topology.longest_delay} s"
            )


class EmbeddedTransport(Transport):
    """Our SQLite file transport (``embedded.py``); kombu's ``sqla+sqlite`` URLs map to it."""

    schemes = frozenset({embedded.SCHEME, "sqla+sqlite", "sqlalchemy+sqlite"})
    returns_in_place = True

    def __init__(self, url: str) -> None:
        super().__init__(f"{embedded.SCHEME}:{url.split(':', 1)[1]}")
        self.file = embedded.QueueFile.from_url(self.url)

    def retry_delay(self) -> RetryDelay:
        """Return the queue file's own per-message delay."""
        return BrokerDelay()

    def connection(self, options: dict[str, Any] | None = None) -> Any:
        """Return a kombu connection on our transport class."""
        return Connection(self.url, transport=embedded.Transport, transport_options=options or {})

    def prepare(self) -> None:
        """Create the directory of the queue file."""
        self.file.path.parent.mkdir(parents=True, exist_ok=True)

    def delayed(self, channel: Any, topology: Topology) -> int:
        """Return how many retries in the work queue wait for their delay to pass."""
        return int(channel.delayed_size(topology.work_queue.name))


#: The transports with URL schemes of their own, in the order they are asked.
TRANSPORTS: tuple[type[Transport], ...] = (
    AmqpTransport,
    SqsTransport,
    RedisTransport,
    EmbeddedTransport,
)


def transport_for(url: str) -> Transport:
    """Return the transport of a broker URL (any other kombu URL: the generic one).

    Raises:
        ValueError: the URL cannot be the transport's (e.g. an embedded queue
            without a file).
    """
    scheme = urlsplit(url).scheme.lower()
    for transport in TRANSPORTS:
        if transport.handles(scheme):
            return transport(url)
    return VirtualTransport(url)

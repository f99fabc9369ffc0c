"""The registrar process's loops: consume the event queue, and publish through outages.

``RegistrarWorker`` takes batches from the work queue, applies them with
the ``EventHandler`` (one store transaction per batch) and then settles
every delivery: retry with backoff on a transient failure (storage
unreachable), dead-letter a permanent one with the reason, and ack the rest
once committed (one AMQP multiple-ack per batch). Two outages are not the
messages' fault and cost them no attempt:

- the broker goes away: the worker drops its connection (the broker, or
  kombu for the embedded queue, keeps what was not acked) and reconnects
  with backoff;
- the database goes away: the batch is returned unsettled to the queue and
  consumption pauses until the database answers again.

``Publisher`` wraps ``EventQueue.publish_many`` for the event sources
(watcher, rescanner, S3 consumer): it waits out a broker outage, retrying
with backoff, until told to stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from kombu import connection as kombu_connection
from kombu.exceptions import OperationalError

from lookup_events.errors import QueueUnavailable, StoreUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.queue.consumer import Delivery, EventConsumer, ack_all
from lookup_events.queue.event_queue import Backoff, EventQueue
from lookup_events.registrar.batch import EventHandler, Outcome

log = logging.getLogger(__name__)

# NOTE(dev): kombu ships almost no annotations; its objects are Any here.
Connection: Any = kombu_connection.Connection
OutcomeHook = Callable[[Outcome], None]
Probe = Callable[[], object]

#: Waits between reconnection attempts (broker) and database probes.
RECONNECT = Backoff(initial=0.5, factor=2.0, maximum=30.0)
PROGRESS_INTERVAL = 30.0


def lost_connection_errors(queue: EventQueue) -> tuple[type[BaseException], ...]:
    """Return the exceptions meaning "the broker connection is gone" for ``queue``."""
    probe = Connection(queue.url)
    return (
        QueueUnavailable,
        OperationalError,
        *probe.connection_errors,
        *probe.recoverable_connection_errors,
    )


class StoreDown(StoreUnavailable):
    """The database stopped answering while a batch was being handled."""


def log_outcome(outcome: Outcome) -> None:
    """Log one event's outcome: failures as warnings, the rest for debugging."""
    event = outcome.event
    if outcome.status == "dead":
        log.warning("dead-lettered %s event for %s: %s", event.kind, event.uri, outcome.reason)
    elif outcome.status == "retry":
        log.warning("will retry %s event for %s: %s", event.kind, event.uri, outcome.reason)
    else:
        log.debug("%s %s (%s event from %s)", outcome.action, event.uri, event.kind, event.source)


class RegistrarWorker:
    """Consumes the event queue in batches and applies them to the stores.

    Args:
        queue: the event queue.
        handler: applies a batch of events to the stores.
        store_probe: a cheap store call raising ``StoreUnavailable`` while
            the database is down.
        prefetch: unacked messages the broker may hand over at once.
        batch_size: events applied in one store transaction.
        max_wait: seconds to wait for a batch to fill before applying it.
        store_wait: seconds to wait for a database that went away before
            raising ``StoreUnavailable`` (None: wait as long as it takes).
        on_outcome: called with every event's outcome once it is settled.
    """

    def __init__(
        self,
        queue: EventQueue,
        handler: EventHandler,
        store_probe: Probe,
        *,
        prefetch: int = 200,
        batch_size: int = 100,
        max_wait: float = 0.05,
        store_wait: float | None = None,
        reconnect: Backoff = RECONNECT,
        on_outcome: OutcomeHook = log_outcome,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue = queue
        self._handler = handler
        self._probe = store_probe
        self.prefetch = max(prefetch, 1)
        self.batch_size = max(min(batch_size, self.prefetch), 1)
        self.max_wait = max_wait
        self._store_wait = store_wait
        self._reconnect = reconnect
        self._on_outcome = on_outcome
        self._clock = clock
        self._lost = lost_connection_errors(queue)
        self.counts: Counter[str] = Counter()
        self._reported: Counter[str] = Counter()
        self._reported_at = clock()

    def run(self, stop: threading.Event, idle_timeout: float | None = None) -> Counter[str]:
        """Consume until ``stop`` is set (or idle that long); return the counts."""
        failures = 0
        while not stop.is_set():
            try:
                with self.consumer() as consumer:
                    log.info("connected to the event queue %s", self.queue.safe_url)
                    failures = 0
                    self._consume(consumer, stop, idle_timeout)
                return self.counts
            except StoreDown:
                self.wait_for_store(stop)
            except self._lost as ex:
                failures += 1
                delay = self._reconnect.delay(failures)
                log.warning("event queue unavailable (%s); reconnecting in %.1f s", ex, delay)
                stop.wait(delay)
        return self.counts

    def _consume(
        self, consumer: EventConsumer, stop: threading.Event, idle_timeout: float | None
    ) -> None:
        for batch in consumer.batches(self.batch_size, self.max_wait, idle_timeout, stop):
            self.handle(batch)
            self._report_progress()

    @contextmanager
    def consumer(self) -> Iterator[EventConsumer]:
        """Open a consumer; a broken connection is dropped without complaint."""
        consumer = self.queue.consumer(self.prefetch)
        consumer.__enter__()
        try:
            yield consumer
        finally:
            try:
                consumer.__exit__(None, None, None)
            except self._lost as ex:  # the connection is gone: so are our unacked messages
                log.debug("closing a broken queue connection: %s", ex)

    def handle(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Apply a batch and settle each delivery; return the outcomes.

        Raises:
            StoreDown: the database is unreachable; the batch is left unsettled.
        """
        events = [delivery.event for delivery in batch]
        try:
            outcomes = self._handler.handle_batch(events)
        except StoreUnavailable as ex:
            raise StoreDown(str(ex)) from ex
        except Exception as ex:  # a bug must not stop the registrar: retry, then dead-letter
            log.exception("handling a batch of %d events failed", len(events))
            reason = f"{type(ex).__name__}: {ex}"
            outcomes = [Outcome(event, "retry", reason=reason) for event in events]
        if any(outcome.status == "retry" for outcome in outcomes):
            self._check_store()
        settle(batch, outcomes)
        redelivered = sum(delivery.redelivered for delivery in batch)
        if redelivered:  # given to a consumer before that did not settle them (it died)
            self.counts["redelivered"] += redelivered
        for outcome in outcomes:
            self.counts[outcome.action or outcome.status] += 1
            self._on_outcome(outcome)
        return outcomes

    def _check_store(self) -> None:
        try:
            self._probe()
        except StoreUnavailable as ex:
            raise StoreDown(str(ex)) from ex

    def wait_for_store(self, stop: threading.Event) -> None:
        """Return once the database answers (at once if it does), or when stopped.

        Raises:
            StoreUnavailable: it did not answer within ``store_wait`` seconds.
        """
        started, failures = self._clock(), 0
        while not stop.is_set():
            try:
                self._probe()
            except StoreUnavailable as ex:
                failures += 1
                if self._store_wait is not None and self._clock() - started >= self._store_wait:
                    raise
                delay = self._reconnect.delay(failures)
                log.warning("consumption paused: %s; trying again in %.1f s", ex, delay)
                stop.wait(delay)
                continue
            if failures:
                log.info("database reachable again after %.1f s", self._clock() - started)
            return

    def _report_progress(self) -> None:
        if self._clock() - self._reported_at < PROGRESS_INTERVAL:
            return
        delta = self.counts - self._reported
        if delta:
            summary = ", ".join(f"{n} {what}" for what, n in sorted(delta.items()))
            log.info("registrar: %s in the last %.0f s", summary, PROGRESS_INTERVAL)
        self._reported, self._reported_at = Counter(self.counts), self._clock()


def settle(batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
    """Retry or dead-letter the failed deliveries, then ack the rest at once."""
    done = []
    for delivery, outcome in zip(batch, outcomes, strict=True):
        if outcome.status == "done":
            done.append(delivery)
        elif outcome.status == "retry":
            delivery.retry(outcome.reason)
        else:
            delivery.dead_letter(outcome.reason)
    ack_all(done)


class Publisher:
    """Publishes events to the queue, waiting out broker outages until stopped.

    ``patience`` bounds the wait (seconds; None: until stopped).
    """

    def __init__(
        self,
        queue: EventQueue,
        stop: threading.Event | None = None,
        *,
        patience: float | None = None,
        backoff: Backoff = RECONNECT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue = queue
        self._stop = stop or threading.Event()
        self._patience = patience
        self._backoff = backoff
        self._clock = clock

    def publish(self, event: DatasetEvent) -> None:
        """Publish one event."""
        self.publish_many([event])

    def publish_many(self, events: Sequence[DatasetEvent]) -> int:
        """Publish events; return how many.

        Raises:
            QueueUnavailable: the broker is down and the publisher was stopped
                (or ran out of patience).
        """
        return int(self._retrying(lambda: self.queue.publish_many(events)))

    def dead_letter(self, body: str | bytes, reason: str) -> None:
        """Park a body that cannot be turned into events, with the reason."""
        self._retrying(lambda: self.queue.dead_letter(body, reason))

    def _retrying(self, action: Callable[[], Any]) -> Any:
        failures, started = 0, self._clock()
        while True:
            try:
                result = action()
            except QueueUnavailable as ex:
                failures += 1
                delay = self._backoff.delay(failures)
                if self._stop.is_set() or self._out_of_patience(started):
                    raise
                log.warning("cannot publish (%s); trying again in %.1f s", ex, delay)
                if self._stop.wait(delay):
                    raise
                continue
            if failures:
                log.info("published again after %d failed attempts", failures)
            return result

    def _out_of_patience(self, started: float) -> bool:
        return self._patience is not None and self._clock() - started >= self._patience

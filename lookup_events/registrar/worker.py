"""The registrar process's loop: consume the event queue, settle every delivery.

``RegistrarWorker`` takes batches from the work queue, applies them with
the ``BatchHandler`` (one store transaction per batch) and then settles
every delivery: retry with backoff on a transient failure (storage
unreachable), dead-letter a permanent one with the reason, and ack the rest
once committed (one AMQP multiple-ack per batch). Two outages are not the
messages' fault and cost them no attempt:

- the broker goes away: the worker drops its connection (the broker, or
  kombu for the embedded queue, keeps what was not acked) and reconnects
  with backoff;
- the database goes away: the batch is returned unsettled to the queue and
  consumption pauses until the database answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from lookup_events.errors import DatabaseUnavailable
from lookup_events.observability import metrics
from lookup_events.queue.consumer import Delivery, EventConsumer, ack_all
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import RECONNECT, Backoff
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.outcomes import Action, Outcome, Status

log = logging.getLogger(__name__)

OutcomeHook = Callable[[Outcome], None]
Probe = Callable[[], object]

PROGRESS_INTERVAL = 30.0


class DatabaseWentAway(DatabaseUnavailable):
    """The database stopped answering while a batch was being handled."""


def log_outcome(outcome: Outcome) -> None:
    """Log one event's outcome: failures as warnings, the rest for debugging."""
    event = outcome.event
    fields = {
        "dataset_uri": event.uri,
        "event_id": event.event_id,
        "source": event.source,
        "outcome": outcome_label(outcome),
    }
    if outcome.status is Status.DEAD:
        log.warning(
            "dead-lettered %s event for %s: %s",
            event.kind,
            event.uri,
            outcome.reason,
            extra=fields,
        )
    elif outcome.status is Status.RETRY:
        log.warning(
            "will retry %s event for %s: %s", event.kind, event.uri, outcome.reason, extra=fields
        )
    else:
        log.debug(
            "%s %s (%s event from %s)",
            outcome.action,
            event.uri,
            event.kind,
            event.source,
            extra=fields,
        )


def outcome_label(outcome: Outcome) -> str:
    """Return the word metrics count ``outcome`` under (``metrics.OUTCOMES``).

    NOTE(dev): the registrar upserts without telling a new record from a
    changed one, so "updated" is a registration caused by an ``updated``
    event (metadata changed after the freeze), "registered" any other.
    """
    if outcome.status is Status.RETRY:
        return "retried"
    if outcome.status is Status.DEAD:
        return "dead_lettered"
    if outcome.action is Action.REGISTERED and outcome.event.kind == "updated":
        return "updated"
    return str(outcome.action)


def count_outcome(outcome: Outcome, now: Callable[[], float] = metrics.now) -> None:
    """Count one settled outcome; a registration also gives its lag since the event."""
    lag = now() - outcome.event.occurred_at if outcome.action is Action.REGISTERED else None
    metrics.count_handled(outcome_label(outcome), lag)


def report_outcome(outcome: Outcome) -> None:
    """Log and count one settled outcome (the worker's default hook)."""
    log_outcome(outcome)
    count_outcome(outcome)


class RegistrarWorker:
    """Consumes the event queue in batches and applies them to the stores.

    Args:
        queue: the event queue.
        handler: applies a batch of events to the stores.
        store_probe: a cheap store call raising ``DatabaseUnavailable`` while
            the database is down.
        prefetch: unacked messages the broker may hand over at once.
        batch_size: events applied in one store transaction.
        max_wait: seconds to wait for a batch to fill before applying it.
        store_wait: seconds to wait for a database that went away before
            raising ``DatabaseUnavailable`` (None: wait as long as it takes).
        on_outcome: called with every event's outcome once it is settled.
    """

    def __init__(
        self,
        queue: EventQueue,
        handler: BatchHandler,
        store_probe: Probe,
        *,
        prefetch: int = 200,
        batch_size: int = 100,
        max_wait: float = 0.05,
        store_wait: float | None = None,
        reconnect: Backoff = RECONNECT,
        on_outcome: OutcomeHook = report_outcome,
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
        self._lost = queue.lost_connection_errors()
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
            except DatabaseWentAway:
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
            DatabaseWentAway: the database is unreachable; the batch is left unsettled.
        """
        events = [delivery.event for delivery in batch]
        try:
            outcomes = self._handler.handle_batch(events)
        except DatabaseUnavailable as ex:
            raise DatabaseWentAway(str(ex)) from ex
        except Exception as ex:  # a bug must not stop the registrar: retry, then dead-letter
            log.exception("handling a batch of %d events failed", len(events))
            reason = f"{type(ex).__name__}: {ex}"
            outcomes = [Outcome(event, Status.RETRY, reason=reason) for event in events]
        if any(outcome.status is Status.RETRY for outcome in outcomes):
            self._check_store()
        settle(batch, outcomes)
        redelivered = sum(delivery.redelivered for delivery in batch)
        if redelivered:  # given to a consumer before that did not settle them (it died)
            self.counts["redelivered"] += redelivered
        for outcome in outcomes:
            self.counts[outcome.tally] += 1
            self._on_outcome(outcome)
        return outcomes

    def _check_store(self) -> None:
        try:
            self._probe()
        except DatabaseUnavailable as ex:
            raise DatabaseWentAway(str(ex)) from ex

    def wait_for_store(self, stop: threading.Event) -> None:
        """Return once the database answers (at once if it does), or when stopped.

        Raises:
            DatabaseUnavailable: it did not answer within ``store_wait`` seconds.
        """
        started, failures = self._clock(), 0
        while not stop.is_set():
            try:
                self._probe()
            except DatabaseUnavailable as ex:
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
        if outcome.status is Status.DONE:
            done.append(delivery)
        elif outcome.status is Status.RETRY:
            delivery.retry(outcome.reason)
        else:
            delivery.dead_letter(outcome.reason)
    ack_all(done)

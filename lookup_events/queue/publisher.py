"""Publishing events for the sources, waiting out broker outages.

``Publisher`` wraps ``EventQueue.publish_many`` for the event sources
(watcher, rescanner, S3 consumer, ``base-uri index``): it waits out a broker
outage, retrying with backoff, until told to stop or out of patience.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from lookup_events.errors import QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import RECONNECT, Backoff

log = logging.getLogger(__name__)


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

"""``base-uri index``: register a base URI's datasets as a registrar does, and report each.

The command publishes one ``frozen`` event per frozen dataset in the base
URI (``sources/listing.py``) and then consumes the work queue itself, with
the registrar's own worker, until each of its events is settled: so it works
with the embedded queue and no other process running, and its failures are
dead-lettered with their reason like everyone else's. Events it meets that
are not its own are handled normally (it is one more registrar while it
runs). Its events taken by another registrar process are judged once its own
consumer falls idle: such a dataset counts as registered only when the index
holds exactly what its storage holds now (whoever wrote it, and a record
that was already identical counts too), and as failed with the registrar's
own reason when the dataset cannot be registered; a stale record never
counts.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lookup_events.errors import (
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
    QueueUnavailable,
    UnknownBaseURI,
)
from lookup_events.events import DatasetEvent
from lookup_events.registrar.outcomes import Action, Outcome, Status
from lookup_events.registrar.worker import RegistrarWorker
from lookup_events.registrar.writer import Registrar
from lookup_events.store.protocols import DatasetStore

log = logging.getLogger(__name__)


class Result(enum.StrEnum):
    """What indexing came to for one dataset."""

    REGISTERED = "registered"
    FAILED = "failed"
    SKIPPED = "skipped"


NOT_YET = (
    "taken by another registrar, and the index does not hold the dataset as storage does "
    "(yet); see `dtool-lookup events dead`"
)


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What became of one dataset of the base URI."""

    uri: str
    result: Result
    reason: str = ""


def report_of(outcome: Outcome) -> IndexReport:
    """Translate the registrar's outcome for an event into a report line."""
    uri = outcome.event.uri
    if outcome.status is Status.DEAD:
        return IndexReport(uri, Result.FAILED, outcome.reason)
    if outcome.status is Status.RETRY:
        return IndexReport(uri, Result.FAILED, f"{outcome.reason} (the registrar will retry it)")
    if outcome.action is Action.REGISTERED:
        return IndexReport(uri, Result.REGISTERED)
    if outcome.action is Action.REMOVED:
        return IndexReport(uri, Result.FAILED, f"no dataset at {uri}")
    return IndexReport(uri, Result.SKIPPED, outcome.reason)


class QueueIndexer:
    """Registers the datasets of published index events by consuming the event queue."""

    def __init__(
        self,
        datasets: DatasetStore,
        registrar: Registrar,
        worker: RegistrarWorker,
        *,
        idle: float = 1.0,
        wait: float = 30.0,
    ) -> None:
        self._datasets = datasets
        self._registrar = registrar
        self._worker = worker
        self._idle = idle
        self._wait = wait

    def reports(self, events: Sequence[DatasetEvent]) -> Iterator[IndexReport]:
        """Consume the queue until every one of ``events`` is settled; report each."""
        pending = {event.event_id: event for event in events}
        try:
            with self._worker.consumer() as consumer:
                for batch in consumer.batches(
                    self._worker.batch_size, self._worker.max_wait, idle_timeout=self._idle
                ):
                    for outcome in self._worker.handle(batch):
                        if pending.pop(outcome.event.event_id, None) is not None:
                            yield report_of(outcome)
                    if not pending:
                        return
        except self._worker.queue.lost_connection_errors() as ex:
            raise QueueUnavailable(f"lost the event queue: {ex}") from ex
        yield from self._elsewhere([event.uri for event in pending.values()])

    def _elsewhere(self, uris: list[str]) -> Iterator[IndexReport]:
        """Report the events another registrar took, judged against storage."""
        deadline = time.monotonic() + self._wait
        while uris:
            waiting = []
            for uri in uris:
                report = self._judge(uri)
                if report is None:
                    waiting.append(uri)
                else:
                    yield report
            uris = waiting
            if uris and time.monotonic() >= deadline:
                for uri in uris:
                    yield IndexReport(uri, Result.FAILED, NOT_YET)
                return
            if uris:
                time.sleep(0.2)

    def _judge(self, uri: str) -> IndexReport | None:
        """Report a dataset the index holds as storage does, or cannot hold; None: not yet."""
        try:
            current = self._registrar.read(uri)
        except NotFrozen as ex:
            return IndexReport(uri, Result.SKIPPED, str(ex))
        except DatasetNotFound:
            return IndexReport(uri, Result.FAILED, f"no dataset at {uri}")
        except (InvalidDataset, UnknownBaseURI) as ex:  # what the registrar dead-letters
            return IndexReport(uri, Result.FAILED, f"{type(ex).__name__}: {ex}")
        except DatasetStorageUnavailable:
            return None  # the registrar that took it retries; so do we
        return IndexReport(uri, Result.REGISTERED) if self._datasets.get(uri) == current else None

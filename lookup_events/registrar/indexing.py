"""``base-uri index`` through the event queue: publish, then register as a registrar does.

The command publishes one ``frozen`` event (source ``index``) per frozen
dataset in the base URI and then consumes the work queue itself, with the
registrar's own worker, until each of its events is settled: so it works
with the embedded queue and no other process running, and its failures are
dead-lettered with their reason like everyone else's. Events it meets that
are not its own are handled normally (it is one more registrar while it
runs). Its events taken by another registrar process are looked up in the
store once its own consumer falls idle.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from lookup_events.errors import InvalidDataset, QueueUnavailable, UnknownBaseURI
from lookup_events.events import DatasetEvent
from lookup_events.queue.publisher import Publisher
from lookup_events.registrar.batch import Outcome
from lookup_events.registrar.worker import RegistrarWorker
from lookup_events.storage import list_dataset_uris, read_admin_metadata
from lookup_events.store.protocols import AdminStore, DatasetStore

log = logging.getLogger(__name__)

Status = Literal["registered", "failed", "skipped"]

ELSEWHERE = "handled by another registrar and not registered yet; see `dtool-lookup events dead`"


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What became of one dataset of the base URI."""

    uri: str
    status: Status
    reason: str = ""


def report_of(outcome: Outcome) -> IndexReport:
    """Translate the registrar's outcome for an event into a report line."""
    uri = outcome.event.uri
    if outcome.status == "dead":
        return IndexReport(uri, "failed", outcome.reason)
    if outcome.status == "retry":
        return IndexReport(uri, "failed", f"{outcome.reason} (the registrar will retry it)")
    if outcome.action == "registered":
        return IndexReport(uri, "registered")
    if outcome.action == "removed":
        return IndexReport(uri, "failed", f"no dataset at {uri}")
    return IndexReport(uri, "skipped", outcome.reason)


class QueueIndexer:
    """Registers every frozen dataset of a base URI by way of the event queue."""

    def __init__(
        self,
        admin: AdminStore,
        datasets: DatasetStore,
        worker: RegistrarWorker,
        publisher: Publisher,
        *,
        lister: Callable[[str], Iterator[str]] = list_dataset_uris,
        idle: float = 1.0,
        wait: float = 30.0,
    ) -> None:
        self._admin = admin
        self._datasets = datasets
        self._worker = worker
        self._publisher = publisher
        self._list = lister
        self._idle = idle
        self._wait = wait

    def publish(self, base_uri: str) -> list[DatasetEvent]:
        """Publish an event per frozen dataset in ``base_uri``; return them.

        Raises:
            UnknownBaseURI: the base URI is not registered.
            DatasetStorageUnavailable: it cannot be listed.
        """
        if self._admin.get_base_uri(base_uri) is None:
            raise UnknownBaseURI(f"Base URI '{base_uri}' not registered")
        uris = [uri for uri in self._list(base_uri) if _maybe_frozen(uri)]
        events = [DatasetEvent.create("frozen", uri, "index") for uri in uris]
        self._publisher.publish_many(events)
        return events

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
        """Report events another process took, once the store shows them."""
        deadline = time.monotonic() + self._wait
        while uris:
            found = [uri for uri in uris if self._datasets.get(uri) is not None]
            for uri in found:
                yield IndexReport(uri, "registered")
            uris = [uri for uri in uris if uri not in found]
            if uris and time.monotonic() >= deadline:
                for uri in uris:
                    yield IndexReport(uri, "failed", ELSEWHERE)
                return
            if uris:
                time.sleep(0.2)


def _maybe_frozen(uri: str) -> bool:
    """Tell whether ``uri`` may be frozen (if unreadable, the registrar decides)."""
    try:
        admin = read_admin_metadata(uri)
    except InvalidDataset:
        return True
    return admin is not None and admin.get("type") == "dataset"

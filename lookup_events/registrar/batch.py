"""Turn batches of DatasetEvents into store writes, through the Registrar.

The kind of an event only says why to look: every event makes the
registrar re-read the dataset from its storage, and the storage decides.
A frozen dataset is upserted, a vanished one is deleted (so a removal is
always confirmed first), a proto dataset is skipped. Duplicated, late and
reordered events therefore all end in the same state.

Each event gets an outcome the queue acts on: ``done`` (ack), ``retry``
(a transient failure: storage or database unreachable) or ``dead`` (a
permanent failure, with the reason, for the dead-letter queue).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from lookup_events.errors import (
    DatabaseUnavailable,
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
    UnknownBaseURI,
)
from lookup_events.events import DatasetEvent
from lookup_events.model import DatasetRecord
from lookup_events.registrar.writer import Registrar

logger = logging.getLogger(__name__)

Status = Literal["done", "retry", "dead"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one event: done, retry later, or dead with a reason."""

    event: DatasetEvent
    status: Status
    action: str = ""
    reason: str = ""


@dataclass
class _Plan:
    upserts: dict[str, DatasetRecord] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    results: dict[str, tuple[Status, str, str]] = field(default_factory=dict)
    base_uris: set[str] = field(default_factory=set)  # found registered in this batch


class EventHandler:
    """Applies batches of events to the stores; one transaction for all upserts."""

    def __init__(self, registrar: Registrar) -> None:
        self._registrar = registrar

    def handle(self, event: DatasetEvent) -> Outcome:
        """Apply one event."""
        return self.handle_batch([event])[0]

    def handle_batch(self, events: Sequence[DatasetEvent]) -> list[Outcome]:
        """Apply a batch of events; return one outcome per event, in order."""
        plan = _Plan()
        for uri in dict.fromkeys(event.uri for event in events):
            plan.results[uri] = self._inspect(uri, plan)
        self._write(plan)
        return [Outcome(event, *plan.results[event.uri]) for event in events]

    def _inspect(self, uri: str, plan: _Plan) -> tuple[Status, str, str]:
        try:
            plan.upserts[uri] = self._registrar.read(uri, plan.base_uris)
        except DatasetNotFound:
            plan.deletes.add(uri)
            return ("done", "removed", "")
        except NotFrozen:
            return ("done", "skipped", "not frozen (a proto dataset)")
        except (InvalidDataset, UnknownBaseURI) as ex:
            return ("dead", "", f"{type(ex).__name__}: {ex}")
        except DatasetStorageUnavailable as ex:
            return ("retry", "", f"{type(ex).__name__}: {ex}")
        return ("done", "registered", "")

    def _write(self, plan: _Plan) -> None:
        try:
            self._registrar.store_many(list(plan.upserts.values()))
            for uri in plan.deletes:
                self._registrar.forget(uri)
        except DatabaseUnavailable as ex:
            reason = f"{type(ex).__name__}: {ex}"
            for uri in [*plan.upserts, *plan.deletes]:
                plan.results[uri] = ("retry", "", reason)
            logger.warning("store unavailable, events will be retried: %s", ex)
        except InvalidDataset as ex:  # e.g. a document the store refuses as too large
            self._write_one_by_one(plan, ex)

    def _write_one_by_one(self, plan: _Plan, cause: Exception) -> None:
        logger.info("batch refused (%s); writing its records one by one", cause)
        for uri, record in plan.upserts.items():
            try:
                self._registrar.store_many([record])
            except InvalidDataset as ex:
                plan.results[uri] = ("dead", "", f"{type(ex).__name__}: {ex}")
        for uri in plan.deletes:
            self._registrar.forget(uri)

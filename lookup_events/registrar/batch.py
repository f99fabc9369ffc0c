"""Apply a batch of DatasetEvents to the stores, through the Registrar.

The kind of an event only says why to look: every event makes the
registrar re-read the dataset from its storage, and the storage decides.
A frozen dataset is upserted, a vanished one is deleted (so a removal is
always confirmed first), a proto dataset is skipped. Duplicated, late and
reordered events therefore all end in the same state.

Each event gets an ``Outcome`` the queue acts on: done (ack), retry (a
transient failure: dataset storage or database unreachable) or dead (a
permanent failure, with the reason, for the dead-letter queue).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

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
from lookup_events.registrar.outcomes import Action, Outcome, Status, Verdict
from lookup_events.registrar.writer import Registrar
from lookup_events.store.actors import Actor

logger = logging.getLogger(__name__)

_PROTO = "not frozen (a proto dataset)"


@dataclass
class Plan:
    """A batch read from storage and not yet written: records, deletions, verdicts."""

    events: Sequence[DatasetEvent]
    upserts: dict[str, DatasetRecord] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    base_uris: set[str] = field(default_factory=set)  # found registered in this batch
    actors: dict[str, Actor] = field(default_factory=dict)  # the last event of each URI


class BatchHandler:
    """Applies batches of events to the stores; one transaction for all upserts."""

    def __init__(self, registrar: Registrar) -> None:
        self._registrar = registrar

    def handle_batch(self, events: Sequence[DatasetEvent]) -> list[Outcome]:
        """Apply a batch of events; return one outcome per event, in order."""
        return self.write(self.inspect(events))

    def inspect(self, events: Sequence[DatasetEvent]) -> Plan:
        """Read each dataset of a batch from its storage; write nothing.

        Safe to run in another thread than ``write``: it only reads storage
        and the admin store (whether a base URI is registered).

        Raises:
            DatabaseUnavailable: the admin store could not be asked.
        """
        plan = Plan(events, actors={event.uri: Actor.event(event) for event in events})
        for uri in dict.fromkeys(event.uri for event in events):
            plan.verdicts[uri] = self._inspect(uri, plan)
        return plan

    def write(self, plan: Plan) -> list[Outcome]:
        """Write what ``inspect`` found in one transaction; return one outcome per event."""
        self._write(plan)
        return [plan.verdicts[event.uri].of(event) for event in plan.events]

    def _inspect(self, uri: str, plan: Plan) -> Verdict:
        try:
            plan.upserts[uri] = self._registrar.read(uri, plan.base_uris)
        except DatasetNotFound:
            plan.deletes.add(uri)
            return Verdict.done(Action.REMOVED)
        except NotFrozen:
            return Verdict.done(Action.SKIPPED, _PROTO)
        except (InvalidDataset, UnknownBaseURI) as ex:
            return Verdict.failed(Status.DEAD, ex)
        except DatasetStorageUnavailable as ex:
            return Verdict.failed(Status.RETRY, ex)
        return Verdict.done(Action.REGISTERED)

    def _write(self, plan: Plan) -> None:
        try:
            self._registrar.store_many(list(plan.upserts.values()), plan.actors)
            for uri in plan.deletes:
                self._registrar.forget(uri, plan.actors[uri])
        except DatabaseUnavailable as ex:
            for uri in [*plan.upserts, *plan.deletes]:
                plan.verdicts[uri] = Verdict.failed(Status.RETRY, ex)
            logger.warning("database unavailable, events will be retried: %s", ex)
        except InvalidDataset as ex:  # e.g. a document the store refuses as too large
            self._write_one_by_one(plan, ex)

    def _write_one_by_one(self, plan: Plan, cause: Exception) -> None:
        logger.info("batch refused (%s); writing its records one by one", cause)
        for uri, record in plan.upserts.items():
            try:
                self._registrar.store_many([record], plan.actors[uri])
            except InvalidDataset as ex:
                plan.verdicts[uri] = Verdict.failed(Status.DEAD, ex)
        for uri in plan.deletes:
            self._registrar.forget(uri, plan.actors[uri])

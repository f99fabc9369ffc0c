"""The audit trail of a MongoDB dataset store: a collection beside the datasets.

MongoDB without a replica set has no multi-document transactions, so an
entry cannot share the transaction of its change. The store writes the
change first and its entries right after (``MongoAuditTrail``): a process
dying in between loses the entry, but an entry never describes a change
that did not happen, and the entries of one writer follow the order of
its changes. Users, base URIs and permissions live in the SQL admin
store, whose entries are transactional; ``store.audit.MergedAuditLog`` reads both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection

from lookup_events.model import DatasetRecord
from lookup_events.store.actors import Actor, ActorFor, actor_of
from lookup_events.store.audit import (
    AuditEntry,
    AuditQuery,
    dataset_changes,
    dataset_entry,
    registered,
)
from lookup_events.store.mongo.query import RECORD_PROJECTION, Document, record_of
from lookup_events.store.protocols import PageRequest, ResultPage

_INDEXES: tuple[tuple[list[tuple[str, Any]], str], ...] = (
    ([("subject", ASCENDING), ("at", DESCENDING)], "subject_at"),
    ([("actor_kind", ASCENDING), ("actor", ASCENDING), ("at", DESCENDING)], "actor_at"),
    ([("at", DESCENDING)], "at"),
)
_NEWEST_FIRST = [("at", DESCENDING), ("_id", DESCENDING)]
# What an audit summary compares: everything but the manifest.
_AUDITED = {key: value for key, value in RECORD_PROJECTION.items() if key != "manifest"}


def create_indexes(audit: Collection[Document]) -> None:
    """Create the indexes of the audit collection (idempotent)."""
    for keys, name in _INDEXES:
        audit.create_index(keys, name=name)


def document_of_entry(entry: AuditEntry) -> Document:
    """Return the stored form of an entry."""
    return {
        "at": entry.at,
        "subject_kind": entry.subject_kind,
        "subject": entry.subject,
        "action": entry.action,
        "base_uri": entry.base_uri,
        "uuid": entry.uuid,
        "actor_kind": entry.actor.kind,
        "actor": entry.actor.name,
        "cause": dict(entry.actor.cause),
        "changes": dict(entry.changes),
    }


def entry_of_document(document: Mapping[str, Any]) -> AuditEntry:
    """Return the entry stored in ``document``."""
    return AuditEntry(
        at=float(document["at"]),
        subject_kind=document["subject_kind"],
        subject=document["subject"],
        action=document["action"],
        changes=document.get("changes", {}),
        actor=Actor(document["actor_kind"], document["actor"], document.get("cause", {})),
        base_uri=document.get("base_uri"),
        uuid=document.get("uuid"),
    )


def audit_filter(query: AuditQuery) -> Document:
    """Return the filter of ``query`` (a user: what they did and what was done to them)."""
    found: Document = {}
    if query.subject is not None:
        found["subject"] = query.subject
    if query.user is not None:
        found["$or"] = [
            {"actor_kind": "user", "actor": query.user},
            {"subject_kind": "user", "subject": query.user},
        ]
    times: Document = {}
    if query.since is not None:
        times["$gte"] = query.since
    if query.until is not None:
        times["$lte"] = query.until
    if times:
        found["at"] = times
    return found


class MongoAuditTrail:
    """Writes the entries of a MongoDB dataset store's changes, after each change."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def before_upserts(
        self, datasets: Collection[Document], uris: Sequence[str]
    ) -> dict[str, DatasetRecord]:
        """Return the current records at ``uris`` (what the upserts will replace)."""
        found = datasets.find({"uri": {"$in": list(uris)}}, _AUDITED)
        return {doc["uri"]: record_of(doc) for doc in found}

    def after_upserts(
        self,
        audit: Collection[Document],
        old: Mapping[str, DatasetRecord],
        records: Iterable[DatasetRecord],
        actors: ActorFor,
    ) -> None:
        """Write an entry for each record that is new or changed."""
        at = self._clock()
        entries: list[AuditEntry] = []
        for record in records:
            actor = actor_of(actors, record.uri)
            before = old.get(record.uri)
            if before is None:
                entries.append(dataset_entry(at, "registered", record, registered(record), actor))
            elif changes := dataset_changes(before, record):
                entries.append(dataset_entry(at, "updated", record, changes, actor))
        self._insert(audit, entries)

    def removed(
        self, audit: Collection[Document], gone: Iterable[Document], reason: str, actor: Actor
    ) -> None:
        """Write a ``removed`` entry for each deleted document (uri, base_uri, uuid)."""
        at = self._clock()
        entries = [
            AuditEntry(
                at, "dataset", doc["uri"], "removed", {"reason": reason}, actor,
                doc["base_uri"], doc["uuid"],
            )
            for doc in gone
        ]  # fmt: skip
        self._insert(audit, entries)

    def _insert(self, audit: Collection[Document], entries: list[AuditEntry]) -> None:
        if entries:
            audit.insert_many([document_of_entry(entry) for entry in entries], ordered=True)


def find_entries(
    audit: Collection[Document], query: AuditQuery, page: PageRequest
) -> ResultPage[AuditEntry]:
    """Return one page of the entries matching ``query``, newest first."""
    found = audit_filter(query)
    cursor = audit.find(found, {"_id": 0}, sort=_NEWEST_FIRST)
    items = [entry_of_document(doc) for doc in cursor.skip(page.offset).limit(page.size)]
    return ResultPage(items, audit.count_documents(found))


def prune_entries(audit: Collection[Document], before: float) -> int:
    """Delete the entries older than ``before``; return how many."""
    return int(audit.delete_many({"at": {"$lt": before}}).deleted_count)

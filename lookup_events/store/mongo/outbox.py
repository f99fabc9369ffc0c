"""The outbox of a MongoDB dataset store: its writes, numbered, read in order.

``MongoDatasetStore`` records each write and deletion here right after it
(MongoDB has no multi-document transaction without a replica set; the audit
entries are written the same way), numbered from a counter, so that the
subscriptions' deliverer reads them oldest first as it reads the SQL outbox.
A write that fails records nothing; a process that dies between a write and
its change loses that one notification. Changes numbered in one order and
inserted in another (concurrent writers) are read on a later pass, since
only the deliverer deletes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection

from lookup_events.model import DatasetRecord
from lookup_events.store.feeds import Change

Document = dict[str, Any]
_COUNTER = "outbox"
_FIELDS = ("uri", "base_uri", "uuid", "name", "removed", "committed_at")


class MongoOutbox:
    """Writes a store's changes into its outbox collection."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def written(
        self,
        outbox: Collection[Document],
        counters: Collection[Document],
        records: Sequence[DatasetRecord],
    ) -> None:
        """Record one change per written record."""
        entries = [record.entry for record in records]
        rows = [_row(e.uri, e.base_uri, e.uuid, e.name, removed=False) for e in entries]
        self._insert(outbox, counters, rows)

    def removed(
        self,
        outbox: Collection[Document],
        counters: Collection[Document],
        gone: Iterable[Document],
    ) -> None:
        """Record one change per deleted document (``uri``, ``base_uri``, ``uuid``, ``name``)."""
        rows = [
            _row(doc["uri"], doc["base_uri"], doc["uuid"], doc.get("name", ""), removed=True)
            for doc in gone
        ]
        self._insert(outbox, counters, rows)

    def _insert(
        self, outbox: Collection[Document], counters: Collection[Document], rows: list[Document]
    ) -> None:
        if not rows:
            return
        first = _reserve(counters, len(rows))
        now = self._clock()
        numbered = [{"_id": first + n, **row, "committed_at": now} for n, row in enumerate(rows)]
        outbox.insert_many(numbered, ordered=True)


def _row(uri: str, base_uri: str, uuid: str, name: str, *, removed: bool) -> Document:
    return {"uri": uri, "base_uri": base_uri, "uuid": uuid, "name": name, "removed": removed}


def _reserve(counters: Collection[Document], count: int) -> int:
    """Reserve ``count`` change numbers; return the first."""
    counter = counters.find_one_and_update(
        {"_id": _COUNTER},
        {"$inc": {"value": count}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert counter is not None  # an upsert returning AFTER always finds one
    return int(counter["value"]) - count + 1


def read_changes(outbox: Collection[Document], limit: int) -> list[Change]:
    """Return up to ``limit`` changes in commit order (by number)."""
    found = outbox.find({}).sort("_id", 1).limit(limit)
    return [Change(id=doc["_id"], **{name: doc[name] for name in _FIELDS}) for doc in found]


def forget_changes(outbox: Collection[Document], ids: Iterable[int]) -> None:
    """Delete the changes with these numbers (they were matched)."""
    wanted = list(ids)
    if wanted:
        outbox.delete_many({"_id": {"$in": wanted}})

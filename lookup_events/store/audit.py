"""The audit trail: who or what changed a record, when, and a short summary of how.

Every write of the stores takes an ``Actor`` (``store.actors``): the API
user, the event that caused it (its source, event time, S3 sequencer), a
command, the legacy import. A store with its audit switched on writes one ``AuditEntry`` per
change in the transaction of the change itself (SQL), so the trail cannot
disagree with the data. A change is summarised (``dataset_changes``), never
copied: tags and annotation keys added or removed, the README changed, new
values of the few scalar fields.

Re-registering a dataset that did not change writes nothing, so rescans
and duplicated events leave no noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from lookup_events.model import DatasetRecord
from lookup_events.store.actors import Actor
from lookup_events.store.protocols import PageRequest, ResultPage

SubjectKind = Literal["dataset", "user", "base_uri", "permission"]
SUBJECT_KINDS: tuple[SubjectKind, ...] = ("dataset", "user", "base_uri", "permission")

# The last second of the year 9999: times past it have no ISO 8601 form.
_LAST_SECOND = 253_402_300_799
# Scalar fields whose old and new values an update records.
_SCALARS = ("name", "creator_username", "frozen_at", "number_of_items", "size_in_bytes", "type")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change: when, to what, what kind of change, a summary, and by whom."""

    at: float
    subject_kind: SubjectKind
    subject: str
    action: str
    changes: Mapping[str, Any]
    actor: Actor
    base_uri: str | None = None
    uuid: str | None = None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries to read; criteria are AND-ed, times are inclusive seconds."""

    subject: str | None = None
    user: str | None = None
    since: float | None = None
    until: float | None = None


@runtime_checkable
class AuditLog(Protocol):
    """The stored audit trail: read newest first, and pruned by age."""

    def entries(self, query: AuditQuery, page: PageRequest) -> ResultPage[AuditEntry]:
        """Return one page of the entries matching ``query``, newest first."""
        ...

    def prune(self, before: float) -> int:
        """Delete the entries older than ``before``; return how many."""
        ...


def parse_time(text: str) -> float:
    """Return seconds since the epoch of a number of seconds or an ISO 8601 time (UTC if bare).

    Raises:
        ValueError: the text is neither, or lies outside the years 1 to 9999.
    """
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or abs(seconds) > _LAST_SECOND:
            raise ValueError("Seconds since 1970 must be a finite time before the year 10000.")
        return seconds
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            "Expected seconds since 1970 or an ISO 8601 time (2026-12-06T10:00:00Z)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def dataset_entry(
    at: float, action: str, record: DatasetRecord, changes: Mapping[str, Any], actor: Actor
) -> AuditEntry:
    """Return the entry of a change to the dataset ``record``."""
    entry = record.entry
    return AuditEntry(at, "dataset", entry.uri, action, changes, actor, entry.base_uri, entry.uuid)


def registered(record: DatasetRecord) -> dict[str, Any]:
    """Summarise a first registration: what the dataset is, not a copy of it."""
    entry = record.entry
    return {
        "name": entry.name,
        "frozen_at": entry.frozen_at,
        "number_of_items": entry.number_of_items,
        "size_in_bytes": entry.size_in_bytes,
        "tags": list(entry.tags),
        "annotations": sorted(record.annotations),
        "readme_length": len(record.readme),
    }


def dataset_changes(old: DatasetRecord, new: DatasetRecord) -> dict[str, Any]:
    """Summarise how ``new`` differs from ``old``; empty when it does not."""
    changes: dict[str, Any] = {}
    before, after = old.entry, new.entry
    for name in _SCALARS:
        if getattr(before, name) != getattr(after, name):
            changes[name] = [getattr(before, name), getattr(after, name)]
    if before.tags != after.tags:
        changes["tags"] = _set_difference(before.tags, after.tags)
    annotations = _mapping_difference(old.annotations, new.annotations)
    if annotations:
        changes["annotations"] = annotations
    if old.readme != new.readme:
        changes["readme"] = {"length": [len(old.readme), len(new.readme)]}
    if before.extra != after.extra:
        changes["extra"] = _mapping_difference(before.extra, after.extra)
    return changes


def set_difference(old: Sequence[str], new: Sequence[str]) -> dict[str, list[str]]:
    """Return what was added to and removed from a list of names."""
    return _set_difference(old, new)


def _set_difference(old: Sequence[str], new: Sequence[str]) -> dict[str, list[str]]:
    return {
        "added": [value for value in new if value not in old],
        "removed": [value for value in old if value not in new],
    }


def _mapping_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return the keys added, removed and changed between two mappings (none: empty)."""
    difference = {
        "added": sorted(new.keys() - old.keys()),
        "removed": sorted(old.keys() - new.keys()),
        "changed": sorted(key for key in old.keys() & new.keys() if old[key] != new[key]),
    }
    return {kind: keys for kind, keys in difference.items() if keys}


class MergedAuditLog:
    """Two audit logs read as one, newest first: the SQL admin store's and MongoDB's.

    A page is merged from the first ``offset + size`` entries of each, so
    deep pages cost more; the trail is read by admins, rarely and shallowly.
    """

    def __init__(self, first: AuditLog, second: AuditLog) -> None:
        self._logs = (first, second)

    def entries(self, query: AuditQuery, page: PageRequest) -> ResultPage[AuditEntry]:
        """Return one page of the entries of both logs matching ``query``, newest first."""
        head = PageRequest(1, page.offset + page.size)
        pages = [log.entries(query, head) for log in self._logs]
        merged = sorted((e for p in pages for e in p.items), key=lambda e: e.at, reverse=True)
        window = merged[page.offset : page.offset + page.size]
        return ResultPage(window, sum(p.total for p in pages))

    def prune(self, before: float) -> int:
        """Delete the entries of both logs older than ``before``; return how many."""
        return sum(log.prune(before) for log in self._logs)

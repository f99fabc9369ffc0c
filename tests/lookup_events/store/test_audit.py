"""The audit trail's pure parts: change summaries, times, two logs read as one."""

from __future__ import annotations

import dataclasses

import pytest

from lookup_events.model import DatasetRecord, record_from_info
from lookup_events.store.actors import SYSTEM
from lookup_events.store.audit import (
    AuditEntry,
    AuditQuery,
    MergedAuditLog,
    dataset_changes,
    parse_time,
)
from lookup_events.store.protocols import PageRequest, ResultPage
from tests.support.data import SNOW_WHITE, bad_apples


def apples() -> DatasetRecord:
    """Return the anchor's bad apples."""
    return record_from_info(bad_apples(SNOW_WHITE))


def test_an_identical_record_has_no_changes() -> None:
    assert dataset_changes(apples(), apples()) == {}


def test_scalar_changes_keep_old_and_new_values() -> None:
    old = apples()
    entry = dataclasses.replace(old.entry, name="good-apples", frozen_at=old.entry.frozen_at + 1)
    changes = dataset_changes(old, DatasetRecord(entry, old.readme, old.manifest, old.annotations))

    assert changes == {
        "name": ["bad-apples", "good-apples"],
        "frozen_at": [old.entry.frozen_at, old.entry.frozen_at + 1],
    }


def test_annotations_are_summarised_by_key_not_copied() -> None:
    old = apples()
    new = DatasetRecord(old.entry, old.readme, old.manifest, {"colour": "red" * 1000})

    assert dataset_changes(old, new) == {"annotations": {"added": ["colour"], "removed": ["type"]}}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1765000000", 1765000000.0),
        ("1765000000.5", 1765000000.5),
        ("2026-12-06T10:00:00Z", 1796551200.0),
        ("2026-12-06T10:00:00", 1796551200.0),
        ("2026-12-06T11:00:00+01:00", 1796551200.0),
    ],
)
def test_times_are_seconds_or_iso_8601(text: str, seconds: float) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["yesterday", "nan", "inf", "1e300", "2026-13-01"])
def test_what_is_no_time_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"(?i)seconds since 1970"):
        parse_time(text)


class ListedLog:
    """An AuditLog over a list (newest first), as a second source for the merge."""

    def __init__(self, *times: float) -> None:
        self.items = [AuditEntry(at, "user", "x", "added", {}, SYSTEM) for at in times]

    def entries(self, query: AuditQuery, page: PageRequest) -> ResultPage[AuditEntry]:
        """Return one page of the list."""
        return ResultPage(self.items[page.offset : page.offset + page.size], len(self.items))

    def prune(self, before: float) -> int:
        """Drop what is older than ``before``."""
        kept = [item for item in self.items if item.at >= before]
        pruned, self.items = len(self.items) - len(kept), kept
        return pruned


def test_two_logs_read_as_one_page_newest_first() -> None:
    merged = MergedAuditLog(ListedLog(9, 5, 1), ListedLog(8, 7, 2))

    second = merged.entries(AuditQuery(), PageRequest(2, 2))

    assert ([entry.at for entry in second.items], second.total) == ([7, 5], 6)
    assert merged.prune(6) == 3

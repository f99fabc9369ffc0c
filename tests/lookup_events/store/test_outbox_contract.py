"""Outbox contract: every write of a dataset record recorded, read in order, on every backend.

Runs on SQLite, PostgreSQL (the change in the write's transaction), mongomock
and (with ``DTOOL_LOOKUP_TEST_MONGO_URI``) a real MongoDB (the change right
after the write).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores
from tests.support.data import make_info
from tests.support.stores import StoreBackend

BASE = "s3://outbox-bucket"


@pytest.fixture
def outboxed(backend: StoreBackend) -> Iterator[Stores]:
    """Stores with subscriptions on (an outbox), on each dataset store backend."""
    settings = dataclasses.replace(backend.settings, subscriptions=True)
    opened = open_stores(settings, backend.mongo_client)
    yield opened
    opened.close()


def test_writes_and_deletions_are_recorded_in_order(outboxed: Stores) -> None:
    first, second, other = (record_from_info(make_info(i, BASE)) for i in range(3))
    outboxed.datasets.upsert(first)
    outboxed.datasets.upsert_many([second, other])
    outboxed.datasets.delete(first.uri)
    outboxed.datasets.delete_base_uri(BASE)
    assert outboxed.changes is not None
    changes = outboxed.changes.changes(100)
    assert [(c.name, c.removed) for c in changes] == [
        (first.entry.name, False),
        (second.entry.name, False),
        (other.entry.name, False),
        (first.entry.name, True),
        (second.entry.name, True),
        (other.entry.name, True),
    ]
    assert changes[0].uuid == first.entry.uuid
    assert changes[0].base_uri == BASE
    assert [c.id for c in changes] == sorted(c.id for c in changes)
    outboxed.changes.forget(c.id for c in changes[:4])
    assert [c.id for c in outboxed.changes.changes(100)] == [c.id for c in changes[4:]]


def test_a_failed_write_records_nothing(outboxed: Stores) -> None:
    record = record_from_info(make_info(0, BASE))
    # A value no driver can encode fails the statement after the first record was written.
    broken = record_from_info(make_info(1, BASE))
    broken = dataclasses.replace(broken, manifest={"items": object()})
    with pytest.raises(Exception):  # noqa: B017 - the rollback is what is tested
        outboxed.datasets.upsert_many([record, broken])
    assert outboxed.changes is not None
    assert outboxed.changes.changes(10) == []
    assert outboxed.datasets.get(record.uri) is None


def test_without_subscriptions_there_is_no_outbox(backend: StoreBackend) -> None:
    stores = backend.open()
    try:
        assert (stores.subscriptions, stores.changes) == (None, None)
    finally:
        stores.close()


def test_removals_are_recorded_with_the_audit_trail_off(backend: StoreBackend) -> None:
    settings = dataclasses.replace(backend.settings, subscriptions=True, audit=False)
    opened = open_stores(settings, backend.mongo_client)
    try:
        records = [record_from_info(make_info(i, BASE)) for i in range(2)]
        opened.datasets.upsert_many(records)
        opened.datasets.delete_base_uri(BASE)
        assert opened.changes is not None
        changes = opened.changes.changes(10)
        removed = sorted((c.name, c.uuid) for c in changes if c.removed)
        assert removed == sorted((r.entry.name, r.entry.uuid) for r in records)
    finally:
        opened.close()

"""Audit contract: every store backend records each change once, with its actor.

Runs on SQLite, PostgreSQL, mongomock and (with ``DTOOL_LOOKUP_TEST_MONGO_URI``)
a real MongoDB; the admin store's entries are SQL on every backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from lookup_events.events import DatasetEvent
from lookup_events.model import DatasetRecord, record_from_info
from lookup_events.store import Stores, open_stores
from lookup_events.store.actors import Actor
from lookup_events.store.audit import AuditEntry, AuditQuery
from lookup_events.store.protocols import PageRequest
from tests.support.data import MR_MEN, SNOW_WHITE, bad_apples, make_info
from tests.support.stores import StoreBackend

ALL = PageRequest(1, 1000)
ANN = Actor.user("ann")


@pytest.fixture
def stores(backend: StoreBackend) -> Iterator[Stores]:
    """Open empty stores, auditing, with both anchor base URIs registered."""
    opened = backend.open()
    opened.admin.add_base_uri(SNOW_WHITE)
    opened.admin.add_base_uri(MR_MEN)
    yield opened
    opened.close()


def trail(stores: Stores, **criteria: object) -> list[AuditEntry]:
    """Return the entries matching ``criteria``, newest first."""
    return stores.audit.entries(AuditQuery(**criteria), ALL).items  # type: ignore[arg-type]


def apples() -> DatasetRecord:
    """Return the anchor's bad apples in snow white's base URI."""
    return record_from_info(bad_apples(SNOW_WHITE))


def edited(record: DatasetRecord) -> DatasetRecord:
    """Return ``record`` with a tag added, an annotation changed and a new README."""
    entry = dataclasses.replace(record.entry, tags=(*record.entry.tags, "rotten"))
    return DatasetRecord(entry, "# new readme", record.manifest, {"type": "compost"})


def test_a_first_registration_is_summarised_not_copied(stores: Stores) -> None:
    stores.datasets.upsert(apples(), ANN)

    [entry] = trail(stores, subject=apples().uri)

    assert (entry.subject_kind, entry.action, entry.actor) == ("dataset", "registered", ANN)
    assert (entry.base_uri, entry.uuid) == (SNOW_WHITE, apples().entry.uuid)
    assert entry.changes["tags"] == ["evil", "fruit"]
    assert entry.changes["annotations"] == ["type"]
    assert "manifest" not in entry.changes and "readme" not in entry.changes


def test_a_reregistration_records_only_what_changed(stores: Stores) -> None:
    stores.datasets.upsert(apples(), ANN)
    stores.datasets.upsert_many([edited(apples())], Actor.user("bob"))

    newest = trail(stores, subject=apples().uri)[0]

    assert (newest.action, newest.actor.name) == ("updated", "bob")
    assert newest.changes == {
        "tags": {"added": ["rotten"], "removed": []},
        "annotations": {"changed": ["type"]},
        "readme": {"length": [len(apples().readme), len("# new readme")]},
    }


def test_an_unchanged_reregistration_leaves_no_entry(stores: Stores) -> None:
    stores.datasets.upsert(apples(), ANN)
    stores.datasets.upsert(apples(), ANN)
    stores.datasets.upsert_many([apples()], ANN)

    assert [entry.action for entry in trail(stores, subject=apples().uri)] == ["registered"]


def test_each_record_of_a_batch_names_its_own_event(stores: Stores) -> None:
    records = [record_from_info(make_info(i, MR_MEN)) for i in range(3)]
    events = {
        record.uri: DatasetEvent.create(
            "frozen", record.uri, "s3", sequencer="00AB", occurred_at=5
        )
        for record in records
    }
    stores.datasets.upsert_many(records, {uri: Actor.event(e) for uri, e in events.items()})

    for record in records:
        [entry] = trail(stores, subject=record.uri)
        assert (entry.actor.kind, entry.actor.name) == ("event", "s3")
        assert entry.actor.cause["sequencer"] == "00AB"
        assert entry.actor.cause["event_id"] == events[record.uri].event_id


def test_removals_are_recorded_one_by_one_and_by_base_uri(stores: Stores) -> None:
    records = [record_from_info(make_info(i, MR_MEN)) for i in range(3)]
    stores.datasets.upsert_many(records, ANN)
    stores.datasets.delete(records[0].uri, Actor.command("test"))
    stores.datasets.delete(records[0].uri, Actor.command("test"))  # gone already: no entry
    stores.datasets.delete_base_uri(MR_MEN, ANN)

    removed = [e for e in trail(stores) if e.action == "removed"]

    assert sorted(e.subject for e in removed) == sorted(r.uri for r in records)
    assert {e.uuid for e in removed} == {r.entry.uuid for r in records}
    first = next(e for e in removed if e.subject == records[0].uri)
    assert (first.actor.kind, first.changes) == ("command", {"reason": "dataset removed"})


def test_admin_changes_are_recorded_with_their_difference(stores: Stores) -> None:
    admin = stores.admin
    admin.add_user("bob", actor=ANN)
    admin.put_user("bob", True, ANN)
    admin.put_user("bob", True, ANN)  # unchanged: no entry
    admin.set_permissions(SNOW_WHITE, ["bob"], [], ANN)
    admin.grant("bob", MR_MEN, "register", ANN)
    admin.revoke("bob", MR_MEN, "register", ANN)
    admin.delete_user("bob", ANN)

    entries = [(e.subject_kind, e.action, e.subject) for e in reversed(trail(stores, user="ann"))]

    assert entries == [
        ("user", "added", "bob"),
        ("user", "updated", "bob"),
        ("permission", "replaced", SNOW_WHITE),
        ("permission", "granted", MR_MEN),
        ("permission", "revoked", MR_MEN),
        ("user", "removed", "bob"),
    ]
    replaced = trail(stores, subject=SNOW_WHITE)[0]
    assert replaced.changes == {"search": {"added": ["bob"], "removed": []}}


def test_a_user_filter_finds_what_they_did_and_what_was_done_to_them(stores: Stores) -> None:
    stores.admin.add_user("bob", actor=Actor.command("user add"))
    stores.datasets.upsert(apples(), Actor.user("bob"))

    assert {e.subject for e in trail(stores, user="bob")} == {"bob", apples().uri}
    assert trail(stores, user="nobody") == []


def test_time_filters_are_inclusive_and_pages_newest_first(backend: StoreBackend) -> None:
    ticks = iter(float(t) for t in range(100, 200))
    stores = open_stores(backend.settings, backend.mongo_client, clock=lambda: next(ticks))
    try:
        stores.admin.add_base_uri(MR_MEN)  # at 100
        for i in range(4):  # at 101..104
            stores.datasets.upsert(record_from_info(make_info(i, MR_MEN)), ANN)

        between = trail(stores, since=101.0, until=103.0)
        page = stores.audit.entries(AuditQuery(), PageRequest(2, 2))

        assert [e.at for e in between] == [103.0, 102.0, 101.0]
        assert ([e.at for e in page.items], page.total) == ([102.0, 101.0], 5)
    finally:
        stores.close()


def test_prune_deletes_only_older_entries(stores: Stores) -> None:
    stores.datasets.upsert(apples(), ANN)
    at = trail(stores)[0].at

    assert stores.audit.prune(at - 3600) == 0
    assert stores.audit.prune(at + 3600) == 3  # two base URIs and the dataset
    assert trail(stores) == []


def test_audit_off_writes_nothing(backend: StoreBackend) -> None:
    quiet = dataclasses.replace(
        backend, settings=dataclasses.replace(backend.settings, audit=False)
    )
    stores = quiet.open()
    try:
        stores.admin.add_base_uri(SNOW_WHITE)
        stores.datasets.upsert(apples(), ANN)
        stores.datasets.delete(apples().uri, ANN)

        assert trail(stores) == []
    finally:
        stores.close()

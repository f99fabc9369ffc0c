"""BatchHandler: every event re-reads storage, so the store converges on the truth.

A batch checks each dataset's base URI, and forgets the answers afterwards.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lookup_events.events import DatasetEvent
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.outcomes import Outcome
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores
from lookup_events.store.audit import AuditQuery
from lookup_events.store.protocols import PageRequest, SearchQuery
from lookup_events.uris import normalise_uri
from tests.support.datasets import corrupt, make_dataset, set_readme


@pytest.fixture
def base(tmp_path: Path, stores: Stores) -> Path:
    directory = tmp_path / "base"
    directory.mkdir()
    stores.admin.add_base_uri(normalise_uri(str(directory)))
    return directory


@pytest.fixture
def handler(stores: Stores) -> BatchHandler:
    return BatchHandler(Registrar(stores.admin, stores.datasets))


def event(uri: str, kind: str = "frozen") -> DatasetEvent:
    return DatasetEvent.create(kind, uri, "watch")  # type: ignore[arg-type]


def uris_in(stores: Stores, base: Path) -> list[str]:
    query = SearchQuery(base_uris=(normalise_uri(str(base)),))
    return [entry.uri for entry in stores.datasets.search(query, PageRequest(1, 100)).items]


def test_a_frozen_dataset_is_registered(handler, stores, base):
    uri = make_dataset(base, "ds-1", tags=["fruit"])
    [outcome] = handler.handle_batch([event(uri)])
    assert (outcome.status, outcome.action) == ("done", "registered")
    record = stores.datasets.get(uri)
    assert record is not None and record.entry.tags == ("fruit",)


def test_duplicates_and_reordering_end_in_one_record(handler, stores, base):
    uri = make_dataset(base, "ds-1")
    outcomes = handler.handle_batch([event(uri, "removed"), event(uri), event(uri, "updated")])
    assert [o.status for o in outcomes] == ["done"] * 3
    assert uris_in(stores, base) == [uri]


def test_an_update_after_freezing_is_seen(handler, stores, base):
    uri = make_dataset(base, "ds-1")
    handle_one(handler, event(uri))
    set_readme(base, "ds-1", "---\ndescription: pears only\n")
    handle_one(handler, event(uri, "updated"))
    record = stores.datasets.get(uri)
    assert record is not None and "pears only" in record.readme


def test_removal_is_confirmed_against_storage(handler, stores, base):
    uri = make_dataset(base, "ds-1")
    handle_one(handler, event(uri))
    assert handle_one(handler, event(uri, "removed")).action == "registered"  # still there: kept
    shutil.rmtree(base / "ds-1")
    assert handle_one(handler, event(uri, "removed")).action == "removed"
    assert stores.datasets.get(uri) is None


def test_a_proto_dataset_is_skipped_not_dead(handler, stores, base):
    uri = make_dataset(base, "proto", freeze=False)
    outcome = handle_one(handler, event(uri))
    assert (outcome.status, outcome.action) == ("done", "skipped")
    assert stores.datasets.get(uri) is None


def test_poison_is_dead_with_a_reason_and_the_good_ones_go_through(
    handler, stores, base, tmp_path
):
    good = make_dataset(base, "good")
    broken = make_dataset(base, "broken")
    corrupt(base, "broken", ".dtool/manifest.json")
    stranger = make_dataset(tmp_path / "unregistered", "ds")
    outcomes = handler.handle_batch([event(broken), event(stranger), event(good)])
    assert [o.status for o in outcomes] == ["dead", "dead", "done"]
    assert "manifest" in outcomes[0].reason or "JSON" in outcomes[0].reason
    assert "not registered" in outcomes[1].reason
    assert uris_in(stores, base) == [good]


def frozen(uri: str) -> DatasetEvent:
    return DatasetEvent.create("frozen", uri, "watch")


def test_a_batch_judges_every_base_uri(handler: BatchHandler, stores: Stores, tmp_path: Path):
    stores.admin.add_base_uri(normalise_uri(str(tmp_path / "known")))
    known = [make_dataset(tmp_path / "known", f"ds-{n}") for n in range(2)]
    stranger = make_dataset(tmp_path / "unknown", "ds")

    outcomes = handler.handle_batch([frozen(known[0]), frozen(stranger), frozen(known[1])])

    assert [o.status for o in outcomes] == ["done", "dead", "done"]
    assert "not registered" in outcomes[1].reason
    assert [stores.datasets.get(uri) is not None for uri in (*known, stranger)] == [
        True,
        True,
        False,
    ]


def test_a_base_uri_removed_between_batches_is_seen(
    handler: BatchHandler, stores: Stores, tmp_path: Path
):
    base_uri = normalise_uri(str(tmp_path / "base"))
    stores.admin.add_base_uri(base_uri)
    first, second = (make_dataset(tmp_path / "base", name) for name in ("a", "b"))
    assert handle_one(handler, frozen(first)).status == "done"

    stores.admin.delete_base_uri(base_uri)

    outcome = handle_one(handler, frozen(second))
    assert (outcome.status, stores.datasets.get(second)) == ("dead", None)
    assert "not registered" in outcome.reason


def handle_one(handler: BatchHandler, event: DatasetEvent) -> Outcome:
    """Apply a batch of one event; return its outcome."""
    return handler.handle_batch([event])[0]


def test_every_change_names_the_event_that_caused_it(handler, stores, base):
    uri = make_dataset(base, "ds-1")
    handle_one(handler, DatasetEvent.create("frozen", uri, "s3", sequencer="0A1B", occurred_at=7))
    set_readme(base, "ds-1", "---\ndescription: pears only\n")
    handle_one(handler, DatasetEvent.create("updated", uri, "watch"))
    handle_one(handler, DatasetEvent.create("frozen", uri, "scan"))  # nothing changed
    shutil.rmtree(base / "ds-1")
    handle_one(handler, DatasetEvent.create("removed", uri, "scan"))

    entries = stores.audit.entries(AuditQuery(uri), PageRequest(1, 10)).items

    assert [(e.action, e.actor.kind, e.actor.name) for e in reversed(entries)] == [
        ("registered", "event", "s3"),
        ("updated", "event", "watch"),
        ("removed", "event", "scan"),
    ]
    assert entries[-1].actor.cause["sequencer"] == "0A1B"
    assert entries[-1].actor.cause["occurred_at"] == 7.0
    assert set(entries[1].changes) == {"readme"}

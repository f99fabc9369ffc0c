"""BatchHandler batches check each dataset's base URI, and forget the answers afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookup_events.events import DatasetEvent
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.outcomes import Outcome
from lookup_events.registrar.writer import Registrar
from lookup_events.storage import read_dataset
from lookup_events.store import Stores
from lookup_events.uris import normalise_uri
from tests.support.datasets import make_dataset


@pytest.fixture
def handler(stores: Stores) -> BatchHandler:
    return BatchHandler(Registrar(stores.admin, stores.datasets, reader=read_dataset))


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

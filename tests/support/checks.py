"""What fault and scale-out tests look at: the stores a registrar writes and its log."""

from __future__ import annotations

from pathlib import Path

from lookup_events.events import DatasetEvent
from lookup_events.store import Stores, open_stores
from lookup_events.store.protocols import PageRequest, SearchQuery
from tests.support.processes import LookupProcess
from tests.support.stores import settings_for


def open_test_stores(url: str, data_dir: Path) -> Stores:
    """Open the stores at ``url`` (already migrated)."""
    return open_stores(settings_for(url, data_dir))


def frozen(uri: str) -> DatasetEvent:
    """Return the event a watcher publishes when ``uri`` is frozen."""
    return DatasetEvent.create("frozen", uri, "watch")


def registered(stores: Stores, base_uri: str) -> list[str]:
    """Return the URIs of every record in ``base_uri``."""
    query = SearchQuery(base_uris=(base_uri,))
    page = stores.datasets.search(query, PageRequest(1, 10_000))
    return [entry.uri for entry in page.items]


def count(stores: Stores, base_uri: str) -> int:
    """Return how many records ``base_uri`` holds."""
    return stores.datasets.summary([base_uri]).number_of_datasets


def started(process: LookupProcess) -> bool:
    """Tell whether a registrar has connected to the queue."""
    return "connected to the event queue" in process.log()

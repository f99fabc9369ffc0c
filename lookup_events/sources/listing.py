"""Events for every frozen dataset of a base URI: what ``base-uri index`` publishes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lookup_events.errors import InvalidDataset
from lookup_events.events import DatasetEvent
from lookup_events.storage import list_dataset_uris, read_admin_metadata
from lookup_events.storage.layout import AdminMetadata

Lister = Callable[[str], Iterator[str]]
ReadAdmin = Callable[[str], AdminMetadata | None]


def index_events(
    base_uri: str,
    *,
    lister: Lister = list_dataset_uris,
    read_admin: ReadAdmin = read_admin_metadata,
) -> list[DatasetEvent]:
    """Return a ``frozen`` event (source ``index``) for each frozen dataset in ``base_uri``.

    A dataset whose admin metadata cannot be read gets an event too: the
    registrar decides, and dead-letters it with the reason.

    Raises:
        DatasetStorageUnavailable: the base URI cannot be listed.
    """
    uris = [uri for uri in lister(base_uri) if _maybe_frozen(uri, read_admin)]
    return [DatasetEvent.create("frozen", uri, "index") for uri in uris]


def _maybe_frozen(uri: str, read_admin: ReadAdmin) -> bool:
    try:
        admin = read_admin(uri)
    except InvalidDataset:
        return True
    return admin is not None and admin.get("type") == "dataset"

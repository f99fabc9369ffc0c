"""The registrar: the only code that writes dataset records.

Every write of a record goes through a ``Registrar``: events (``batch.py``),
the HTTP register and delete routes, deleting a base URI, and the import of
an old server. So a dataset is validated and stored the same way whichever
door it came through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lookup_events.errors import (
    UnknownBaseURI,
)
from lookup_events.model import DatasetRecord, record_from_info, record_read
from lookup_events.storage import read_dataset
from lookup_events.store.actors import SYSTEM, Actor, ActorFor
from lookup_events.store.protocols import AdminStore, DatasetStore
from lookup_events.uris import normalise_uri

Reader = Callable[[str], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Registered:
    """A dataset that is now in the store, and whether it was new."""

    record: DatasetRecord
    created: bool


class Registrar:
    """Validates datasets and writes them to the dataset store."""

    def __init__(
        self,
        admin: AdminStore,
        datasets: DatasetStore,
        reader: Reader = read_dataset,
    ) -> None:
        self._admin = admin
        self._datasets = datasets
        self._read = reader

    def register_info(self, info: Mapping[str, Any], actor: Actor = SYSTEM) -> Registered:
        """Validate a dataset-info document and upsert its record, as ``actor``.

        Raises:
            InvalidDataset: the document does not describe a frozen dataset.
            UnknownBaseURI: its base URI is not registered.
        """
        record = self.validate(info)
        return Registered(record, self._datasets.upsert(record, actor))

    def validate(self, info: Mapping[str, Any]) -> DatasetRecord:
        """Build the record of a dataset-info document, checking its base URI is registered.

        Raises:
            InvalidDataset: the document does not describe a frozen dataset.
            UnknownBaseURI: its base URI is not registered.
        """
        record = record_from_info(info)
        self._check_registered(record.entry.base_uri)
        return record

    def read(self, uri: str, registered: set[str] | None = None) -> DatasetRecord:
        """Read the dataset at ``uri`` from its storage and validate it (no write).

        Base URIs in ``registered`` are taken as registered without a lookup;
        each one found registered is added to it (a batch shares one set).
        """
        record = record_read(self._read(uri))
        base_uri = record.entry.base_uri
        if registered is None or base_uri not in registered:
            self._check_registered(base_uri)
            if registered is not None:
                registered.add(base_uri)
        return record

    def _check_registered(self, base_uri: str) -> None:
        if self._admin.get_base_uri(base_uri) is None:
            raise UnknownBaseURI(f"base URI {base_uri!r} is not registered")

    def forget(self, uri: str, actor: Actor = SYSTEM) -> bool:
        """Delete the record of ``uri`` without checking storage (the caller did)."""
        return self._datasets.delete(normalise_uri(uri), actor)

    def forget_base_uri(self, base_uri: str, actor: Actor = SYSTEM) -> int:
        """Delete every record in ``base_uri`` (it is being unregistered); return how many."""
        return self._datasets.delete_base_uri(normalise_uri(base_uri), actor)

    def store_many(self, records: Sequence[DatasetRecord], actor: ActorFor = SYSTEM) -> int:
        """Upsert validated records in one transaction; return how many.

        ``actor`` is one actor for all, or one per URI (a batch of events).
        """
        return self._datasets.upsert_many(records, actor) if records else 0

    def register_uri(self, uri: str, actor: Actor = SYSTEM) -> Registered:
        """Read the dataset at ``uri`` from its storage and register it."""
        record = record_read(self._read(uri))
        self._check_registered(record.entry.base_uri)
        return Registered(record, self._datasets.upsert(record, actor))

"""The registrar: the only code that writes dataset records.

``register_info`` is the one registration path: the HTTP register routes,
``base-uri index`` and the event consumer all end in it, so a dataset is
validated and stored the same way whichever door it came through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lookup_events.errors import (
    DatabaseUnavailable,
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
    UnknownBaseURI,
)
from lookup_events.model import DatasetRecord, record_from_info
from lookup_events.storage import list_dataset_uris, read_dataset
from lookup_events.store.protocols import AdminStore, DatasetStore
from lookup_events.uris import normalise_uri

Reader = Callable[[str], dict[str, Any]]
Lister = Callable[[str], Iterator[str]]


@dataclass(frozen=True, slots=True)
class Registered:
    """A dataset that is now in the store, and whether it was new."""

    record: DatasetRecord
    created: bool


@dataclass(frozen=True, slots=True)
class IndexOutcome:
    """What indexing one dataset URI of a base URI came to."""

    uri: str
    registered: Registered | None = None
    error: str = ""


class Registrar:
    """Validates datasets and writes them to the dataset store."""

    def __init__(
        self,
        admin: AdminStore,
        datasets: DatasetStore,
        reader: Reader = read_dataset,
        lister: Lister = list_dataset_uris,
    ) -> None:
        self._admin = admin
        self._datasets = datasets
        self._read = reader
        self._list = lister

    def register_info(self, info: Mapping[str, Any]) -> Registered:
        """Validate a dataset-info document and upsert its record.

        Raises:
            InvalidDataset: the document does not describe a frozen dataset.
            UnknownBaseURI: its base URI is not registered.
        """
        record = self.validate(info)
        return Registered(record, self._datasets.upsert(record))

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
        record = record_from_info(self._read(uri))
        base_uri = record.entry.base_uri
        if registered is None or base_uri not in registered:
            self._check_registered(base_uri)
            if registered is not None:
                registered.add(base_uri)
        return record

    def _check_registered(self, base_uri: str) -> None:
        if self._admin.get_base_uri(base_uri) is None:
            raise UnknownBaseURI(f"base URI {base_uri!r} is not registered")

    def forget(self, uri: str) -> bool:
        """Delete the record of ``uri`` without checking storage (the caller did)."""
        return self._datasets.delete(normalise_uri(uri))

    def store_many(self, records: Sequence[DatasetRecord]) -> int:
        """Upsert validated records in one transaction; return how many."""
        return self._datasets.upsert_many(records) if records else 0

    def register_uri(self, uri: str) -> Registered:
        """Read the dataset at ``uri`` from its storage and register it."""
        return self.register_info(self._read(uri))

    def remove_uri(self, uri: str, confirm: bool = True) -> bool:
        """Delete the record of ``uri``; with ``confirm``, only if the dataset is gone.

        Returns True if a record was deleted. A dataset that still exists
        is re-registered instead (a late or spurious removal event).
        """
        uri = normalise_uri(uri)
        if confirm:
            try:
                self.register_uri(uri)
            except DatasetNotFound:
                pass
            else:
                return False
        return self._datasets.delete(uri)

    def index_base_uri(self, base_uri: str) -> Iterator[IndexOutcome]:
        """Register every frozen dataset in ``base_uri``, continuing past failures.

        Proto datasets are skipped silently, as 0.18's ``base_uri index`` did.
        """
        base_uri = normalise_uri(base_uri)
        if self._admin.get_base_uri(base_uri) is None:
            raise UnknownBaseURI(f"Base URI '{base_uri}' not registered")
        for uri in self._list(base_uri):
            try:
                yield IndexOutcome(uri, registered=self.register_uri(uri))
            except NotFrozen:
                continue
            except (InvalidDataset, DatasetNotFound, UnknownBaseURI) as ex:
                yield IndexOutcome(uri, error=str(ex))
            except (DatasetStorageUnavailable, DatabaseUnavailable):
                raise

"""Import a dtool-lookup-server (0.17, 0.18) or dserver deployment into this server.

The old SQL database (``old_database.py``) gives users, admin flags, base
URIs and both permission kinds, copied into the admin store. Datasets are
then registered through the registrar, the one writer of dataset records,
either by rescanning each base URI in storage (the default:
storage is the truth) or from the old MongoDB collection's documents.

Every step is idempotent and resumable: what the new stores hold already is
skipped and never changed, so an import stopped half-way (or re-run after
fixing a failure) finishes the rest. Each item is counted as copied,
skipped or failed, failures with their reason, in an ``ImportReport``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lookup_events.errors import (
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
    UnknownBaseURI,
    UnknownUser,
)
from lookup_events.legacy_import.old_database import OldDeployment
from lookup_events.model import DatasetRecord
from lookup_events.registrar.writer import Registrar
from lookup_events.storage import list_dataset_uris
from lookup_events.store.actors import LEGACY_IMPORT
from lookup_events.store.protocols import AdminStore, DatasetStore, PermissionKind
from lookup_events.uris import base_uri_of

T = TypeVar("T")
Progress = Callable[[Sequence[T], str], Iterable[T]]
Convert = Callable[[Mapping[str, Any]], Mapping[str, Any]]
Lister = Callable[[str], Iterator[str]]
KINDS = ("users", "base URIs", "search permissions", "register permissions", "datasets")
_BATCH = 500


@dataclass
class Tally:
    """How many items of one kind were copied, skipped and failed."""

    copied: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass
class ImportReport:
    """Counts per kind, and every failure with its reason."""

    tallies: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in KINDS})
    failures: list[tuple[str, str, str]] = field(default_factory=list)

    def copied(self, kind: str, count: int = 1) -> None:
        """Count items that are now in the new stores."""
        self.tallies[kind].copied += count

    def skipped(self, kind: str, count: int = 1) -> None:
        """Count items left alone (there already, or not frozen)."""
        self.tallies[kind].skipped += count

    def failed(self, kind: str, item: str, reason: str) -> None:
        """Count an item that could not be copied, with the reason."""
        self.tallies[kind].failed += 1
        self.failures.append((kind, item, reason))


def _no_progress(items: Sequence[T], label: str) -> Iterable[T]:
    return items


class LegacyImport:
    """Copies an old deployment into the new stores, counting into ``report``."""

    def __init__(
        self,
        admin: AdminStore,
        datasets: DatasetStore,
        registrar: Registrar,
        lister: Lister = list_dataset_uris,
        progress: Progress[Any] = _no_progress,
    ) -> None:
        self._admin = admin
        self._datasets = datasets
        self._registrar = registrar
        self._list = lister
        self._progress = progress
        self.report = ImportReport()

    def copy_admin(self, old: OldDeployment) -> None:
        """Copy users (with admin flags), base URIs and permissions; skip what exists."""
        for username, is_admin in old.users:
            if self._admin.add_user(username, is_admin, LEGACY_IMPORT):
                self.report.copied("users")
            else:
                self.report.skipped("users")
        for base_uri in old.base_uris:
            if self._admin.add_base_uri(base_uri, LEGACY_IMPORT):
                self.report.copied("base URIs")
            else:
                self.report.skipped("base URIs")
        for username, base_uri, kind in old.permissions:
            self._grant(username, base_uri, kind)

    def _grant(self, username: str, base_uri: str, kind: PermissionKind) -> None:
        label = f"{kind} permissions"
        try:
            granted = self._admin.grant(username, base_uri, kind, LEGACY_IMPORT)
        except (UnknownUser, UnknownBaseURI) as ex:
            self.report.failed(label, f"{username} on {base_uri}", str(ex))
            return
        if granted:
            self.report.copied(label)
        else:
            self.report.skipped(label)

    def rescan(self, base_uris: Iterable[str]) -> None:
        """Register every frozen dataset found in ``base_uris`` that is not there yet."""
        work: list[str] = []
        for base_uri in dict.fromkeys(base_uris):
            try:
                listed = list(self._list(base_uri))
            except DatasetStorageUnavailable as ex:
                self.report.failed("datasets", base_uri, f"cannot list the base URI: {ex}")
                continue
            known = self._datasets.frozen_at_by_uri(base_uri)
            self.report.skipped("datasets", sum(1 for uri in listed if uri in known))
            work.extend(uri for uri in listed if uri not in known)
        for uri in self._progress(work, "Registering datasets"):
            self._register(uri)

    def _register(self, uri: str) -> None:
        try:
            self._registrar.register_uri(uri, LEGACY_IMPORT)
        except NotFrozen:
            self.report.skipped("datasets")
        except (InvalidDataset, DatasetNotFound, UnknownBaseURI, DatasetStorageUnavailable) as ex:
            self.report.failed("datasets", uri, str(ex))
        else:
            self.report.copied("datasets")

    def copy_documents(
        self, documents: Iterable[Mapping[str, Any]], count: int, convert: Convert = dict
    ) -> None:
        """Register the datasets that ``convert`` turns the old documents into."""
        known: dict[str, dict[str, float]] = {}
        batch: list[DatasetRecord] = []
        for document in self._progress(_Sized(documents, count), "Copying datasets"):
            record = self._record(document, convert)
            if record is None:
                continue
            base_uri = record.entry.base_uri
            if base_uri not in known:
                known[base_uri] = self._datasets.frozen_at_by_uri(base_uri)
            if record.uri in known[base_uri]:
                self.report.skipped("datasets")
                continue
            known[base_uri][record.uri] = record.entry.frozen_at
            batch.append(record)
            if len(batch) >= _BATCH:
                self._store(batch)
        self._store(batch)

    def _record(self, document: Mapping[str, Any], convert: Convert) -> DatasetRecord | None:
        try:
            return self._registrar.validate(convert(document))
        except (InvalidDataset, UnknownBaseURI) as ex:
            self.report.failed("datasets", str(document.get("uri", "?")), str(ex))
            return None

    def _store(self, batch: list[DatasetRecord]) -> None:
        if not batch:
            return
        try:
            self.report.copied("datasets", self._registrar.store_many(batch, LEGACY_IMPORT))
        except InvalidDataset:
            # NOTE(dev): one refused record must not sink the batch: retry one by one.
            for record in batch:
                try:
                    self._registrar.store_many([record], LEGACY_IMPORT)
                except InvalidDataset as ex:
                    self.report.failed("datasets", record.uri, str(ex))
                else:
                    self.report.copied("datasets")
        batch.clear()

    def check_listed(self, dataset_uris: Iterable[str]) -> None:
        """Report datasets the old server listed that the new stores lack."""
        known: dict[str, dict[str, float]] = {}
        reported = {item for kind, item, _ in self.report.failures if kind == "datasets"}
        for uri in dict.fromkeys(dataset_uris):
            if uri in reported:
                continue
            base_uri = base_uri_of(uri)
            if base_uri not in known:
                known[base_uri] = self._datasets.frozen_at_by_uri(base_uri)
            if uri not in known[base_uri]:
                reason = "the old server listed it; it was not found or not registered"
                self.report.failed("datasets", uri, reason)


class _Sized(Sequence[T]):
    """An iterable with a known length, so a progress bar can show it."""

    def __init__(self, items: Iterable[T], length: int) -> None:
        self._items = items
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __getitem__(self, index: Any) -> Any:
        raise TypeError("a migration source is read once, in order")

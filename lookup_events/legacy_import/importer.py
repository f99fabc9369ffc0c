"""Move a dtool-lookup-server (0.17, 0.18) or dserver deployment over to this server.

The old SQL database (Flask-SQLAlchemy tables ``user``, ``base_uri``,
``search_permissions``, ``register_permissions`` and ``dataset``; dservercore
kept the same ones) gives users, admin flags, base URIs and both permission
kinds, copied into the admin store. Datasets are then registered through
the registrar, either by rescanning each base URI in storage (the default:
storage is the truth) or from the old MongoDB collection's documents.

Every step is idempotent and resumable: what the new stores hold already is
skipped and never changed, so a migration stopped half-way (or re-run after
fixing a failure) finishes the rest. Each item is counted as copied,
skipped or failed, failures with their reason, in a ``MigrationReport``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    exc,
    select,
)
from sqlalchemy import inspect as inspect_database
from sqlalchemy.engine import make_url

from lookup_events.errors import (
    DatabaseUnavailable,
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
    UnknownBaseURI,
    UnknownUser,
)
from lookup_events.model import DatasetRecord
from lookup_events.registrar.writer import Lister, Registrar
from lookup_events.storage import list_dataset_uris
from lookup_events.store.protocols import AdminStore, DatasetStore, PermissionKind
from lookup_events.store.sql.engine import sql_url
from lookup_events.uris import base_uri_of, normalise_uri

T = TypeVar("T")
Progress = Callable[[Sequence[T], str], Iterable[T]]
Convert = Callable[[Mapping[str, Any]], Mapping[str, Any]]
KINDS = ("users", "base URIs", "search permissions", "register permissions", "datasets")
_BATCH = 500

_old = MetaData()
_users = Table(
    "user", _old, Column("id", Integer), Column("username", String), Column("is_admin", Boolean)
)
_base_uris = Table("base_uri", _old, Column("id", Integer), Column("base_uri", String))
_datasets = Table("dataset", _old, Column("id", Integer), Column("uri", String))
_PERMISSION_TABLES: dict[PermissionKind, Table] = {
    kind: Table(
        f"{kind}_permissions", _old, Column("user_id", Integer), Column("base_uri_id", Integer)
    )
    for kind in ("search", "register")
}


@dataclass(frozen=True)
class OldDeployment:
    """What the old server's SQL database holds, in its registration order."""

    users: list[tuple[str, bool]]
    base_uris: list[str]
    permissions: list[tuple[str, str, PermissionKind]]
    dataset_uris: list[str] = field(default_factory=list)


@dataclass
class Tally:
    """How many items of one kind were copied, skipped and failed."""

    copied: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass
class MigrationReport:
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


def read_old_database(url: str) -> OldDeployment:
    """Read users, base URIs, permissions and dataset URIs from an old server's database.

    Raises:
        ValueError: ``url`` names no dtool-lookup-server database.
        DatabaseUnavailable: the database cannot be read.
    """
    parsed = make_url(sql_url(url))
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise ValueError(f"no SQLite database at {parsed.database!r}")
    # NOTE(dev): a plain engine, not ours: the old file keeps its journal mode.
    engine = create_engine(parsed)
    try:
        with engine.connect() as conn:
            tables = set(inspect_database(conn).get_table_names())
            missing = {"user", "base_uri"} - tables
            if missing:
                raise ValueError(
                    f"not a dtool-lookup-server database: no table {', '.join(sorted(missing))}"
                )
            return _read(conn, tables)
    except exc.SQLAlchemyError as ex:
        raise DatabaseUnavailable(f"cannot read the old database: {ex}") from ex
    finally:
        engine.dispose()


def _read(conn: Any, tables: set[str]) -> OldDeployment:
    users = [(name, bool(admin)) for name, admin in conn.execute(_user_rows())]
    base_uris = [normalise_uri(row[0]) for row in conn.execute(_base_uri_rows())]
    permissions: list[tuple[str, str, PermissionKind]] = []
    for kind, table in _PERMISSION_TABLES.items():
        if table.name in tables:
            rows = conn.execute(_permission_rows(table))
            permissions.extend((user, normalise_uri(base), kind) for user, base in rows)
    uris: list[str] = []
    if "dataset" in tables:
        uris = [normalise_uri(row[0]) for row in conn.execute(select(_datasets.c.uri))]
    return OldDeployment(users, base_uris, permissions, uris)


def _user_rows() -> Any:
    return select(_users.c.username, _users.c.is_admin).order_by(_users.c.id)


def _base_uri_rows() -> Any:
    return select(_base_uris.c.base_uri).order_by(_base_uris.c.id)


def _permission_rows(table: Table) -> Any:
    return (
        select(_users.c.username, _base_uris.c.base_uri)
        .select_from(table)
        .join(_users, _users.c.id == table.c.user_id)
        .join(_base_uris, _base_uris.c.id == table.c.base_uri_id)
        .order_by(table.c.base_uri_id, table.c.user_id)
    )


class Migration:
    """Copies an old deployment into the new stores, counting into ``report``."""

    def __init__(
        self,
        admin: AdminStore,
        datasets: DatasetStore,
        registrar: Registrar | None = None,
        lister: Lister = list_dataset_uris,
        progress: Progress[Any] = _no_progress,
    ) -> None:
        self._admin = admin
        self._datasets = datasets
        self._registrar = registrar or Registrar(admin, datasets)
        self._list = lister
        self._progress = progress
        self.report = MigrationReport()

    def copy_admin(self, old: OldDeployment) -> None:
        """Copy users (with admin flags), base URIs and permissions; skip what exists."""
        for username, is_admin in old.users:
            if self._admin.add_user(username, is_admin):
                self.report.copied("users")
            else:
                self.report.skipped("users")
        for base_uri in old.base_uris:
            if self._admin.add_base_uri(base_uri):
                self.report.copied("base URIs")
            else:
                self.report.skipped("base URIs")
        for username, base_uri, kind in old.permissions:
            self._grant(username, base_uri, kind)

    def _grant(self, username: str, base_uri: str, kind: PermissionKind) -> None:
        label = f"{kind} permissions"
        try:
            granted = self._admin.grant(username, base_uri, kind)
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
            self._registrar.register_uri(uri)
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
            self.report.copied("datasets", self._registrar.store_many(batch))
        except InvalidDataset:
            # NOTE(dev): one refused record must not sink the batch: retry one by one.
            for record in batch:
                try:
                    self._datasets.upsert(record)
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

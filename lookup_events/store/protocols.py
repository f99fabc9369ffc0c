"""The two store roles, their query model, and what they return.

``AdminStore`` keeps users, base URIs and permissions; ``DatasetStore`` keeps
one ``DatasetRecord`` per dataset URI. Every write names its ``Actor``
(``store.actors``), which a store auditing its changes records with them.
Callers speak only these protocols, so an SQL or a MongoDB backend can
stand behind either (STYLE 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from lookup_events.model import DatasetCard, DatasetEntry, DatasetRecord
from lookup_events.store.actors import SYSTEM, Actor, ActorFor
from lookup_events.store.aggregation import AggregateQuery
from lookup_events.store.structured import StructuredQuery

DATASET_SORT_FIELDS = frozenset(
    {"base_uri", "created_at", "creator_username", "frozen_at", "name", "uri", "uuid"}
)
USER_SORT_FIELDS = frozenset({"username", "is_admin"})
BASE_URI_SORT_FIELDS = frozenset({"base_uri"})

PermissionKind = Literal["search", "register"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort criterion: a field name and its direction."""

    field: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page to return: 1-based number and size."""

    number: int = 1
    size: int = 10

    @property
    def offset(self) -> int:
        """Rows to skip before this page."""
        return (self.number - 1) * self.size


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A dataset query; ``base_uris`` is already limited to what the caller may see.

    Within ``creator_usernames``, ``base_uris`` and ``uuids`` values are OR-ed;
    all ``tags`` must be present (AND); the criteria are AND-ed together.
    ``free_text`` follows MongoDB ``$text`` rules (see ``store.text``).
    ``annotations`` are ``(key, canonical value)`` pairs that must all match
    and ``annotation_keys`` keys that must all hold a scalar value
    (``store.annotations``).
    """

    base_uris: tuple[str, ...]
    free_text: str | None = None
    creator_usernames: tuple[str, ...] = ()
    uuids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    annotation_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResultPage(Generic[T]):
    """One page of results and the total number of matches."""

    items: list[T]
    total: int


@dataclass(frozen=True, slots=True)
class GraphQuery:
    """A dependency graph to find: around ``uuid``, along ``keys``, within ``base_uris``.

    ``base_uris`` is already limited to what the caller may search; the graph
    is walked only through datasets in them (``store.dependencies``).
    """

    uuid: str
    keys: tuple[str, ...]
    base_uris: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One dataset of a dependency graph and the parents it names within the graph."""

    entry: DatasetEntry
    derived_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """Facet counts over the datasets a user may search."""

    number_of_datasets: int = 0
    datasets_per_creator: Mapping[str, int] = field(default_factory=dict)
    datasets_per_base_uri: Mapping[str, int] = field(default_factory=dict)
    datasets_per_tag: Mapping[str, int] = field(default_factory=dict)
    total_size_in_bytes: int = 0
    size_in_bytes_per_creator: Mapping[str, int] = field(default_factory=dict)
    size_in_bytes_per_base_uri: Mapping[str, int] = field(default_factory=dict)
    size_in_bytes_per_tag: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class User:
    """A registered user and the base URIs they hold permissions on."""

    username: str
    is_admin: bool = False
    search_permissions_on_base_uris: tuple[str, ...] = ()
    register_permissions_on_base_uris: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BaseURI:
    """A registered base URI and the users holding each permission on it."""

    base_uri: str
    users_with_search_permissions: tuple[str, ...] = ()
    users_with_register_permissions: tuple[str, ...] = ()


@runtime_checkable
class DatasetStore(Protocol):
    """One record per dataset URI, with a free-text index; pages in the database."""

    def upsert(self, record: DatasetRecord, actor: Actor = SYSTEM) -> bool:
        """Insert or replace the record for ``record.uri``; True if it was new."""
        ...

    def upsert_many(self, records: Sequence[DatasetRecord], actor: ActorFor = SYSTEM) -> int:
        """Insert or replace several records in one transaction; return how many.

        ``actor`` is one actor for every record, or one per URI.
        """
        ...

    def delete(self, uri: str, actor: Actor = SYSTEM) -> bool:
        """Delete the record for ``uri``; True if there was one."""
        ...

    def delete_base_uri(self, base_uri: str, actor: Actor = SYSTEM) -> int:
        """Delete every record in ``base_uri``; return how many."""
        ...

    def get(self, uri: str) -> DatasetRecord | None:
        """Return the full record for ``uri``, or None."""
        ...

    def card(self, uri: str) -> DatasetCard | None:
        """Return the record for ``uri`` without its manifest, or None."""
        ...

    def manifest_json(self, uri: str) -> str | None:
        """Return the manifest of the record for ``uri`` as JSON text, or None."""
        ...

    def search(
        self, query: SearchQuery, page: PageRequest, sort: Sequence[SortKey] = ()
    ) -> ResultPage[DatasetEntry]:
        """Return one page of entries matching ``query`` (registration order by default)."""
        ...

    def structured_search(
        self, query: StructuredQuery, page: PageRequest, sort: Sequence[SortKey] = ()
    ) -> ResultPage[DatasetEntry]:
        """Return one page of the datasets a structured query matches (registration order)."""
        ...

    def aggregate(self, query: AggregateQuery) -> list[dict[str, Any]]:
        """Return every output document of an aggregation over the permitted datasets.

        Raises:
            InvalidQuery: more than ``aggregation.MAX_INPUT`` datasets pass the leading filter.
        """
        ...

    def summary(self, base_uris: Iterable[str]) -> Summary:
        """Return facet counts over the datasets in ``base_uris``."""
        ...

    def annotation_keys(self, query: SearchQuery) -> dict[str, int]:
        """Return how many datasets matching ``query`` hold each facet key."""
        ...

    def annotation_values(self, query: SearchQuery) -> dict[str, dict[str, int]]:
        """Return ``{key: {canonical value: datasets}}`` for the keys ``query`` names."""
        ...

    def frozen_at_by_uri(self, base_uri: str) -> dict[str, float]:
        """Return ``{uri: frozen_at}`` for every record in ``base_uri``."""
        ...

    def stamps_by_uri(self, base_uri: str) -> dict[str, str | None]:
        """Return ``{uri: stamp}`` for every record in ``base_uri`` (for rescans)."""
        ...

    def dependency_graph(self, query: GraphQuery, page: PageRequest) -> ResultPage[GraphNode]:
        """Return one page of the graph around ``query.uuid``, one node per UUID, by UUID.

        Nodes are the datasets connected to ``query.uuid`` through dependency
        links under ``query.keys``, in either direction, walking only through
        datasets in ``query.base_uris``; the dataset itself is the first node
        reached. A UUID held in several of those base URIs is shown once, by
        its smallest URI. Nothing visible: an empty page.
        """
        ...

    def rebuild_dependencies(self) -> int:
        """Recompute every record's dependency links from its document; return how many."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class AdminStore(Protocol):
    """Users, base URIs and the search/register permissions linking them."""

    def add_user(self, username: str, is_admin: bool = False, actor: Actor = SYSTEM) -> bool:
        """Create the user; False (and no change) if it exists."""
        ...

    def put_user(self, username: str, is_admin: bool, actor: Actor = SYSTEM) -> bool:
        """Create the user or set its admin flag; True if it was created."""
        ...

    def delete_user(self, username: str, actor: Actor = SYSTEM) -> bool:
        """Delete the user and its permissions; True if it existed."""
        ...

    def get_user(self, username: str) -> User | None:
        """Return the user with its permissions, or None."""
        ...

    def list_users(
        self, page: PageRequest | None = None, sort: Sequence[SortKey] = ()
    ) -> ResultPage[User]:
        """Return users (registration order by default); all of them without a page."""
        ...

    def add_base_uri(self, base_uri: str, actor: Actor = SYSTEM) -> bool:
        """Register the base URI; False (and no change) if it exists."""
        ...

    def delete_base_uri(self, base_uri: str, actor: Actor = SYSTEM) -> bool:
        """Delete the base URI and its permissions; True if it existed."""
        ...

    def get_base_uri(self, base_uri: str) -> BaseURI | None:
        """Return the base URI with its permissions, or None."""
        ...

    def list_base_uris(
        self, page: PageRequest | None = None, sort: Sequence[SortKey] = ()
    ) -> ResultPage[BaseURI]:
        """Return base URIs (registration order by default); all without a page."""
        ...

    def set_permissions(
        self,
        base_uri: str,
        search: Iterable[str],
        register: Iterable[str],
        actor: Actor = SYSTEM,
    ) -> None:
        """Replace both permission lists of ``base_uri``; unknown users are ignored.

        Raises:
            UnknownBaseURI: if the base URI is not registered.
        """
        ...

    def grant(
        self, username: str, base_uri: str, kind: PermissionKind, actor: Actor = SYSTEM
    ) -> bool:
        """Give ``username`` a permission on ``base_uri``; False if held already.

        Raises:
            UnknownBaseURI, UnknownUser: if either is not registered.
        """
        ...

    def revoke(
        self, username: str, base_uri: str, kind: PermissionKind, actor: Actor = SYSTEM
    ) -> bool:
        """Take a permission away; False if it was not held."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

"""Catalog: the dataset store as one user may see it, and registration over HTTP."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from lookup_api.access import require_register, require_search, searchable
from lookup_api.bodies import entries, sized_summary_body, summary_body
from lookup_api.memo import Memo
from lookup_events.errors import DatasetNotFound, InvalidDataset
from lookup_events.model import DatasetCard, DatasetEntry, DatasetRecord, record_from_info
from lookup_events.registrar.writer import Registered, Registrar
from lookup_events.store.actors import Actor
from lookup_events.store.aggregation import AggregateQuery, parse_pipeline
from lookup_events.store.criteria import canonical_uuid, criteria_query
from lookup_events.store.protocols import (
    DatasetStore,
    PageRequest,
    ResultPage,
    SearchQuery,
    SortKey,
    Summary,
    User,
)
from lookup_events.store.structured import And, Condition, Node, StructuredQuery, parse_filter
from lookup_events.uris import base_uri_of, normalise_uri

_NOTHING: ResultPage[DatasetEntry] = ResultPage(items=[], total=0)
Found = TypeVar("Found")


class Catalog:
    """Reads datasets within a user's search permissions; registers through the registrar."""

    def __init__(self, datasets: DatasetStore, registrar: Registrar) -> None:
        self._datasets = datasets
        self._registrar = registrar
        self._encoded = EncodedPages()
        self._summaries = EncodedSummaries()

    def body(self, page: ResultPage[DatasetEntry], search: bool = False) -> bytes:
        """Return the JSON body of a page of entries (0.18's list or search shape)."""
        return self._encoded.body(page, search)

    def summary(self, user: User) -> Summary:
        """Return facet counts over every dataset the user may search."""
        base_uris = searchable(user)
        return self._datasets.summary(base_uris) if base_uris else Summary()

    def summary_json(self, user: User, *, sized: bool) -> bytes:
        """Return the user's summary as JSON: 0.18's shape, or dservercore's when ``sized``."""
        return self._summaries.body(self.summary(user), sized)

    def search(
        self,
        user: User,
        criteria: Mapping[str, Any],
        page: PageRequest,
        sort: Sequence[SortKey] = (),
    ) -> ResultPage[DatasetEntry]:
        """Return one page of the datasets matching a search body (0.18 semantics)."""
        return self._run(search_query(user, criteria), page, sort)

    def structured_search(
        self,
        user: User,
        criteria: Mapping[str, Any],
        page: PageRequest,
        sort: Sequence[SortKey] = (),
    ) -> ResultPage[DatasetEntry]:
        """Return one page of the datasets a ``/mongo/query`` body matches.

        Raises:
            InvalidQuery: the filter leaves the supported subset.
        """
        query = structured_query(user, criteria)
        if not query.base_uris:
            return _NOTHING
        return self._datasets.structured_search(query, page, sort)

    def aggregate(
        self, user: User, criteria: Mapping[str, Any], page: PageRequest
    ) -> ResultPage[dict[str, Any]]:
        """Return one page of the output of a ``/mongo/aggregate`` body's pipeline.

        Raises:
            InvalidQuery: the pipeline leaves the supported subset.
        """
        pipeline = parse_pipeline(criteria.get("aggregation") or [], _criteria_tests(criteria))
        base_uris = searchable(user, criteria.get("base_uris"))
        output = self._datasets.aggregate(AggregateQuery(base_uris, pipeline)) if base_uris else []
        return ResultPage(output[page.offset : page.offset + page.size], len(output))

    def annotation_keys(self, user: User, criteria: Mapping[str, Any]) -> dict[str, int]:
        """Return how many of the matching datasets hold each annotation key."""
        query = search_query(user, criteria)
        return self._datasets.annotation_keys(query) if query.base_uris else {}

    def annotation_values(
        self, user: User, criteria: Mapping[str, Any]
    ) -> dict[str, dict[str, int]]:
        """Return ``{key: {value: datasets}}`` for the keys the criteria name."""
        query = search_query(user, criteria)
        return self._datasets.annotation_values(query) if query.base_uris else {}

    def lookup(
        self, user: User, uuid: str, page: PageRequest, sort: Sequence[SortKey] = ()
    ) -> ResultPage[DatasetEntry]:
        """Return every copy of the dataset ``uuid`` the user may see."""
        query = SearchQuery(base_uris=searchable(user), uuids=(canonical_uuid(uuid),))
        return self._run(query, page, sort)

    def record(self, user: User, uri: str | None) -> DatasetRecord:
        """Return the full record at ``uri`` if the user may search its base URI.

        Raises:
            PermissionDenied: no search permission on the URI's base URI.
            DatasetNotFound: no URI given, or nothing registered there.
        """
        return _found(uri, self._datasets.get(_searchable_uri(user, uri)))

    def card(self, user: User, uri: str | None) -> DatasetCard:
        """Return the record at ``uri`` without its manifest, as ``record`` does.

        Raises:
            PermissionDenied: no search permission on the URI's base URI.
            DatasetNotFound: no URI given, or nothing registered there.
        """
        return _found(uri, self._datasets.card(_searchable_uri(user, uri)))

    def manifest_json(self, user: User, uri: str | None) -> bytes:
        """Return the manifest at ``uri`` as JSON, as ``record`` finds it.

        Raises:
            PermissionDenied: no search permission on the URI's base URI.
            DatasetNotFound: no URI given, or nothing registered there.
        """
        return _found(uri, self._datasets.manifest_json(_searchable_uri(user, uri))).encode()

    def register(self, user: User, info: Mapping[str, Any]) -> Registered:
        """Validate the dataset info, check the register permission, store it.

        Raises:
            InvalidDataset: the info does not describe a frozen dataset (first).
            PermissionDenied: no register permission on its base URI.
            UnknownBaseURI: the base URI is not registered.
        """
        record = record_from_info(info)
        require_register(user, record.entry.base_uri)
        return self._registrar.register_info(info, Actor.user(user.username))

    def put(self, user: User, uri: str, info: Mapping[str, Any]) -> Registered:
        """Register the dataset info as the dataset at ``uri`` (dserver's PUT).

        Raises:
            PermissionDenied: no register permission on the URI's base URI (first).
            InvalidDataset: the info names another URI, or is not a frozen dataset.
        """
        require_register(user, base_uri_of(uri))
        if normalise_uri(str(info.get("uri", ""))) != uri:
            raise InvalidDataset(f"the body's uri is not the dataset URI {uri!r} of the path")
        return self.register(user, info)

    def delete(self, user: User, uri: str) -> bool:
        """Forget the dataset at ``uri`` (idempotent); True if there was one.

        Raises:
            PermissionDenied: no register permission on the URI's base URI.
        """
        require_register(user, base_uri_of(uri))
        return self._registrar.forget(uri, Actor.user(user.username))

    def _run(
        self, query: SearchQuery, page: PageRequest, sort: Sequence[SortKey] = ()
    ) -> ResultPage[DatasetEntry]:
        if not query.base_uris:
            return _NOTHING
        return self._datasets.search(query, page, sort)


def _searchable_uri(user: User, uri: str | None) -> str:
    """Return ``uri`` if the user may search its base URI.

    Raises:
        PermissionDenied: no search permission on the URI's base URI.
        DatasetNotFound: no URI given.
    """
    if not uri:
        raise DatasetNotFound("no dataset URI given")
    require_search(user, base_uri_of(uri))
    return uri


def _found(uri: str | None, found: Found | None) -> Found:
    """Return what a store found at ``uri``.

    Raises:
        DatasetNotFound: it found nothing.
    """
    if found is None:
        raise DatasetNotFound(f"no dataset registered at {uri!r}")
    return found


def search_query(user: User, criteria: Mapping[str, Any]) -> SearchQuery:
    """Return the query of a search body, limited to what the user may search."""
    return criteria_query(criteria, searchable(user, criteria.get("base_uris")))


def structured_query(user: User, criteria: Mapping[str, Any]) -> StructuredQuery:
    """Return the query of a ``/mongo/query`` body, limited to what the user may search.

    The body's ``query`` filter is AND-ed with its search criteria, as the
    direct-mongo plugin did: ``creator_usernames`` and ``uuids`` (any of),
    ``tags`` (all of) and ``base_uris`` (which only narrow the permissions).

    Raises:
        InvalidQuery: the filter leaves the supported subset.
    """
    node = parse_filter(criteria.get("query") or {})
    return StructuredQuery(
        searchable(user, criteria.get("base_uris")), And((node, *_criteria_tests(criteria)))
    )


def _criteria_tests(criteria: Mapping[str, Any]) -> list[Node]:
    tests: list[Node] = []
    if criteria.get("creator_usernames"):
        tests.append(Condition("creator_username", "in", tuple(criteria["creator_usernames"])))
    if criteria.get("uuids"):
        uuids = tuple(canonical_uuid(text) for text in criteria["uuids"])
        tests.append(Condition("uuid", "in", uuids))
    tests.extend(Condition("tags", "eq", tag) for tag in dict.fromkeys(criteria.get("tags") or ()))
    return tests


class EncodedPages:
    """JSON bodies of result pages, remembered by the identity of their entries.

    The SQL store answers a repeated query with the very entry objects it
    cached, so their body need not be built and encoded again (a fifth of a
    cached list request). Each remembered body holds its entries, so their
    ids cannot be reused by other objects while it is remembered.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._bodies: Memo[tuple[bool, tuple[int, ...]], tuple[tuple[Any, ...], bytes]] = Memo(
            capacity
        )

    def body(self, page: ResultPage[DatasetEntry], search: bool = False) -> bytes:
        """Return the JSON body of ``page`` in 0.18's list or search shape."""
        key = (search, tuple(map(id, page.items)))
        known = self._bodies.get(key)
        if known is None:
            encoded = json.dumps(entries(page, search), ensure_ascii=False).encode()
            known = self._bodies.put(key, (tuple(page.items), encoded))
        return known[1]


class EncodedSummaries:
    """The JSON bodies of summaries, remembered per summary object.

    The SQL store answers a repeated summary with the object it cached for the
    revision; encoding its facets (a key per creator, base URI and tag) cost
    four times a cached lookup. Each remembered body holds its summary, so
    the summary's id cannot be reused by another object meanwhile.
    """

    def __init__(self, capacity: int = 64) -> None:
        self._bodies: Memo[tuple[bool, int], tuple[Summary, bytes]] = Memo(capacity)

    def body(self, summary: Summary, sized: bool) -> bytes:
        """Return the JSON body of ``summary``, dservercore's shape when ``sized``."""
        key = (sized, id(summary))
        known = self._bodies.get(key)
        if known is None:
            shape = sized_summary_body if sized else summary_body
            encoded = json.dumps(shape(summary), ensure_ascii=False).encode()
            known = self._bodies.put(key, (summary, encoded))
        return known[1]

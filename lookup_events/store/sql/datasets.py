"""SqlDatasetStore: dataset records in SQLite (FTS5) or PostgreSQL (tsvector).

Reads use SQLAlchemy Core and read only the entry columns for lists;
README, manifest and annotations are read by ``get`` alone. Filters,
counts and facets run over covering indexes (see ``sql.schema``).

Caching: each write bumps the ``datasets`` revision in its own transaction.
``search`` and ``summary`` first read that revision (a primary-key lookup
on a raw connection, microseconds) and answer from a ``RevisionCache``
keyed by ``(revision, query, page, sort)``; a miss runs the SQL, and the
total count is cached per ``(revision, query)`` so other pages of the same
query skip it. A write from any process therefore invalidates every cache
at the next read, and a steady read load never counts 100,000 rows twice.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Text,
    UnaryExpression,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    select,
    update,
)

from lookup_events.errors import InvalidDataset
from lookup_events.model import DatasetCard, DatasetEntry, DatasetRecord
from lookup_events.store.actors import SYSTEM, Actor, ActorFor, actor_of
from lookup_events.store.aggregation import (
    MAX_INPUT,
    AggregateQuery,
    dataset_document,
    run,
    too_many_inputs,
)
from lookup_events.store.audit import AuditEntry, dataset_changes, dataset_entry, registered
from lookup_events.store.limits import check_query
from lookup_events.store.protocols import (
    DATASET_SORT_FIELDS,
    GraphNode,
    GraphQuery,
    PageRequest,
    ResultPage,
    SearchQuery,
    SortKey,
    Summary,
)
from lookup_events.store.sql.audit import Clock, record_removals
from lookup_events.store.sql.audit import record as record_audit
from lookup_events.store.sql.bulk import insert_rows
from lookup_events.store.sql.copies import CopyReader
from lookup_events.store.sql.counts import FacetChanges, add_counts, datasets_in
from lookup_events.store.sql.dependencies import rebuild_dependencies, write_dependencies
from lookup_events.store.sql.engine import (
    PlannerStatistics,
    is_sqlite,
    reader,
    text_reader,
    timed_reads,
    translate_errors,
    writer,
)
from lookup_events.store.sql.facets import (
    annotation_filters,
    key_counts,
    remove_annotations,
    value_counts,
    write_annotations,
)
from lookup_events.store.sql.graph import Walk, among, walk_graph
from lookup_events.store.sql.outbox import record_removed, record_written
from lookup_events.store.sql.paging import ANCHOR_EVERY, Anchors, anchored_page, read_anchors
from lookup_events.store.sql.query import fetch_ids, order_by
from lookup_events.store.sql.revisions import RevisionCache, RevisionReader, bump_revision
from lookup_events.store.sql.schema import (
    DATASETS_REVISION,
    dataset_tags,
    dataset_texts,
    datasets,
)
from lookup_events.store.sql.structured import (
    field_ids,
    shared_row_paths,
    single_valued,
    structured_where,
    write_fields,
)
from lookup_events.store.sql.summary import summarise
from lookup_events.store.sql.text import postgres_ids, postgres_match, sqlite_ids, sqlite_match
from lookup_events.store.structured import Node, StructuredQuery
from lookup_events.store.text import filter_term, filter_terms, parse_free_text, searchable_text

_ENTRY_COLUMNS = (
    datasets.c.uri,
    datasets.c.base_uri,
    datasets.c.uuid,
    datasets.c.name,
    datasets.c.creator_username,
    datasets.c.frozen_at,
    datasets.c.created_at,
    datasets.c.number_of_items,
    datasets.c.size_in_bytes,
    datasets.c.type,
    datasets.c.tags,
    datasets.c.extra,
)
_RECORD_COLUMNS = (*_ENTRY_COLUMNS, datasets.c.readme, datasets.c.manifest, datasets.c.annotations)
_GET = select(*_RECORD_COLUMNS).where(datasets.c.uri == bindparam("uri"))
_CARD = select(*_ENTRY_COLUMNS, datasets.c.readme, datasets.c.annotations).where(
    datasets.c.uri == bindparam("uri")
)
# NOTE(dev): the stored JSON text as it is (a CAST, so neither SQLAlchemy nor
# psycopg decodes it): the manifest route sends it without decoding it.
_MANIFEST_JSON = select(cast(datasets.c.manifest, Text)).where(datasets.c.uri == bindparam("uri"))
# The rows a write replaces, when auditing: what ``_write`` needs and what an
# audit summary compares (everything but the manifest: its items and size
# stand for it), in the one read ``_write`` makes anyway.
_AUDITED = select(datasets.c.id, *_ENTRY_COLUMNS, datasets.c.readme, datasets.c.annotations).where(
    datasets.c.uri.in_(bindparam("uris"))
)
# A lookup: the copies of a few UUIDs in the base URIs a user may search.
# (One UUID, nearly every lookup, is read by ``copies.CopyReader``.)
_LOOKUP = (
    select(*_ENTRY_COLUMNS)
    .where(datasets.c.uuid.in_(bindparam("uuids", expanding=True)))
    .where(datasets.c.base_uri.in_(bindparam("base_uris", expanding=True)))
    .order_by(datasets.c.id)
)
# The distinct base URIs of the datasets: one index seek each (a loose index scan).
_FIRST_BASE_URI = select(func.min(datasets.c.base_uri).label("base_uri")).cte(
    "present", recursive=True
)
_NEXT_BASE_URI = (
    select(func.min(datasets.c.base_uri))
    .where(datasets.c.base_uri > literal_column("present.base_uri"))
    .scalar_subquery()
)
_PRESENT = _FIRST_BASE_URI.union_all(
    select(_NEXT_BASE_URI).where(_FIRST_BASE_URI.c.base_uri.is_not(None))
)
_BASE_URIS_IN_USE = select(_PRESENT.c.base_uri).where(_PRESENT.c.base_uri.is_not(None))
_ID_BY_URI = select(datasets.c.id, datasets.c.uri).where(datasets.c.uri.in_(bindparam("uris")))
# What a deleted row takes out of the kept counts (``counts.py``).
_COUNTED_COLUMNS = (
    datasets.c.base_uri,
    datasets.c.creator_username,
    datasets.c.size_in_bytes,
    datasets.c.tags,
)
_OLD_BY_URI = select(datasets.c.id, datasets.c.uri, *_COUNTED_COLUMNS).where(
    datasets.c.uri.in_(bindparam("uris"))
)
# NOTE(dev): executemany derives the SET clause from the keys of the parameters.
_UPDATE = update(datasets).where(datasets.c.id == bindparam("row_id"))
# NOTE(dev): an unchanged text is not written, so its free-text index entry is
# not deleted and rebuilt (a re-registration usually changes nothing).
_UPDATE_TEXT = (
    update(dataset_texts)
    .where(
        dataset_texts.c.dataset_id == bindparam("text_id"),
        dataset_texts.c.search_text != bindparam("new_text"),
    )
    # NOTE(dev): the text holds the creator and tags, so unchanged text means
    # unchanged filter terms (the base URI is part of the URI).
    .values(search_text=bindparam("new_text"), filter_terms=bindparam("filter_terms"))
)
_IN_CHUNK = 500
# Queries matching more datasets than this page with LIMIT/OFFSET instead
# of caching their ordered ids (8 bytes each).
MAX_CACHED_IDS = 250_000
# Free-text queries over at most this many base URIs match their terms in the index.
MAX_BASE_URI_TERMS = 3
# Queries naming at most this many UUIDs (lookups) read their rows at once.
DIRECT_UUIDS = 100
_Where = list[ColumnElement[bool]]


class SqlDatasetStore:
    """DatasetStore on an SQLAlchemy engine."""

    def __init__(
        self,
        engine: Engine,
        follow_revisions: bool = True,
        outbox: bool = False,
        *,
        audit: bool = False,
        clock: Clock = time.time,
        query_timeout: float | None = None,
        max_cached_ids: int = MAX_CACHED_IDS,
    ) -> None:
        self._engine = engine
        self._max_cached_ids = max_cached_ids
        # Whether every write also records its changes for subscriptions (``outbox.py``).
        self._outbox = outbox
        self._audit = audit
        self._clock = clock
        self._writer = writer(engine)
        # NOTE(dev): reads get a time budget, writes never: a registration
        # cut short would only be retried, and redo the same work.
        self._read_engine = timed_reads(engine, query_timeout)
        self._reader = reader(self._read_engine)
        self._cache = RevisionCache()
        self._revisions = RevisionReader(engine, follow_revisions)
        self._copies = CopyReader(self._read_engine, query_timeout)
        self._match = sqlite_match if is_sqlite(engine) else postgres_match
        self._text_ids = sqlite_ids if is_sqlite(engine) else postgres_ids
        self._statistics = PlannerStatistics(self._writer)

    @translate_errors(InvalidDataset)
    def upsert(self, record: DatasetRecord, actor: Actor = SYSTEM) -> bool:
        """Insert or replace the record for ``record.uri``; True if it was new."""
        with self._writer.begin() as conn:
            bump_revision(conn, DATASETS_REVISION)
            existing = self._existing(conn, [record])
            created = _write(conn, [record], existing) == 1
            self._record_upserts(conn, existing, [record], actor)
            if self._outbox:
                record_written(conn, [record])
            add_counts(conn, _facet_changes(existing, [record]))
        self._statistics.wrote(1)
        return created

    @translate_errors(InvalidDataset)
    def upsert_many(self, records: Sequence[DatasetRecord], actor: ActorFor = SYSTEM) -> int:
        """Insert or replace several records in one transaction; return how many."""
        unique = list({record.uri: record for record in records}.values())
        if not unique:
            return 0
        with self._writer.begin() as conn:
            bump_revision(conn, DATASETS_REVISION)
            existing = self._existing(conn, unique)
            _write(conn, unique, existing)
            self._record_upserts(conn, existing, unique, actor)
            if self._outbox:
                record_written(conn, unique)
            add_counts(conn, _facet_changes(existing, unique))
        self._statistics.wrote(len(unique))
        return len(unique)

    @translate_errors(InvalidDataset)
    def delete(self, uri: str, actor: Actor = SYSTEM) -> bool:
        """Delete the record for ``uri``; True if there was one."""
        with self._writer.begin() as conn:
            bump_revision(conn, DATASETS_REVISION)
            if self._audit:
                record_removals(conn, None, self._clock(), actor, uri=uri)
            return self._delete(conn, datasets.c.uri == uri) > 0

    @translate_errors(InvalidDataset)
    def delete_base_uri(self, base_uri: str, actor: Actor = SYSTEM) -> int:
        """Delete every record in ``base_uri``; return how many."""
        with self._writer.begin() as conn:
            bump_revision(conn, DATASETS_REVISION)
            if self._audit:
                record_removals(conn, base_uri, self._clock(), actor)
            return self._delete(conn, datasets.c.base_uri == base_uri)

    def _delete(self, conn: Connection, where: ColumnElement[bool]) -> int:
        """Delete the rows ``where`` selects, recording them in the outbox if kept."""
        columns = (datasets.c.uri, datasets.c.uuid, datasets.c.name) if self._outbox else ()
        remove_annotations(conn, select(datasets.c.id).where(where))
        statement = delete(datasets).where(where).returning(*_COUNTED_COLUMNS, *columns)
        removed = conn.execute(statement).all()
        if self._outbox:
            record_removed(conn, removed)
        add_counts(conn, _facets_removed(removed))
        return len(removed)

    def _existing(self, conn: Connection, records: list[DatasetRecord]) -> dict[str, Any]:
        """Return the current rows of ``records``' URIs (wider when auditing), by URI."""
        statement = _AUDITED if self._audit else _OLD_BY_URI
        return _existing_rows(conn, [record.uri for record in records], statement)

    def _record_upserts(
        self,
        conn: Connection,
        existing: dict[str, Any],
        records: list[DatasetRecord],
        actors: ActorFor,
    ) -> None:
        """Write an audit entry for each record that is new or changed."""
        if not self._audit:
            return
        at = self._clock()
        entries: list[AuditEntry] = []
        for record in records:
            actor = actor_of(actors, record.uri)
            row = existing.get(record.uri)
            if row is None:
                entries.append(dataset_entry(at, "registered", record, registered(record), actor))
                continue
            before = DatasetRecord(_entry(row), row.readme, {}, row.annotations)
            if changes := dataset_changes(before, record):
                entries.append(dataset_entry(at, "updated", record, changes, actor))
        record_audit(conn, entries)

    @translate_errors(InvalidDataset)
    def get(self, uri: str) -> DatasetRecord | None:
        """Return the full record for ``uri``, or None."""
        with self._reader.connect() as conn:
            row = conn.execute(_GET, {"uri": uri}).first()
        if row is None:
            return None
        return DatasetRecord(_entry(row), row.readme, row.manifest, row.annotations)

    @translate_errors(InvalidDataset)
    def card(self, uri: str) -> DatasetCard | None:
        """Return the record for ``uri`` without its manifest, or None."""
        with self._reader.connect() as conn:
            row = conn.execute(_CARD, {"uri": uri}).first()
        return None if row is None else DatasetCard(_entry(row), row.readme, row.annotations)

    @translate_errors(InvalidDataset)
    def manifest_json(self, uri: str) -> str | None:
        """Return the manifest of the record for ``uri`` as its stored JSON text, or None."""
        with self._reader.connect() as conn:
            text: str | None = conn.execute(_MANIFEST_JSON, {"uri": uri}).scalar()
        return text

    @translate_errors(InvalidDataset)
    def search(
        self, query: SearchQuery, page: PageRequest, sort: Sequence[SortKey] = ()
    ) -> ResultPage[DatasetEntry]:
        """Return one page of entries matching ``query`` (registration order by default)."""
        key = ("search", query, page, tuple(sort))
        revision = self._revisions.read(DATASETS_REVISION)
        cached = self._cache.get(revision, key)
        if cached is not None:  # NOTE(dev): only a query within the limits is ever cached
            return ResultPage(list(cached[0]), cached[1])
        check_query(query)
        if 0 < len(query.uuids) <= DIRECT_UUIDS:
            result = self._search_directly(query, page, sort)
            items = tuple(result.items)
            self._cache.put(revision, key, (items, result.total), weight=len(items) + 1)
            return result
        where = self._where(query)
        if where is None:
            return ResultPage([], 0)
        ordering = order_by(datasets, sort, DATASET_SORT_FIELDS)
        statement = self._ids_from_text_index(revision, query, sort)
        if statement is None:
            statement = select(datasets.c.id).where(*where).order_by(*ordering)
        with self._connect(query) as conn:
            found = self._found(conn, revision, query, sort, statement)
            rows, total = self._page_of_found(
                conn, revision, query, page, found, where=where, ordering=ordering
            )
        entries = [_entry(row) for row in rows]
        self._cache.put(revision, key, (tuple(entries), total), weight=len(entries) + 1)
        return ResultPage(entries, total)

    def _connect(self, query: SearchQuery) -> AbstractContextManager[Connection]:
        """Return a read connection suited to ``query``."""
        if query.free_text is None:
            return self._reader.connect()
        return text_reader(self._read_engine)

    def _search_directly(
        self, query: SearchQuery, page: PageRequest, sort: Sequence[SortKey]
    ) -> ResultPage[DatasetEntry]:
        """Answer a query for a few UUIDs (a lookup) in one statement.

        Such a query matches at most one row per UUID and base URI: reading
        them all costs less than caching their ids first.
        """
        only_uuids = query == SearchQuery(query.base_uris, uuids=query.uuids)
        if only_uuids and len(query.uuids) == 1:
            return self._lookup_one(query.uuids[0], query.base_uris, page, sort)
        plain = only_uuids and not sort
        if plain:
            statement, parameters = _LOOKUP, {"uuids": query.uuids, "base_uris": query.base_uris}
        elif (where := self._where(query)) is not None:
            ordering = order_by(datasets, sort, DATASET_SORT_FIELDS)
            statement, parameters = select(*_ENTRY_COLUMNS).where(*where).order_by(*ordering), {}
        else:
            return ResultPage([], 0)
        with self._reader.connect() as conn:
            entries = [_entry(row) for row in conn.execute(statement, parameters)]
        return ResultPage(entries[page.offset : page.offset + page.size], len(entries))

    def _lookup_one(
        self, uuid: str, base_uris: Sequence[str], page: PageRequest, sort: Sequence[SortKey]
    ) -> ResultPage[DatasetEntry]:
        """Return the copies of one dataset in ``base_uris``, sorted (then registration order)."""
        # NOTE(dev): a copy is one row per base URI, so few rows: every copy is
        # read, on a raw connection (``copies.py``), and filtered here.
        allowed = set(base_uris)
        entries = [entry for entry in self._copies.read(uuid, sort) if entry.base_uri in allowed]
        return ResultPage(entries[page.offset : page.offset + page.size], len(entries))

    def _ids_from_text_index(
        self, revision: int, query: SearchQuery, sort: Sequence[SortKey]
    ) -> Select[tuple[int]] | None:
        """Return the ordered ids of a free-text query from the text index alone.

        Possible when the index holds every filter of the query as terms (or
        the query's base URIs hold every dataset) and the order is
        registration order; None otherwise. The base URIs of the rows
        returned are checked again (``_rows_by_id``): a hash collision could
        only miscount, never show a dataset out of bounds.
        """
        if query.free_text is None or query.uuids or sort:
            return None
        if query.annotations or query.annotation_keys:
            return None  # NOTE(dev): the text index holds no annotation terms
        every_one = self._base_uris_in_use(revision) <= set(query.base_uris)
        if not every_one and len(query.base_uris) > MAX_BASE_URI_TERMS:
            return None
        groups = _filter_groups(query, narrow_base_uris=not every_one)
        ids = self._text_ids(parse_free_text(query.free_text), groups)
        return ids.order_by(*ids.selected_columns)

    def _base_uris_in_use(self, revision: int) -> frozenset[str]:
        """Return the base URIs holding datasets (a few index seeks, cached)."""
        cached: frozenset[str] | None = self._cache.get(revision, ("base_uris",))
        if cached is None:
            with self._reader.connect() as conn:
                cached = frozenset(conn.execute(_BASE_URIS_IN_USE).scalars())
            self._cache.put(revision, ("base_uris",), cached, weight=1 + len(cached))
        return cached

    def _found(
        self,
        conn: Connection,
        revision: int,
        query: SearchQuery,
        sort: Sequence[SortKey],
        statement: Select[tuple[int]],
    ) -> _Found:
        """Return ``_ordered_ids``, none read for an unfiltered query counted too long."""
        total = self._unfiltered_total(conn, revision, query)
        if total is not None and total > self._max_cached_ids:
            return _Found(array("q"), complete=False)
        return self._ordered_ids(conn, revision, (query, tuple(sort)), statement)

    def _unfiltered_total(self, conn: Connection, revision: int, query: Hashable) -> int | None:
        """Return the total of a query naming only base URIs, from their counts; else None."""
        if not isinstance(query, SearchQuery) or query != SearchQuery(query.base_uris):
            return None
        key = ("count", query)
        cached: int | None = self._cache.get(revision, key)
        if cached is None:
            cached = datasets_in(conn, query.base_uris)
            self._cache.put(revision, key, cached)
        return cached

    def _ordered_ids(
        self, conn: Connection, revision: int, key: Hashable, statement: Select[tuple[int]]
    ) -> _Found:
        """Return the ids of every match in order, or the first ones if there are too many.

        One pass over narrow indexes answers the count and every page of a
        query; the array (8 bytes a match) is cached until the next write.
        """
        cache_key = ("ids", key)
        ids: array[int] | None = self._cache.get(revision, cache_key)
        if ids is not None:
            return _Found(ids, complete=True)
        # NOTE(dev): a query found too long is remembered as such: else every
        # page of it read (and dropped) MAX_CACHED_IDS ids first, 80 ms a page
        # of a million datasets on PostgreSQL.
        if self._cache.get(revision, ("too many", key)):
            return _Found(array("q"), complete=False)
        ids = fetch_ids(conn, statement.limit(self._max_cached_ids + 1))
        if len(ids) > self._max_cached_ids:
            self._cache.put(revision, ("too many", key), True)
            return _Found(ids, complete=False)
        self._cache.put(revision, cache_key, ids, weight=1 + len(ids) // 64)
        return _Found(ids, complete=True)

    def _page_of_found(
        self,
        conn: Connection,
        revision: int,
        query: SearchQuery | StructuredQuery,
        page: PageRequest,
        found: _Found,
        *,
        where: _Where,
        ordering: list[UnaryExpression[Any]],
    ) -> tuple[Sequence[Any], int]:
        """Return one page of ``query`` and its total, from the ids found where they suffice."""
        if found.complete:
            ids = found.ids[page.offset : page.offset + page.size]
            return _rows_by_id(conn, ids, query.base_uris), len(found.ids)
        return self._page_by_offset(
            conn, revision, query, page, where=where, ordering=ordering, first=found.ids
        )

    def _page_by_offset(
        self,
        conn: Connection,
        revision: int,
        query: SearchQuery | StructuredQuery,
        page: PageRequest,
        *,
        where: _Where,
        ordering: list[UnaryExpression[Any]],
        first: array[int],
    ) -> tuple[Sequence[Any], int]:
        """Return one page of a query matching very many datasets, and the total.

        ``first``: the first matches in order, if this call read them. A page
        among them is read by id, and in registration order the count goes on
        after them rather than over them again. Otherwise, in registration
        order a page past the first anchor is sought from it (``paging``);
        other orders page with LIMIT/OFFSET.
        """
        counted = first if len(ordering) == 1 else array("q")
        if page.offset + page.size <= len(first):
            known = _rows_by_id(
                conn, first[page.offset : page.offset + page.size], query.base_uris
            )
            return known, self._count(conn, revision, query, where, counted)
        if len(ordering) == 1 and page.offset >= ANCHOR_EVERY:
            return self._page_by_anchor(conn, revision, query, page, where)
        ids = select(datasets.c.id).where(*where).order_by(*ordering)
        page_ids = ids.limit(page.size).offset(page.offset).scalar_subquery()
        statement = select(*_ENTRY_COLUMNS).where(datasets.c.id.in_(page_ids)).order_by(*ordering)
        rows = conn.execute(statement).all()
        total = _page_total(page, len(rows))
        if total is None:
            total = self._count(conn, revision, query, where, counted)
        return rows, total

    def _page_by_anchor(
        self, conn: Connection, revision: int, query: Hashable, page: PageRequest, where: _Where
    ) -> tuple[Sequence[Any], int]:
        """Return one page in registration order, sought from the cached anchor before it."""
        key = ("anchors", query)
        anchors: Anchors | None = self._cache.get(revision, key)
        if anchors is None:
            anchors = read_anchors(conn, where)
            self._cache.put(revision, key, anchors, weight=anchors.weight)
        ids = anchored_page(anchors, where, page)
        if ids is None:
            return [], anchors.total
        statement = select(*_ENTRY_COLUMNS).where(datasets.c.id.in_(ids.scalar_subquery()))
        return conn.execute(statement.order_by(datasets.c.id)).all(), anchors.total

    def _count(
        self, conn: Connection, revision: int, query: Hashable, where: _Where, counted: array[int]
    ) -> int:
        """Return the number of matches; ``counted``: the first ones in id order, known."""
        key = ("count", query)
        cached = self._cache.get(revision, key)
        if cached is None:
            cached = self._unfiltered_total(conn, revision, query)
        if cached is None:
            after = [datasets.c.id > counted[-1]] if counted else []
            rest = int(conn.scalar(select(func.count()).where(*where, *after)) or 0)
            cached = len(counted) + rest
            self._cache.put(revision, key, cached)
        return int(cached)

    def _where(self, query: SearchQuery) -> _Where | None:
        """Return the WHERE clauses of ``query``, or None if it matches nothing."""
        if not query.base_uris:
            return None
        where: _Where = [datasets.c.base_uri.in_(query.base_uris)]
        if query.creator_usernames:
            where.append(datasets.c.creator_username.in_(query.creator_usernames))
        if query.uuids:
            where.append(datasets.c.uuid.in_(query.uuids))
        for tag in dict.fromkeys(query.tags):
            # NOTE(dev): an IN list per tag lets SQLite drive the query from the
            # (usually short) tag lists; a correlated EXISTS was 3x slower.
            tagged = select(dataset_tags.c.dataset_id).where(dataset_tags.c.tag == tag)
            where.append(datasets.c.id.in_(tagged))
        where.extend(annotation_filters(query))
        if query.free_text is not None:
            text_query = parse_free_text(query.free_text)
            if text_query.matches_nothing:
                return None
            where.append(self._match(text_query, _filter_groups(query)))
        return where

    @translate_errors(InvalidDataset)
    def structured_search(
        self, query: StructuredQuery, page: PageRequest, sort: Sequence[SortKey] = ()
    ) -> ResultPage[DatasetEntry]:
        """Return one page of the datasets a structured query matches (registration order).

        As ``search``: the ordered ids of every match are read once and cached
        until the next write, so the total and every page come from one pass.
        """
        if not query.base_uris:
            return ResultPage([], 0)
        key = ("structured", query, page, tuple(sort))
        revision = self._revisions.read(DATASETS_REVISION)
        cached: ResultPage[DatasetEntry] | None = self._cache.get(revision, key)
        if cached is not None:
            return cached
        ordering = order_by(datasets, sort, DATASET_SORT_FIELDS)
        with self._reader.connect() as conn:
            single = self._single_valued(conn, revision, query.node)
            where = [
                datasets.c.base_uri.in_(query.base_uris),
                structured_where(query.node, single),
            ]
            found = self._structured_ids(
                conn, revision, query, sort, single=single, where=where, ordering=ordering
            )
            rows, total = self._page_of_found(
                conn, revision, query, page, found, where=where, ordering=ordering
            )
        cached = ResultPage([_entry(row) for row in rows], total)
        self._cache.put(revision, key, cached, weight=1 + len(cached.items))
        return cached

    def _structured_ids(
        self,
        conn: Connection,
        revision: int,
        query: StructuredQuery,
        sort: Sequence[SortKey],
        *,
        single: frozenset[str],
        where: _Where,
        ordering: list[UnaryExpression[Any]],
    ) -> _Found:
        """Return ``_ordered_ids`` of a structured query, from field rows alone where they say.

        In registration order, over base URIs holding every dataset, a node
        that field rows decide needs no dataset row (``field_ids``); when it
        matches too many to keep their ids, its total is counted from those
        rows too, for ``_count`` to find.
        """
        key = ("structured", query, tuple(sort))
        by_rows = None if sort else field_ids(query.node, single, query.base_uris)
        if by_rows is not None and self._base_uris_in_use(revision) <= set(query.base_uris):
            found = self._ordered_ids(conn, revision, ("by rows", *key), by_rows)
            if found.ids and not found.complete:
                total = int(conn.scalar(select(func.count()).select_from(by_rows.subquery())) or 0)
                if total >= len(found.ids):  # else another base URI appeared in between
                    self._cache.put(revision, ("count", query), total)
            if found.ids or not found.complete:
                return found  # NOTE(dev): none found may mean another base URI holds datasets now
        statement = select(datasets.c.id).where(*where).order_by(*ordering)
        return self._ordered_ids(conn, revision, key, statement)

    def _single_valued(self, conn: Connection, revision: int, node: Node) -> frozenset[str]:
        """Return which of the paths ``node`` ANDs row tests on hold one value a dataset."""
        paths = shared_row_paths(node)
        if not paths:
            return frozenset()
        key = ("single-valued", paths)
        single: frozenset[str] | None = self._cache.get(revision, key)
        if single is None:
            single = single_valued(conn, paths)
            self._cache.put(revision, key, single, weight=1 + len(paths))
        return single

    def _structured_where(
        self, conn: Connection, revision: int, node: Node
    ) -> ColumnElement[bool]:
        """Return ``structured_where`` of ``node``, told which of its paths hold one value."""
        return structured_where(node, self._single_valued(conn, revision, node))

    @translate_errors(InvalidDataset)
    def aggregate(self, query: AggregateQuery) -> list[dict[str, Any]]:
        """Return every output document of an aggregation over the permitted datasets.

        The leading filter runs in SQL; the stages after it run in Python
        (``store.aggregation.run``) over at most ``MAX_INPUT`` documents.
        """
        if not query.base_uris:
            return []
        revision = self._revisions.read(DATASETS_REVISION)
        with self._reader.connect() as conn:
            statement = (
                select(*_ENTRY_COLUMNS, datasets.c.readme, datasets.c.annotations)
                .where(
                    datasets.c.base_uri.in_(query.base_uris),
                    self._structured_where(conn, revision, query.pipeline.leading),
                )
                .order_by(datasets.c.id)
                .limit(MAX_INPUT + 1)
            )
            rows = conn.execute(statement).all()
        if len(rows) > MAX_INPUT:
            raise too_many_inputs(MAX_INPUT)
        documents = [dataset_document(_entry(row), row.readme, row.annotations) for row in rows]
        return run(query.pipeline.stages, documents)

    @translate_errors(InvalidDataset)
    def summary(self, base_uris: Iterable[str]) -> Summary:
        """Return facet counts over the datasets in ``base_uris``."""
        wanted = tuple(sorted(set(base_uris)))
        if not wanted:
            return Summary()
        key = ("summary", wanted)
        revision = self._revisions.read(DATASETS_REVISION)
        cached = self._cache.get(revision, key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        with self._reader.connect() as conn:
            result = summarise(conn, wanted)
        self._cache.put(revision, key, result)
        return result

    @translate_errors(InvalidDataset)
    def annotation_keys(self, query: SearchQuery) -> dict[str, int]:
        """Return how many datasets matching ``query`` hold each facet key."""
        counts: dict[str, int] = self._facets("annotation_keys", query)
        return counts

    @translate_errors(InvalidDataset)
    def annotation_values(self, query: SearchQuery) -> dict[str, dict[str, int]]:
        """Return ``{key: {canonical value: datasets}}`` for the keys ``query`` names."""
        counts: dict[str, dict[str, int]] = self._facets("annotation_values", query)
        return counts

    def _facets(self, kind: str, query: SearchQuery) -> Any:
        """Return one kind of annotation facet counts, cached until the next write."""
        check_query(query)
        where = self._where(query)
        if where is None:
            return {}
        key = (kind, query)
        revision = self._revisions.read(DATASETS_REVISION)
        cached = self._cache.get(revision, key)
        if cached is None:
            count = key_counts if kind == "annotation_keys" else value_counts
            with self._connect(query) as conn:
                cached = count(conn, query, where)
            self._cache.put(revision, key, cached, weight=1 + len(cached))
        return cached

    @translate_errors(InvalidDataset)
    def dependency_graph(self, query: GraphQuery, page: PageRequest) -> ResultPage[GraphNode]:
        """Return one page of the graph around ``query.uuid``, one node per UUID, by UUID."""
        if not query.base_uris:
            return ResultPage([], 0)
        key = ("graph", query, page)
        revision = self._revisions.read(DATASETS_REVISION)
        cached = self._cache.get(revision, key)
        if cached is None:
            # NOTE(dev): the walk is kept apart from its pages, so a client paging
            # through a graph walks it once per write, not once per page.
            walk: Walk | None = self._cache.get(revision, ("graph", query))
            with self._reader.connect() as conn:
                if walk is None:
                    walk = walk_graph(conn, query)
                    self._cache.put(revision, ("graph", query), walk, weight=1 + len(walk.uuids))
                shown = walk.uuids[page.offset : page.offset + page.size]
                nodes = _graph_nodes(conn, query, shown, walk)
            cached = (tuple(nodes), len(walk.uuids))
            self._cache.put(revision, key, cached, weight=len(nodes) + 1)
        return ResultPage(list(cached[0]), cached[1])

    @translate_errors(InvalidDataset)
    def rebuild_dependencies(self) -> int:
        """Recompute every record's dependency links from its document; return how many."""
        with self._writer.begin() as conn:
            bump_revision(conn, DATASETS_REVISION)
            return rebuild_dependencies(conn)

    @translate_errors(InvalidDataset)
    def frozen_at_by_uri(self, base_uri: str) -> dict[str, float]:
        """Return ``{uri: frozen_at}`` for every record in ``base_uri`` (for rescans)."""
        query = select(datasets.c.uri, datasets.c.frozen_at).where(datasets.c.base_uri == base_uri)
        # NOTE(dev): a rescan's read, not a user's: it may take as long as a base URI needs.
        with reader(self._engine).connect() as conn:
            return {uri: float(frozen_at) for uri, frozen_at in conn.execute(query)}

    @translate_errors(InvalidDataset)
    def stamps_by_uri(self, base_uri: str) -> dict[str, str | None]:
        """Return ``{uri: stamp}`` for every record in ``base_uri`` (for rescans)."""
        query = select(datasets.c.uri, datasets.c.stamp).where(datasets.c.base_uri == base_uri)
        with reader(self._engine).connect() as conn:
            return {uri: stamp for uri, stamp in conn.execute(query)}

    def close(self) -> None:
        """Release connections."""
        self._revisions.close()
        self._copies.close()
        self._engine.dispose()
        self._read_engine.dispose()


def _filter_groups(query: SearchQuery, narrow_base_uris: bool = True) -> list[tuple[str, ...]]:
    """Return the filter terms a free-text match must contain, one of each group.

    Base URIs narrow only when few are asked for: a user's whole set of
    base URIs usually holds every dataset, and its terms would add work.
    """
    groups: list[tuple[str, ...]] = []
    if narrow_base_uris and len(query.base_uris) <= MAX_BASE_URI_TERMS:
        groups.append(tuple(filter_term("base_uri", uri) for uri in query.base_uris))
    if query.creator_usernames:
        groups.append(tuple(filter_term("creator", name) for name in query.creator_usernames))
    groups.extend((filter_term("tag", tag),) for tag in dict.fromkeys(query.tags))
    return groups


def _rows_by_id(conn: Connection, ids: Sequence[int], base_uris: Iterable[str]) -> list[Any]:
    """Return the entry rows of ``ids`` in ``base_uris``, in the order of ``ids``."""
    if not ids:
        return []
    rows = conn.execute(select(datasets.c.id, *_ENTRY_COLUMNS).where(datasets.c.id.in_(ids)))
    allowed = set(base_uris)
    by_id = {row.id: row for row in rows if row.base_uri in allowed}
    return [by_id[row_id] for row_id in ids if row_id in by_id]


def _graph_nodes(
    conn: Connection, query: GraphQuery, shown: Sequence[str], walk: Walk
) -> list[GraphNode]:
    """Return the nodes of ``shown`` UUIDs: each one's smallest visible URI, its parents."""
    if not shown:
        return []
    rows = conn.execute(
        select(*_ENTRY_COLUMNS)
        .where(among(conn, datasets.c.uuid, shown), datasets.c.base_uri.in_(query.base_uris))
        .order_by(datasets.c.uuid, datasets.c.uri)
    )
    first: dict[str, Any] = {}
    for row in rows:
        first.setdefault(row.uuid, row)
    return [
        GraphNode(_entry(first[uuid]), walk.parents.get(uuid, ()))
        for uuid in shown
        if uuid in first
    ]


def _facet_changes(existing: dict[str, Any], records: Sequence[DatasetRecord]) -> FacetChanges:
    """Return what replacing ``existing`` rows by ``records`` moves in the kept counts."""
    changes = FacetChanges()
    for record in records:
        entry = record.entry
        counted = (entry.base_uri, entry.creator_username, entry.size_in_bytes, entry.tags)
        if (old := existing.get(record.uri)) is not None:
            before = (old.base_uri, old.creator_username, old.size_in_bytes, tuple(old.tags))
            if before == counted:  # registered again as it was: nothing moves
                continue
            changes.count(*before, -1)
        changes.count(*counted, 1)
    return changes


def _facets_removed(rows: Sequence[Any]) -> FacetChanges:
    """Return what deleting ``rows`` (of ``_COUNTED_COLUMNS``) moves in the kept counts."""
    changes = FacetChanges()
    for row in rows:
        changes.count(row.base_uri, row.creator_username, row.size_in_bytes, row.tags, -1)
    return changes


@dataclass(frozen=True, slots=True)
class _Found:
    """The ids of a query's matches in order: all of them, or (not ``complete``) the first."""

    ids: array[int]
    complete: bool


def _page_total(page: PageRequest, found: int) -> int | None:
    """Return the total when one page shows it (a short page), else None."""
    if 0 < found < page.size or (page.offset == 0 and found < page.size):
        return page.offset + found
    return None


def _entry(row: Any) -> DatasetEntry:  # a Row of _ENTRY_COLUMNS
    return DatasetEntry(
        uri=row.uri,
        base_uri=row.base_uri,
        uuid=row.uuid,
        name=row.name,
        creator_username=row.creator_username,
        frozen_at=row.frozen_at,
        created_at=row.created_at,
        number_of_items=row.number_of_items,
        size_in_bytes=row.size_in_bytes,
        type=row.type,
        tags=tuple(row.tags),
        extra=row.extra,
    )


def _values(record: DatasetRecord) -> dict[str, Any]:
    entry = record.entry
    return {
        "uri": entry.uri,
        "base_uri": entry.base_uri,
        "uuid": entry.uuid,
        "name": entry.name,
        "creator_username": entry.creator_username,
        "frozen_at": entry.frozen_at,
        "created_at": entry.created_at,
        "number_of_items": entry.number_of_items,
        "size_in_bytes": entry.size_in_bytes,
        "type": entry.type,
        "tags": list(entry.tags),
        "extra": dict(entry.extra),
        "readme": record.readme,
        "manifest": record.manifest,
        "annotations": record.annotations,
        "stamp": record.stamp,
    }


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    """Split ``values`` so no statement exceeds the drivers' parameter limits."""
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _existing_ids(conn: Connection, uris: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(uris):
        found.update((uri, row_id) for row_id, uri in conn.execute(_ID_BY_URI, {"uris": chunk}))
    return found


def _existing_rows(
    conn: Connection, uris: list[str], statement: Select[Any] = _OLD_BY_URI
) -> dict[str, Any]:
    """Return each URI's current row (at least its id, tags and size), by URI."""
    found: dict[str, Any] = {}
    for chunk in _chunks(uris):
        found.update((row.uri, row) for row in conn.execute(statement, {"uris": chunk}))
    return found


def _tag_rows(records: list[DatasetRecord], ids: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "dataset_id": ids[record.uri],
            "tag": tag,
            "base_uri": record.entry.base_uri,
            "size_in_bytes": record.entry.size_in_bytes,
        }
        for record in records
        for tag in record.entry.tags
    ]


def _write(conn: Connection, records: list[DatasetRecord], existing: dict[str, Any]) -> int:
    """Insert or replace ``records`` (unique URIs) whose ``existing`` rows were read.

    Returns how many were new.
    """
    new = [_values(r) for r in records if r.uri not in existing]
    old = [{**_values(r), "row_id": existing[r.uri].id} for r in records if r.uri in existing]
    ids = {uri: row.id for uri, row in existing.items()}
    if new:
        # NOTE(dev): one executemany and one SELECT of the new ids; INSERT ... RETURNING
        # in parameter order runs row by row on SQLite (a third of an upsert's time).
        insert_rows(conn, datasets, new)
        ids.update(_existing_ids(conn, [row["uri"] for row in new]))
    if old:
        conn.execute(_UPDATE, old)
    _write_tags(conn, records, existing, ids)
    write_annotations(conn, records, [row.id for row in existing.values()], ids)
    write_fields(conn, records, [row.id for row in existing.values()], ids)
    write_dependencies(conn, records, [row.id for row in existing.values()], ids)
    _write_texts(conn, records, existing, ids)
    return len(new)


def _write_tags(
    conn: Connection, records: list[DatasetRecord], existing: dict[str, Any], ids: dict[str, int]
) -> None:
    """Replace the tag rows of records that are new or whose tags or size changed."""
    changed = [
        record
        for record in records
        if (old := existing.get(record.uri)) is None
        or tuple(old.tags) != record.entry.tags
        or old.size_in_bytes != record.entry.size_in_bytes
    ]
    stale = [ids[record.uri] for record in changed if record.uri in existing]
    for chunk in _chunks(stale):
        conn.execute(delete(dataset_tags).where(dataset_tags.c.dataset_id.in_(chunk)))
    tags = _tag_rows(changed, ids)
    if tags:
        insert_rows(conn, dataset_tags, tags)


def _write_texts(
    conn: Connection, records: list[DatasetRecord], existing: dict[str, Any], ids: dict[str, int]
) -> None:
    """Insert the searchable text of new records; update the others' where it changed."""
    fresh = [r for r in records if r.uri not in existing]
    if fresh:
        rows = [
            {
                "dataset_id": r["text_id"],
                "search_text": r["new_text"],
                "filter_terms": r["filter_terms"],
            }
            for r in _text_rows(fresh, ids)
        ]
        insert_rows(conn, dataset_texts, rows)
    if len(fresh) < len(records):
        conn.execute(_UPDATE_TEXT, _text_rows([r for r in records if r.uri in existing], ids))


def _text_rows(records: list[DatasetRecord], ids: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "text_id": ids[r.uri],
            "new_text": searchable_text(r),
            "filter_terms": filter_terms(r.entry),
        }
        for r in records
    ]

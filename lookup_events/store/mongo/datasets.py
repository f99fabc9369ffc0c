"""MongoDatasetStore: dataset records in MongoDB (pymongo), one document per URI.

Chosen by a ``mongodb://`` or ``mongodb+srv://`` dataset store URL; the
admin store stays SQL. Documents live in ``settings.mongo_db`` /
``settings.mongo_collection`` and hold every record field (timestamps as
float seconds, so microseconds survive; the UUID as a string, always), a
``search_text`` field and a registration number ``seq``.

Free text: one text index (English stemming) over ``readme`` and
``search_text``, which holds the other words ``store.text.searchable_text``
extracts (name, creator, UUID, URI, tags, annotation and extra values,
manifest relpaths), so every backend searches the same fields and the README
is not stored twice (it counts against the 16 MiB once). A wildcard text
index (``$**``, as 0.18 used) would also index manifest hashes and every
future field, and DocumentDB has none. A phrase must lie within one field
(the README, or the other words in their order); MongoDB matches phrases
against the README's raw text, so "apples from" does not match "apples,
from" there, while the SQL stores compare words. ``language_override``
names a field no document has: with the default (``language``) a document
whose ``language`` field holds no language MongoDB knows is refused.

Writes are atomic upserts keyed on ``uri`` (``update_one(..., upsert=True)``
with ``$set`` of every field, which for our fixed document shape replaces
the document, and ``$setOnInsert`` of ``seq``: ``replace_one`` would lose
the registration number, which orders results as the SQL stores do).
Numbers come from a counter document (``<collection>_counters``), one
round trip per write or per batch. Documents over 16 MiB are refused
before sending (``DocumentTooLarge``). Paging, counts and facets run on the
server (``skip``/``limit``, ``count_documents``, three ``$group``
pipelines); nothing loops over all documents in Python.

The client is made on first use (``connect=False``), so a store opened
before gunicorn forks connects in each worker; indexes are created then,
idempotently. Connection failures raise ``DatabaseUnavailable``; documents
MongoDB refuses raise ``InvalidDataset``.

Amazon DocumentDB (MongoDB API; not tested here): no wildcard text index
(not used); text indexes exist from DocumentDB 5.0 with fewer options and
their own tokeniser, stop words and phrase rules, so free-text results may
differ from MongoDB's; if it refuses the index options, create
``{readme: "text", search_text: "text"}`` yourself: an existing text index
is kept. ``$facet`` is not used (DocumentDB has it only from 8.0). Everything else
used here (``$in``, ``$all``, ``$group``, ``$unwind``, upserts, bulk writes,
``find_one_and_update``) is supported.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import bson
from bson.errors import InvalidDocument
from pymongo import ASCENDING, TEXT, MongoClient, ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WriteError,
)

from lookup_events.errors import (
    DatabaseUnavailable,
    DocumentTooLarge,
    InvalidDataset,
    QueryTimedOut,
)
from lookup_events.model import DatasetCard, DatasetEntry, DatasetRecord, readme_document
from lookup_events.store.actors import SYSTEM, Actor, ActorFor
from lookup_events.store.aggregation import MAX_INPUT, AggregateQuery, too_many_inputs
from lookup_events.store.annotations import keys_of_interest
from lookup_events.store.audit import AuditEntry, AuditQuery
from lookup_events.store.feeds import Change
from lookup_events.store.limits import check_query
from lookup_events.store.mongo.audit import (
    MongoAuditTrail,
    create_indexes,
    find_entries,
    prune_entries,
)
from lookup_events.store.mongo.graph import graph_nodes, graph_uuids, rebuild_links
from lookup_events.store.mongo.outbox import MongoOutbox, forget_changes, read_changes
from lookup_events.store.mongo.query import (
    ENTRY_PROJECTION,
    LANGUAGE_OVERRIDE,
    LINKS,
    PAIRS,
    RECORD_PROJECTION,
    SEARCH_TEXT,
    SEQUENCE,
    Document,
    annotation_pipeline,
    document_of,
    entry_of,
    facet_pipelines,
    record_of,
    search_filter,
    sort_of,
    summary_of,
)
from lookup_events.store.mongo.structured import README_FIELD, mongo_filter, mongo_pipeline
from lookup_events.store.protocols import (
    GraphNode,
    GraphQuery,
    PageRequest,
    ResultPage,
    SearchQuery,
    SortKey,
    Summary,
)
from lookup_events.store.structured import StructuredQuery

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
# Room for the ``_id`` and ``seq`` the stored document gains.
_HEADROOM = 64
_COUNTER = "registration"
_SERVER_SELECTION_TIMEOUT_MS = 5000
# IndexOptionsConflict, IndexKeySpecsConflict: an equivalent index exists already.
_INDEX_CONFLICTS = frozenset({85, 86})
_INDEXES: tuple[tuple[list[tuple[str, Any]], dict[str, Any]], ...] = (
    ([("uri", ASCENDING)], {"name": "uri", "unique": True}),
    ([("uuid", ASCENDING)], {"name": "uuid"}),
    ([("base_uri", ASCENDING), (SEQUENCE, ASCENDING)], {"name": "base_uri_seq"}),
    ([("creator_username", ASCENDING)], {"name": "creator_username"}),
    ([("tags", ASCENDING)], {"name": "tags"}),
    (
        [("readme", TEXT), (SEARCH_TEXT, TEXT)],
        {
            "name": "free_text",
            "default_language": "english",
            "language_override": LANGUAGE_OVERRIDE,
        },
    ),
    ([(f"{PAIRS}.k", ASCENDING), (f"{PAIRS}.v", ASCENDING)], {"name": PAIRS}),
    ([(f"{LINKS}.u", ASCENDING)], {"name": LINKS}),
)


_REMOVED: Document = {"_id": 0, "uri": 1, "base_uri": 1, "uuid": 1, "name": 1}
_CARD_PROJECTION: Document = {k: v for k, v in RECORD_PROJECTION.items() if k != "manifest"}
_MANIFEST_PROJECTION: Document = {"_id": 0, "manifest": 1}


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class MongoCollections:
    """The collections a store works on, and how to release their client."""

    datasets: Collection[Document]
    counters: Collection[Document]
    close: Callable[[], None] = _nothing
    audit: Collection[Document] | None = None
    outbox: Collection[Document] | None = None


Connector = Callable[[], MongoCollections]
ClientFactory = Callable[..., MongoClient[Document]]


def url_connector(
    url: str, database: str, collection: str, client_factory: ClientFactory = MongoClient
) -> Connector:
    """Return a connector opening ``database.collection`` at ``url`` when called."""
    options: dict[str, Any] = {"connect": False, "appname": "dtool-lookup"}
    if "serverselectiontimeoutms" not in url.lower():
        options["serverSelectionTimeoutMS"] = _SERVER_SELECTION_TIMEOUT_MS

    def connect() -> MongoCollections:
        client = client_factory(url, **options)
        db = client[database]
        return MongoCollections(
            db[collection],
            db[f"{collection}_counters"],
            client.close,
            db[f"{collection}_audit"],
            db[f"{collection}_outbox"],
        )

    return connect


def translate_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Decorate a store method so no pymongo exception escapes it."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except ExecutionTimeout as ex:
            raise QueryTimedOut(f"the MongoDB query ran out of time: {_reason(ex)}") from ex
        except (InvalidDocument, OverflowError, WriteError, BulkWriteError) as ex:
            raise InvalidDataset(f"MongoDB refused the document: {_reason(ex)}") from ex
        except PyMongoError as ex:
            raise DatabaseUnavailable(f"MongoDB unavailable: {_reason(ex)}") from ex

    return wrapper


def _reason(ex: Exception) -> str:
    text = str(ex).strip()
    return text.splitlines()[0] if text else type(ex).__name__


def checked_document(record: DatasetRecord) -> Document:
    """Return the document of ``record``, refusing it when MongoDB would.

    Raises:
        DocumentTooLarge: the document exceeds MongoDB's 16 MiB limit.
    """
    document = document_of(record)
    size = len(bson.encode(document)) + _HEADROOM
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(
            f"the metadata of {record.uri} is {size:,} bytes as a MongoDB document; "
            f"MongoDB stores at most {MAX_DOCUMENT_BYTES:,} bytes (16 MiB)"
        )
    return document


def _upsert(document: Document, sequence: int) -> tuple[Document, Document]:
    """Return the filter and update of an upsert keeping the registration number."""
    return {"uri": document["uri"]}, {"$set": document, "$setOnInsert": {SEQUENCE: sequence}}


class MongoDatasetStore:
    """DatasetStore on a MongoDB collection."""

    def __init__(
        self,
        connect: Connector,
        *,
        audit: bool = False,
        clock: Callable[[], float] = time.time,
        query_timeout: float | None = None,
        outbox: bool = False,
    ) -> None:
        self._connect = connect
        self._trail = MongoAuditTrail(clock) if audit else None
        self._outbox = MongoOutbox(clock) if outbox else None
        # NOTE(dev): maxTimeMS bounds each read on the server (ExecutionTimeout).
        max_time_ms = round((query_timeout or 0) * 1000)
        self._find_options: dict[str, Any] = {"max_time_ms": max_time_ms} if max_time_ms else {}
        self._command_options: dict[str, Any] = {"maxTimeMS": max_time_ms} if max_time_ms else {}
        self._collections: MongoCollections | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls,
        url: str,
        database: str,
        collection: str,
        client_factory: ClientFactory = MongoClient,
        *,
        audit: bool = False,
        clock: Callable[[], float] = time.time,
        query_timeout: float | None = None,
        outbox: bool = False,
    ) -> MongoDatasetStore:
        """Return a store on ``database.collection`` at ``url`` (connects on first use)."""
        connect = url_connector(url, database, collection, client_factory)
        return cls(connect, audit=audit, clock=clock, query_timeout=query_timeout, outbox=outbox)

    def _ready(self) -> MongoCollections:
        """Return the collections, connecting and creating indexes on first use."""
        with self._lock:
            if self._collections is None:
                collections = self._connect()
                try:
                    _create_indexes(collections.datasets)
                    _add_readme_documents(collections.datasets)
                    if collections.audit is not None:
                        create_indexes(collections.audit)
                except BaseException:
                    collections.close()
                    raise
                self._collections = collections
            return self._collections

    def _reserve(self, collections: MongoCollections, count: int) -> int:
        """Reserve ``count`` registration numbers; return the first."""
        counter = collections.counters.find_one_and_update(
            {"_id": _COUNTER},
            {"$inc": {"value": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert counter is not None  # an upsert returning AFTER always finds one
        return int(counter["value"]) - count + 1

    @translate_errors
    def upsert(self, record: DatasetRecord, actor: Actor = SYSTEM) -> bool:
        """Insert or replace the record for ``record.uri``; True if it was new."""
        document = checked_document(record)
        collections = self._ready()
        old = self._before(collections, [record.uri])
        where, update = _upsert(document, self._reserve(collections, 1))
        try:
            result = collections.datasets.update_one(where, update, upsert=True)
        except DuplicateKeyError:
            # NOTE(dev): two first registrations of one URI raced; the loser
            # now finds the winner's document and replaces it.
            result = collections.datasets.update_one(where, update, upsert=True)
        self._after(collections, old, [record], actor)
        return result.upserted_id is not None

    @translate_errors
    def upsert_many(self, records: Sequence[DatasetRecord], actor: ActorFor = SYSTEM) -> int:
        """Insert or replace several records in one bulk write; return how many."""
        unique = list({record.uri: record for record in records}.values())
        if not unique:
            return 0
        documents = [checked_document(record) for record in unique]
        collections = self._ready()
        old = self._before(collections, [record.uri for record in unique])
        first = self._reserve(collections, len(documents))
        operations = [
            UpdateOne(*_upsert(doc, first + i), upsert=True) for i, doc in enumerate(documents)
        ]
        collections.datasets.bulk_write(operations, ordered=False)
        self._after(collections, old, unique, actor)
        return len(unique)

    @translate_errors
    def delete(self, uri: str, actor: Actor = SYSTEM) -> bool:
        """Delete the record for ``uri``; True if there was one."""
        collections = self._ready()
        gone = collections.datasets.find_one_and_delete({"uri": uri}, _REMOVED)
        if gone is not None:
            self._removed(collections, [gone], "dataset removed", actor)
        return gone is not None

    @translate_errors
    def delete_base_uri(self, base_uri: str, actor: Actor = SYSTEM) -> int:
        """Delete every record in ``base_uri``; return how many."""
        collections = self._ready()
        gone: list[Document] = []
        if self._trail is not None or self._outbox is not None:
            gone = list(collections.datasets.find({"base_uri": base_uri}, _REMOVED))
        deleted = int(collections.datasets.delete_many({"base_uri": base_uri}).deleted_count)
        self._removed(collections, gone, "base URI removed", actor)
        return deleted

    def _before(self, collections: MongoCollections, uris: list[str]) -> dict[str, DatasetRecord]:
        """Return the records the upserts of ``uris`` replace (when auditing)."""
        if self._trail is None:
            return {}
        return self._trail.before_upserts(collections.datasets, uris)

    def _after(
        self,
        collections: MongoCollections,
        old: dict[str, DatasetRecord],
        records: list[DatasetRecord],
        actor: ActorFor,
    ) -> None:
        """Write the entries and changes of the upserts just made (when auditing, outboxing)."""
        if self._trail is not None and collections.audit is not None:
            self._trail.after_upserts(collections.audit, old, records, actor)
        if self._outbox is not None and collections.outbox is not None:
            self._outbox.written(collections.outbox, collections.counters, records)

    def _removed(
        self, collections: MongoCollections, gone: list[Document], reason: str, actor: Actor
    ) -> None:
        """Write the entries and changes of the deletions just made."""
        if self._trail is not None and collections.audit is not None:
            self._trail.removed(collections.audit, gone, reason, actor)
        if self._outbox is not None and collections.outbox is not None:
            self._outbox.removed(collections.outbox, collections.counters, gone)

    @translate_errors
    def changes(self, limit: int) -> list[Change]:
        """Return up to ``limit`` changes of the outbox in commit order (ChangeFeed)."""
        outbox = self._ready().outbox
        return read_changes(outbox, limit) if outbox is not None else []

    @translate_errors
    def forget(self, ids: Iterable[int]) -> None:
        """Delete the outbox's changes with these numbers (ChangeFeed)."""
        outbox = self._ready().outbox
        if outbox is not None:
            forget_changes(outbox, ids)

    @translate_errors
    def entries(self, query: AuditQuery, page: PageRequest) -> ResultPage[AuditEntry]:
        """Return one page of this store's audit entries matching ``query``, newest first."""
        audit = self._ready().audit
        return find_entries(audit, query, page) if audit is not None else ResultPage([], 0)

    @translate_errors
    def prune(self, before: float) -> int:
        """Delete this store's audit entries older than ``before``; return how many."""
        audit = self._ready().audit
        return prune_entries(audit, before) if audit is not None else 0

    @translate_errors
    def get(self, uri: str) -> DatasetRecord | None:
        """Return the full record for ``uri``, or None."""
        document = self._ready().datasets.find_one({"uri": uri}, RECORD_PROJECTION)
        return None if document is None else record_of(document)

    @translate_errors
    def card(self, uri: str) -> DatasetCard | None:
        """Return the record for ``uri`` without its manifest, or None."""
        document = self._ready().datasets.find_one({"uri": uri}, _CARD_PROJECTION)
        if document is None:
            return None
        return DatasetCard(
            entry_of(document), document.get("readme", ""), dict(document.get("annotations", {}))
        )

    @translate_errors
    def manifest_json(self, uri: str) -> str | None:
        """Return the manifest of the record for ``uri`` as JSON text, or None."""
        document = self._ready().datasets.find_one({"uri": uri}, _MANIFEST_PROJECTION)
        return None if document is None else json.dumps(document.get("manifest", {}))

    @translate_errors
    def search(
        self, query: SearchQuery, page: PageRequest, sort: Sequence[SortKey] = ()
    ) -> ResultPage[DatasetEntry]:
        """Return one page of entries matching ``query`` (registration order by default)."""
        check_query(query)
        ordering = sort_of(sort)
        found = search_filter(query)
        if found is None:
            return ResultPage([], 0)
        datasets = self._ready().datasets
        cursor = datasets.find(found, ENTRY_PROJECTION, sort=ordering, **self._find_options)
        entries = [entry_of(doc) for doc in cursor.skip(page.offset).limit(page.size)]
        total = page_total(page, len(entries))
        if total is None:
            total = datasets.count_documents(found, **self._command_options)
        return ResultPage(entries, total)

    @translate_errors
    def structured_search(
        self, query: StructuredQuery, page: PageRequest, sort: Sequence[SortKey] = ()
    ) -> ResultPage[DatasetEntry]:
        """Return one page of the datasets a structured query matches (registration order)."""
        if not query.base_uris:
            return ResultPage([], 0)
        permitted: Document = {"base_uri": {"$in": list(dict.fromkeys(query.base_uris))}}
        found: Document = {"$and": [permitted, mongo_filter(query.node)]}
        datasets = self._ready().datasets
        cursor = datasets.find(found, ENTRY_PROJECTION, sort=sort_of(sort))
        entries = [entry_of(doc) for doc in cursor.skip(page.offset).limit(page.size)]
        total = page_total(page, len(entries))
        if total is None:
            total = datasets.count_documents(found)
        return ResultPage(entries, total)

    @translate_errors
    def aggregate(self, query: AggregateQuery) -> list[dict[str, Any]]:
        """Return every output document of an aggregation, run by MongoDB."""
        if not query.base_uris:
            return []
        permitted: Document = {"base_uri": {"$in": list(dict.fromkeys(query.base_uris))}}
        found: Document = {"$and": [permitted, mongo_filter(query.pipeline.leading)]}
        datasets = self._ready().datasets
        if datasets.count_documents(found, limit=MAX_INPUT + 1) > MAX_INPUT:
            raise too_many_inputs(MAX_INPUT)
        pipeline = mongo_pipeline(found, SEQUENCE, query.pipeline.stages)
        return list(datasets.aggregate(pipeline))

    @translate_errors
    def summary(self, base_uris: Iterable[str]) -> Summary:
        """Return facet counts over the datasets in ``base_uris``."""
        wanted = sorted(set(base_uris))
        if not wanted:
            return Summary()
        datasets = self._ready().datasets
        pipelines = facet_pipelines(wanted)
        return summary_of(
            {name: list(self._aggregate(datasets, p)) for name, p in pipelines.items()}
        )

    @translate_errors
    def annotation_keys(self, query: SearchQuery) -> dict[str, int]:
        """Return how many datasets matching ``query`` hold each facet key."""
        check_query(query)
        found = search_filter(query)
        if found is None:
            return {}
        rows = self._aggregate(self._ready().datasets, annotation_pipeline(found, None))
        return {str(row["_id"]): int(row["count"]) for row in sorted(rows, key=_group_id)}

    @translate_errors
    def annotation_values(self, query: SearchQuery) -> dict[str, dict[str, int]]:
        """Return ``{key: {canonical value: datasets}}`` for the keys ``query`` names."""
        check_query(query)
        keys = keys_of_interest(query.annotations, query.annotation_keys)
        found = search_filter(query)
        if found is None or not keys:
            return {}
        counts: dict[str, dict[str, int]] = {}
        rows = self._aggregate(self._ready().datasets, annotation_pipeline(found, keys))
        for row in sorted(rows, key=lambda row: (row["_id"]["k"], row["_id"]["v"])):
            counts.setdefault(row["_id"]["k"], {})[row["_id"]["v"]] = int(row["count"])
        return counts

    def _aggregate(
        self, datasets: Collection[Document], pipeline: list[Document]
    ) -> Iterable[Document]:
        """Run an aggregation within the time budget of a read."""
        return datasets.aggregate(pipeline, **self._command_options)

    @translate_errors
    def dependency_graph(self, query: GraphQuery, page: PageRequest) -> ResultPage[GraphNode]:
        """Return one page of the graph around ``query.uuid``, one node per UUID, by UUID."""
        if not query.base_uris:
            return ResultPage([], 0)
        datasets = self._ready().datasets
        uuids = graph_uuids(datasets, query)
        shown = uuids[page.offset : page.offset + page.size]
        return ResultPage(graph_nodes(datasets, query, shown, set(uuids)), len(uuids))

    @translate_errors
    def rebuild_dependencies(self) -> int:
        """Recompute every record's dependency links from its document; return how many."""
        return rebuild_links(self._ready().datasets)

    @translate_errors
    def frozen_at_by_uri(self, base_uri: str) -> dict[str, float]:
        """Return ``{uri: frozen_at}`` for every record in ``base_uri`` (for rescans)."""
        projection = {"_id": 0, "uri": 1, "frozen_at": 1}
        documents = self._ready().datasets.find({"base_uri": base_uri}, projection)
        return {doc["uri"]: float(doc["frozen_at"]) for doc in documents}

    @translate_errors
    def stamps_by_uri(self, base_uri: str) -> dict[str, str | None]:
        """Return ``{uri: stamp}`` for every record in ``base_uri`` (for rescans)."""
        projection = {"_id": 0, "uri": 1, "stamp": 1}
        documents = self._ready().datasets.find({"base_uri": base_uri}, projection)
        return {doc["uri"]: doc.get("stamp") for doc in documents}

    def close(self) -> None:
        """Release connections."""
        with self._lock:
            collections, self._collections = self._collections, None
        if collections is not None:
            collections.close()


def _group_id(row: Document) -> str:
    return str(row["_id"])


def page_total(page: PageRequest, found: int) -> int | None:
    """Return the total when one page shows it (a short page), else None."""
    if 0 < found < page.size or (page.offset == 0 and found < page.size):
        return page.offset + found
    return None


def _add_readme_documents(datasets: Collection[Document]) -> None:
    """Give documents written before structured queries their parsed README (idempotent)."""
    missing = datasets.find({README_FIELD: {"$exists": False}}, {"_id": 1, "readme": 1})
    batch: list[UpdateOne] = []
    for document in missing:
        parsed = readme_document(document.get("readme") or "")
        batch.append(UpdateOne({"_id": document["_id"]}, {"$set": {README_FIELD: parsed}}))
        if len(batch) >= 1000:
            datasets.bulk_write(batch, ordered=False)
            batch = []
    if batch:
        datasets.bulk_write(batch, ordered=False)


def _create_indexes(datasets: Collection[Document]) -> None:
    """Create the store's indexes (idempotent); keep equivalent ones that exist."""
    for keys, options in _INDEXES:
        try:
            datasets.create_index(keys, **options)
        except OperationFailure as ex:
            if ex.code not in _INDEX_CONFLICTS:
                raise
            log.warning("keeping the existing index for %s: %s", keys, _reason(ex))

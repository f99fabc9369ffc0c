"""MongoDB documents and query documents for ``MongoDatasetStore``; pure functions.

Kept apart from the store so the exact documents sent to the server can be
read, and tested, without one. Free text follows ``store.text``: the parsed
query is written back as a ``$search`` string made only of ``\\w+`` words,
double quotes around phrases and ``-`` before exclusions, so nothing a user
types reaches MongoDB as syntax.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lookup_events.model import ENTRY_FIELDS, DatasetEntry, DatasetRecord, readme_document
from lookup_events.store.annotations import annotation_pairs, keys_of_interest
from lookup_events.store.dependencies import dependency_links
from lookup_events.store.mongo.structured import README_FIELD
from lookup_events.store.protocols import DATASET_SORT_FIELDS, SearchQuery, SortKey, Summary
from lookup_events.store.text import TextQuery, parse_free_text, searchable_text

Document = dict[str, Any]

SEARCH_TEXT = "search_text"
# NOTE(dev): the facets as ``{"k": key, "v": canonical value}`` elements, not
# ``annotations.<key>`` paths: a key holding a dot or a dollar sign would be
# read as a path or an operator there.
PAIRS = "annotation_pairs"
# Each dependency link (``store.dependencies``) as ``{"k": key, "u": parent UUID}``.
LINKS = "dependency_links"
SEQUENCE = "seq"
# NOTE(dev): MongoDB reads a document's language from the field named by the
# text index's ``language_override`` ("language" by default) and refuses the
# insert when the value is no language it knows. No document has this field.
LANGUAGE_OVERRIDE = "search_language"
ENTRY_PROJECTION: Document = {"_id": 0, **dict.fromkeys(ENTRY_FIELDS, 1)}
RECORD_PROJECTION: Document = {**ENTRY_PROJECTION, "readme": 1, "manifest": 1, "annotations": 1}


def document_of(record: DatasetRecord) -> Document:
    """Return the stored form of a record (without ``_id`` and sequence).

    ``search_text`` holds the searchable words of everything but the README,
    which is text-indexed as it is, so it is not stored twice.
    """
    entry = record.entry
    return {
        "uri": entry.uri,
        "base_uri": entry.base_uri,
        "uuid": entry.uuid,
        "name": entry.name,
        "creator_username": entry.creator_username,
        "frozen_at": float(entry.frozen_at),
        "created_at": float(entry.created_at),
        "number_of_items": entry.number_of_items,
        "size_in_bytes": entry.size_in_bytes,
        "type": entry.type,
        "tags": list(entry.tags),
        "extra": dict(entry.extra),
        "readme": record.readme,
        README_FIELD: readme_document(record.readme),
        "manifest": record.manifest,
        "annotations": record.annotations,
        "stamp": record.stamp,
        SEARCH_TEXT: searchable_text(dataclasses.replace(record, readme="")),
        PAIRS: [{"k": key, "v": value} for key, value in annotation_pairs(record.annotations)],
        LINKS: links_of(record.entry.uuid, record.readme, record.annotations),
    }


def links_of(uuid: str, readme: str, annotations: Mapping[str, Any]) -> list[Document]:
    """Return the stored form of a dataset's dependency links."""
    return [{"k": key, "u": parent} for key, parent in dependency_links(uuid, readme, annotations)]


def entry_of(document: Mapping[str, Any]) -> DatasetEntry:
    """Return the entry stored in ``document``."""
    return DatasetEntry(
        uri=document["uri"],
        base_uri=document["base_uri"],
        uuid=document["uuid"],
        name=document["name"],
        creator_username=document["creator_username"],
        frozen_at=float(document["frozen_at"]),
        created_at=float(document["created_at"]),
        number_of_items=document.get("number_of_items"),
        size_in_bytes=document.get("size_in_bytes"),
        type=document.get("type", "dataset"),
        tags=tuple(document.get("tags", ())),
        extra=dict(document.get("extra", {})),
    )


def record_of(document: Mapping[str, Any]) -> DatasetRecord:
    """Return the record stored in ``document``."""
    return DatasetRecord(
        entry_of(document),
        document.get("readme", ""),
        dict(document.get("manifest", {})),
        dict(document.get("annotations", {})),
    )


def search_string(query: TextQuery) -> str:
    """Return the ``$search`` string of a parsed query (words, quotes, minus signs)."""
    pieces = list(query.terms)
    pieces.extend(_quoted(phrase) for phrase in query.phrases)
    pieces.extend(
        "-" + (words[0] if len(words) == 1 else _quoted(words)) for words in query.excluded
    )
    return " ".join(pieces)


def _quoted(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words) + '"'


def search_filter(query: SearchQuery) -> Document | None:
    """Return the filter of ``query``, or None if it can match nothing."""
    if not query.base_uris:
        return None
    found: Document = {"base_uri": {"$in": list(dict.fromkeys(query.base_uris))}}
    if query.creator_usernames:
        found["creator_username"] = {"$in": list(dict.fromkeys(query.creator_usernames))}
    if query.uuids:
        found["uuid"] = {"$in": list(dict.fromkeys(query.uuids))}
    if query.tags:
        found["tags"] = {"$all": list(dict.fromkeys(query.tags))}
    found.update(annotation_filter(query))
    if query.free_text is not None:
        text_query = parse_free_text(query.free_text)
        if text_query.matches_nothing:
            return None
        found["$text"] = {"$search": search_string(text_query)}
    return found


def annotation_filter(query: SearchQuery) -> Document:
    """Return the filter of a query's annotation pairs and keys (``{}`` if none)."""
    found: Document = {}
    pairs = [
        {"$elemMatch": {"k": key, "v": value}} for key, value in dict.fromkeys(query.annotations)
    ]
    keys = keys_of_interest(query.annotations, query.annotation_keys)
    if pairs:
        found[PAIRS] = {"$all": pairs}
    if keys:
        found[f"{PAIRS}.k"] = {"$all": list(keys)}
    return found


def annotation_pipeline(found: Document, keys: Sequence[str] | None) -> list[Document]:
    """Return the ``$group`` pipeline counting datasets per key, or per key and value.

    ``keys`` None counts keys; otherwise values of those keys.
    """
    pipeline: list[Document] = [
        {"$match": found},
        {"$project": {"_id": 0, PAIRS: 1}},
        {"$unwind": f"${PAIRS}"},
    ]
    if keys is None:
        group: Document = {"_id": f"${PAIRS}.k"}
    else:
        pipeline.append({"$match": {f"{PAIRS}.k": {"$in": list(keys)}}})
        group = {"_id": {"k": f"${PAIRS}.k", "v": f"${PAIRS}.v"}}
    pipeline.append({"$group": {**group, "count": {"$sum": 1}}})
    return pipeline


def sort_of(sort: Sequence[SortKey]) -> list[tuple[str, int]]:
    """Return the sort specification of ``sort``, ending with registration order.

    Raises:
        ValueError: a sort field is not one of ``DATASET_SORT_FIELDS``.
    """
    keys: list[tuple[str, int]] = []
    for key in sort:
        if key.field not in DATASET_SORT_FIELDS:
            allowed = sorted(DATASET_SORT_FIELDS)
            raise ValueError(f"cannot sort by {key.field!r}; use one of {allowed}")
        keys.append((key.field, -1 if key.descending else 1))
    keys.append((SEQUENCE, 1))
    return keys


def facet_pipelines(base_uris: Sequence[str]) -> dict[str, list[Document]]:
    """Return the three ``$group`` pipelines of a summary, by facet name."""
    match: Document = {"$match": {"base_uri": {"$in": list(base_uris)}}}

    def group(key: str) -> Document:
        sizes = {"$sum": "$size_in_bytes"}
        return {"$group": {"_id": f"${key}", "count": {"$sum": 1}, "size": sizes}}

    return {
        "creator": [match, group("creator_username")],
        "base_uri": [match, group("base_uri")],
        "tag": [match, {"$unwind": "$tags"}, group("tags")],
    }


def summary_of(facets: Mapping[str, Iterable[Mapping[str, Any]]]) -> Summary:
    """Build a summary from the results of ``facet_pipelines``."""
    counts: dict[str, dict[str, int]] = {}
    sizes: dict[str, dict[str, int]] = {}
    for name, rows in facets.items():
        ordered = sorted(
            (str(row["_id"]), int(row["count"]), int(row["size"] or 0)) for row in rows
        )
        counts[name] = {key: count for key, count, _ in ordered}
        sizes[name] = {key: size for key, _, size in ordered}
    return Summary(
        number_of_datasets=sum(counts["base_uri"].values()),
        datasets_per_creator=counts["creator"],
        datasets_per_base_uri=counts["base_uri"],
        datasets_per_tag=counts["tag"],
        total_size_in_bytes=sum(sizes["base_uri"].values()),
        size_in_bytes_per_creator=sizes["creator"],
        size_in_bytes_per_base_uri=sizes["base_uri"],
        size_in_bytes_per_tag=sizes["tag"],
    )

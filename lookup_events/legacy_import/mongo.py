"""The MongoDB side of a migration: the documents dtool-lookup-server 0.17/0.18 kept.

0.18's Mongo plugins stored every dataset's full info. Its ``uuid`` is BSON
binary subtype 4 for datasets registered over HTTP (the API schema made it
a ``UUID``) and a string for those indexed by the CLI; older clients may
have written subtype 3. ``frozen_at`` and ``created_at`` are BSON datetimes
(naive UTC, from ``utcfromtimestamp``), so milliseconds are all that is
left of them. The README is raw text (0.18) or a parsed YAML object (0.17,
the direct-mongo plugin). ``info_from_document`` turns such a document into
the dataset-info form ``record_from_info`` validates.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bson import Binary
from bson.binary import UuidRepresentation
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from lookup_events.errors import DatabaseUnavailable, InvalidDataset

_TIMESTAMPS = ("frozen_at", "created_at")
_UUID_SUBTYPES = {
    4: UuidRepresentation.STANDARD,
    3: UuidRepresentation.PYTHON_LEGACY,
}


@dataclass(frozen=True)
class OldCollection:
    """The old server's dataset documents and how many there are."""

    count: int
    documents: Iterator[Mapping[str, Any]]


def info_from_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return the dataset info an old server's MongoDB document holds.

    Raises:
        InvalidDataset: its ``uuid`` is neither a UUID string nor a UUID binary.
    """
    info = {key: _plain(value) for key, value in document.items() if key != "_id"}
    if "uuid" in document:
        info["uuid"] = uuid_text(document["uuid"])
    for key in _TIMESTAMPS:
        if isinstance(document.get(key), dt.datetime):
            info[key] = seconds(document[key])
    return info


def uuid_text(value: Any) -> str:
    """Return the 36-character form of a UUID stored as a string or a BSON binary.

    Raises:
        InvalidDataset: ``value`` holds no UUID.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Binary) and value.subtype in _UUID_SUBTYPES:
        return str(value.as_uuid(_UUID_SUBTYPES[value.subtype]))
    if isinstance(value, str):
        return value
    raise InvalidDataset(f"uuid {value!r} is neither a UUID string nor a UUID binary")


def seconds(moment: dt.datetime) -> float:
    """Return seconds since the epoch of a BSON datetime (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _plain(value: Any) -> Any:
    """Return ``value`` with BSON-only types turned into JSON ones."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return _text(value)


def _text(value: Any) -> str:
    """Return a BSON-only scalar (UUID, datetime, ObjectId, binary) as text."""
    if isinstance(value, uuid.UUID | Binary) and _is_uuid(value):
        return uuid_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _is_uuid(value: Any) -> bool:
    return isinstance(value, uuid.UUID) or value.subtype in _UUID_SUBTYPES


@contextmanager
def old_collection(
    url: str,
    database: str,
    collection: str,
    client_factory: Callable[..., MongoClient[Any]] = MongoClient,
) -> Iterator[OldCollection]:
    """Open the old server's dataset collection; documents in insertion order.

    Raises:
        DatabaseUnavailable: the old MongoDB cannot be reached.
    """
    options = (
        {} if "serverselectiontimeoutms" in url.lower() else {"serverSelectionTimeoutMS": 10_000}
    )
    client = client_factory(url, **options)
    try:
        documents: Collection[Any] = client[database][collection]
        count = documents.count_documents({})
        yield OldCollection(count, documents.find({}, sort=[("_id", 1)], batch_size=200))
    except PyMongoError as ex:
        raise DatabaseUnavailable(f"cannot read the old MongoDB collection: {ex}") from ex
    finally:
        client.close()

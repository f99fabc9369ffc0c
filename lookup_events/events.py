"""DatasetEvent: what happened to which dataset URI, where it was seen, and when.

An event carries no metadata. The registrar always reads the current state
of the dataset from its storage, so duplicated, late or reordered events are
harmless. The JSON form is what travels through the queue; ``from_json``
validates it strictly, and its ``InvalidEvent`` message is the reason a
poison message is dead-lettered with.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

from lookup_events.errors import InvalidEvent
from lookup_events.uris import base_uri_of, normalise_uri, strip_trailing_slash

EventKind = Literal["frozen", "updated", "removed"]

#: What can happen to a dataset: its admin metadata was written with type
#: ``dataset`` (frozen), other metadata changed after freezing (updated), or
#: its admin metadata disappeared (removed).
KINDS: tuple[EventKind, ...] = ("frozen", "updated", "removed")

#: The sources this code base produces; any short lowercase word is valid.
SOURCES = ("s3", "sqs", "sns", "eventbridge", "webhook", "watch", "scan", "index", "http")

FORMAT_VERSION = 1
_FIELDS = frozenset({"version", "kind", "uri", "base_uri", "source"} | {"occurred_at"})
_OPTIONAL = frozenset({"sequencer", "event_id"})
_SOURCE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_SEQUENCER = re.compile(r"[0-9A-Fa-f]{1,64}")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://.+", re.IGNORECASE)
_MAX_ID = 200


@dataclass(frozen=True, slots=True)
class DatasetEvent:
    """Something happened to the dataset at ``uri``; re-read it to find out what."""

    kind: EventKind
    uri: str
    base_uri: str
    source: str
    occurred_at: float
    sequencer: str = ""
    event_id: str = ""

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        _check_uris(self.uri, self.base_uri)
        _check_source(self.source)
        _check_time(self.occurred_at)
        object.__setattr__(self, "occurred_at", float(self.occurred_at))
        _check_sequencer(self.sequencer)
        _check_event_id(self.event_id)

    @classmethod
    def create(
        cls,
        kind: EventKind,
        uri: str,
        source: str,
        *,
        occurred_at: float | None = None,
        sequencer: str = "",
        event_id: str = "",
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> DatasetEvent:
        """Build an event for ``uri``, normalising it and deriving its base URI."""
        uri = normalise_uri(uri)
        return cls(
            kind=kind,
            uri=uri,
            base_uri=base_uri_of(uri),
            source=source,
            occurred_at=clock() if occurred_at is None else occurred_at,
            sequencer=sequencer,
            event_id=event_id or new_id(),
        )

    def to_json(self) -> str:
        """Return the event as one line of JSON, the form the queue carries."""
        return json.dumps({"version": FORMAT_VERSION, **asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> DatasetEvent:
        """Parse and validate an event; raise ``InvalidEvent`` saying what is wrong."""
        document = _load(data)
        missing = sorted(_FIELDS - document.keys())
        if missing:
            raise InvalidEvent(f"event lacks field(s) {', '.join(missing)}")
        unknown = sorted(document.keys() - _FIELDS - _OPTIONAL)
        if unknown:
            raise InvalidEvent(f"event has unknown field(s) {', '.join(unknown)}")
        if document["version"] != FORMAT_VERSION:
            raise InvalidEvent(f"event format version {document['version']!r} is not supported")
        fields = {key: value for key, value in document.items() if key != "version"}
        for key in ("kind", "uri", "base_uri", "source", "sequencer", "event_id"):
            if key in fields and not isinstance(fields[key], str):
                raise InvalidEvent(f"event field {key} must be a string")
        return cls(**fields)


def _load(data: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data, Mapping):
        return dict(data)
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as ex:
        raise InvalidEvent(f"event is not JSON: {ex}") from ex
    if not isinstance(document, dict):
        raise InvalidEvent(f"event is a JSON {type(document).__name__}, not an object")
    return cast(dict[str, Any], document)


def _check_kind(kind: object) -> None:
    if kind not in KINDS:
        raise InvalidEvent(f"event kind {kind!r} is not one of {', '.join(KINDS)}")


def _check_uris(uri: object, base_uri: object) -> None:
    if not isinstance(uri, str) or not _SCHEME.fullmatch(uri) or not uri.isprintable():
        raise InvalidEvent(f"event URI {uri!r} is not an absolute URI")
    if strip_trailing_slash(uri) != uri:
        raise InvalidEvent(f"event URI {uri!r} ends with a slash")
    expected = base_uri_of(uri)
    if "://" not in expected or expected.endswith("://"):
        raise InvalidEvent(f"event URI {uri!r} names no dataset inside a base URI")
    if base_uri != expected:
        raise InvalidEvent(f"event base URI {base_uri!r} is not that of {uri!r}")


def _check_source(source: object) -> None:
    if not isinstance(source, str) or not _SOURCE.fullmatch(source):
        raise InvalidEvent(f"event source {source!r} is not a short lowercase word")


def _check_time(occurred_at: object) -> None:
    if isinstance(occurred_at, bool) or not isinstance(occurred_at, int | float):
        raise InvalidEvent(f"event time {occurred_at!r} is not a number")
    if not math.isfinite(occurred_at) or occurred_at < 0:
        raise InvalidEvent(f"event time {occurred_at!r} is not a time since the epoch")


def _check_sequencer(sequencer: object) -> None:
    if not isinstance(sequencer, str) or (sequencer and not _SEQUENCER.fullmatch(sequencer)):
        raise InvalidEvent(f"event sequencer {sequencer!r} is not a hexadecimal string")


def _check_event_id(event_id: object) -> None:
    if not isinstance(event_id, str) or len(event_id) > _MAX_ID or not event_id.isprintable():
        raise InvalidEvent(f"event id {event_id!r} is not a printable string")

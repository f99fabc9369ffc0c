"""DatasetRecord: the validated dataset document shared by every store and route."""

from __future__ import annotations

import dataclasses
import functools
import math
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from lookup_events.errors import InvalidDataset
from lookup_events.uris import base_uri_of

# NOTE(dev): libyaml's safe loader parses a long README about ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

REQUIRED_KEYS = (
    "uuid",
    "base_uri",
    "uri",
    "name",
    "type",
    "readme",
    "manifest",
    "creator_username",
    "frozen_at",
    "annotations",
    "tags",
)
OPTIONAL_KEYS = ("created_at", "number_of_items", "size_in_bytes")

# NOTE(dev): admin metadata keys other than these (dtoolcore_version, anything a
# future dtoolcore adds) are kept in ``extra`` and shown in search results, as
# 0.18 did for CLI-indexed datasets.
# What a storage reader adds to the documents it reads: the dataset's stamp
# (``DatasetRecord.stamp``). Only the registrar's reads take it, never a document
# sent over HTTP (``record_read``).
STAMP = "_stamp"
_RECORD_KEYS = frozenset((*REQUIRED_KEYS, *OPTIONAL_KEYS, STAMP))

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DatasetEntry:
    """What list, lookup and search return for one dataset (no README or manifest)."""

    uri: str
    base_uri: str
    uuid: str
    name: str
    creator_username: str
    frozen_at: float
    created_at: float
    number_of_items: int | None = None
    size_in_bytes: int | None = None
    type: str = "dataset"
    tags: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


# The entry's fields in order: the columns and document keys a store reads an entry from.
ENTRY_FIELDS = tuple(entry_field.name for entry_field in dataclasses.fields(DatasetEntry))


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """One registered dataset: admin metadata, README text, manifest, annotations, tags."""

    entry: DatasetEntry
    readme: str
    manifest: JSONDict
    annotations: JSONDict
    # What storage listed for the dataset just before it was read (``storage.stamps``):
    # a rescan that lists the same stamp knows the record is current without reading.
    # None: unknown (registered from a document), so a rescan reads it again.
    stamp: str | None = field(default=None, compare=False)

    @property
    def uri(self) -> str:
        """The dataset URI, the record's key."""
        return self.entry.uri


@dataclass(frozen=True, slots=True)
class DatasetCard:
    """A dataset as its page shows it: the record without its manifest.

    The routes for a dataset's README, annotations, tags and entry read this,
    so a manifest of thousands of items is neither read nor decoded for them.
    """

    entry: DatasetEntry
    readme: str
    annotations: JSONDict


def record_read(info: Mapping[str, Any]) -> DatasetRecord:
    """Build the record of a document a storage reader produced, with its stamp."""
    record = record_from_info(info)
    stamp = info.get(STAMP)
    return dataclasses.replace(record, stamp=stamp) if isinstance(stamp, str) else record


def record_from_info(info: Mapping[str, Any]) -> DatasetRecord:
    """Validate a dataset-info document and build the record it describes.

    Accepts the 0.18 register body (string timestamps, README text), the
    form of the dtool-lookup-server README (numeric timestamps, README as an
    object, ``dtoolcore_version``) and what ``read_dataset`` produces.

    Raises:
        InvalidDataset: with the reason, for anything a store must not keep.
    """
    missing = [key for key in REQUIRED_KEYS if key not in info]
    if missing:
        raise InvalidDataset(f"missing required keys: {', '.join(missing)}")
    if info["type"] != "dataset":
        raise InvalidDataset(f"type is {info['type']!r}, not 'dataset' (not frozen)")
    uri, base_uri = _text(info, "uri"), _text(info, "base_uri")
    if base_uri.endswith("/"):
        raise InvalidDataset("base_uri must not end with '/'")
    if base_uri_of(uri) != base_uri:
        raise InvalidDataset(f"uri {uri!r} does not lie directly under base_uri {base_uri!r}")
    manifest = _mapping(info, "manifest")
    frozen_at = _timestamp(info, "frozen_at")
    entry = DatasetEntry(
        uri=uri,
        base_uri=base_uri,
        uuid=_uuid(info["uuid"]),
        name=_text(info, "name"),
        creator_username=_text(info, "creator_username"),
        frozen_at=frozen_at,
        created_at=_timestamp(info, "created_at") if info.get("created_at") else frozen_at,
        number_of_items=_count(info, "number_of_items", len(_items(manifest))),
        size_in_bytes=_count(info, "size_in_bytes", _total_size(manifest)),
        tags=_tags(info["tags"]),
        extra=_extra(info),
    )
    return DatasetRecord(
        entry=entry,
        readme=readme_text(info["readme"]),
        manifest=manifest,
        annotations=_mapping(info, "annotations"),
    )


def readme_text(readme: Any) -> str:
    """Return README text; a parsed README (an object) is dumped back to YAML."""
    if readme is None:
        return ""
    if isinstance(readme, str):
        return readme
    return yaml.safe_dump(readme, sort_keys=False, default_flow_style=False)


def readme_document(readme: str) -> JSONDict:
    """Return a README's YAML as a JSON mapping, the form plugins and structured queries read.

    A README that is not YAML, or whose YAML is not a mapping, gives ``{}``: free text
    stays searchable as text, it just has no fields.
    NOTE(dev): YAML dates and other non-JSON scalars become strings (ISO 8601 for dates),
    so the document compares the same on every store.
    """
    try:
        parsed = yaml.load(readme, Loader=_YAML_LOADER)  # a safe loader
    except yaml.YAMLError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    document = _json_value(parsed)
    assert isinstance(document, dict)
    return document


@functools.lru_cache(maxsize=256)
def shared_readme_document(readme: str) -> JSONDict:
    """Return ``readme_document(readme)``, one object per README text; never change it.

    NOTE(dev): a registration reads the parsed README twice (structured-query
    fields and dependency links); parsing the YAML once halves that work. The
    object is shared by every caller, so they must only read it.
    """
    return readme_document(readme)


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _text(info: Mapping[str, Any], key: str) -> str:
    value = info[key]
    if not isinstance(value, str) or not value:
        raise InvalidDataset(f"{key} must be a non-empty string")
    return value


def _uuid(value: Any) -> str:
    text = str(value)
    try:
        parsed = uuidlib.UUID(text)
    except ValueError:
        raise InvalidDataset(f"uuid {text!r} is not a UUID") from None
    if len(text) != 36:
        raise InvalidDataset(f"uuid {text!r} is not in the 36-character form")
    return str(parsed)


def _timestamp(info: Mapping[str, Any], key: str) -> float:
    value = info[key]
    if isinstance(value, bool):
        raise InvalidDataset(f"{key} must be a number of seconds since the epoch")
    try:
        stamp = float(value)
    except (TypeError, ValueError):
        raise InvalidDataset(f"{key} must be a number of seconds since the epoch") from None
    if not math.isfinite(stamp):
        raise InvalidDataset(f"{key} must be a finite number")
    return stamp


def _mapping(info: Mapping[str, Any], key: str) -> JSONDict:
    value = info[key]
    if not isinstance(value, Mapping):
        raise InvalidDataset(f"{key} must be an object")
    return dict(value)


def _items(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    items = manifest.get("items", {})
    if not isinstance(items, Mapping):
        raise InvalidDataset("manifest.items must be an object")
    return items


def _total_size(manifest: Mapping[str, Any]) -> int:
    items = _items(manifest).values()
    sizes = (item.get("size_in_bytes") for item in items if isinstance(item, Mapping))
    return sum(size for size in sizes if isinstance(size, int) and not isinstance(size, bool))


def _count(info: Mapping[str, Any], key: str, default: int) -> int:
    value = info.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidDataset(f"{key} must be a non-negative integer")
    return value


def _tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(tag, str) for tag in value):
        raise InvalidDataset("tags must be a list of strings")
    return tuple(dict.fromkeys(value))


def _extra(info: Mapping[str, Any]) -> JSONDict:
    return {
        key: value
        for key, value in info.items()
        if key not in _RECORD_KEYS and isinstance(value, str | int | float | bool | None)
    }

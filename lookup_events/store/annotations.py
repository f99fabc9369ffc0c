"""Annotation facets: which annotations count as facets, and how they are kept.

Only scalar annotation values (strings, numbers, booleans) are facets, as in
the annotation-filter plugin; lists, mappings and null are ignored. A value
is kept as its canonical JSON text, so ``1`` and ``"1"`` stay apart while
``1`` and ``1.0`` are one value (MongoDB compares them so too). Every store
keeps the same ``(key, value)`` pairs (``annotation_pairs``): the SQL stores
in the ``dataset_annotations`` table, MongoDB in an ``annotation_pairs``
array, so filters and counts agree across backends.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

# NOTE(dev): facet keys and values sit in one B-tree index on PostgreSQL,
# whose entries must stay under 2,704 bytes; longer ones are not facets.
MAX_KEY_LENGTH = 255
MAX_VALUE_LENGTH = 256


def annotation_value(value: Any) -> str | None:
    """Return the canonical JSON text of a scalar value; None if it is no facet."""
    if isinstance(value, bool | str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float) and math.isfinite(value):
        text = str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    else:
        return None
    return text if len(text) <= MAX_VALUE_LENGTH else None


def annotation_pairs(annotations: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the ``(key, canonical value)`` facets of a dataset's annotations."""
    pairs = []
    for key, value in annotations.items():
        text = annotation_value(value)
        if text is not None and isinstance(key, str) and 0 < len(key) <= MAX_KEY_LENGTH:
            pairs.append((key, text))
    return pairs


def facet_label(text: str) -> str:
    """Return how a canonical value is spelled as a JSON object key.

    Strings as themselves, other scalars as JSON writes them
    (``true``, ``1``, ``2.5``): the key the original plugin's JSON held.
    """
    value = json.loads(text)
    return value if isinstance(value, str) else text


def labelled(values: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Return value counts keyed by ``facet_label``; values spelled alike add up."""
    result: dict[str, dict[str, int]] = {}
    for key, counts in values.items():
        merged: dict[str, int] = {}
        for text, count in counts.items():
            label = facet_label(text)
            merged[label] = merged.get(label, 0) + count
        result[key] = dict(sorted(merged.items()))
    return dict(sorted(result.items()))


def keys_of_interest(pairs: Iterable[tuple[str, str]], keys: Iterable[str]) -> tuple[str, ...]:
    """Return the keys a filter names, through its pairs or its keys, in order."""
    return tuple(dict.fromkeys([*(key for key, _ in pairs), *keys]))

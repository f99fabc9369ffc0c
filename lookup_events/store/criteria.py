"""A search body's criteria as a ``SearchQuery``, over the base URIs given.

Shared by the API's searches (``lookup_api.catalog``) and the subscriptions'
matcher, so a saved search matches exactly what ``/dataset/search`` finds.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from typing import Any

from lookup_events.store.annotations import annotation_value
from lookup_events.store.protocols import SearchQuery

# What ``str(uuid.UUID(text))`` returns: lower-case hex, hyphenated 8-4-4-4-12.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def criteria_query(criteria: Mapping[str, Any], base_uris: Sequence[str]) -> SearchQuery:
    """Return the query of a search body over ``base_uris`` (already permitted).

    An annotation value no store keeps as a facet (``annotation_value`` is
    None: a string too long once JSON-quoted) matches nothing.
    """
    pairs = tuple(
        (str(key), annotation_value(value))
        for key, value in (criteria.get("annotations") or {}).items()
    )
    matchable = all(text is not None for _, text in pairs)
    return SearchQuery(
        base_uris=tuple(base_uris) if matchable else (),
        free_text=criteria.get("free_text"),
        creator_usernames=tuple(criteria.get("creator_usernames") or ()),
        uuids=tuple(canonical_uuid(text) for text in criteria.get("uuids") or ()),
        tags=tuple(criteria.get("tags") or ()),
        annotations=tuple((key, text) for key, text in pairs if text is not None),
        annotation_keys=tuple(criteria.get("annotation_keys") or ()),
    )


def canonical_uuid(text: str) -> str:
    """Return the canonical spelling of a UUID; other text is kept as it is."""
    if _CANONICAL_UUID.fullmatch(text):  # already canonical, as nearly every request's is
        return text
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        return text

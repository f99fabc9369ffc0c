"""How much one search may ask for: the documented limits, checked in one place.

Every store builds a search's query with one statement of a fixed shape
(free text as one parameter, filters as lists), but the work a database
does still grows with what is asked: each free-text word is a posting list
to read, each list item a value to compare. These limits keep the largest
search a few milliseconds of planning and keep every list far below the
drivers' bind-parameter limits (65,535 on PostgreSQL, 32,766 on SQLite).
The API checks a request against them before validating it further; the
stores check every query again, so no caller can get past them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lookup_events.errors import QueryTooLarge
from lookup_events.store.protocols import SearchQuery
from lookup_events.store.text import TextQuery, parse_free_text


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """The most a search may hold; README "Limits of a search" lists the same."""

    free_text_chars: int = 4096
    terms: int = 64
    phrases: int = 16
    exclusions: int = 16
    phrase_words: int = 32
    list_items: int = 1000
    tags: int = 100
    annotations: int = 100


LIMITS = SearchLimits()
# The list fields of a search body and the limit of each.
LIST_LIMITS: Mapping[str, int] = {
    "base_uris": LIMITS.list_items,
    "creator_usernames": LIMITS.list_items,
    "uuids": LIMITS.list_items,
    "tags": LIMITS.tags,
    "annotations": LIMITS.annotations,
    "annotation_keys": LIMITS.annotations,
}


def check_criteria(criteria: Mapping[str, Any]) -> None:
    """Refuse a search body (or query string) over the limits, before any schema walk.

    Only sizes are looked at; values of the wrong type are left to the
    schema, which words those errors.

    Raises:
        QueryTooLarge: naming the first limit the criteria exceed.
    """
    for name, limit in LIST_LIMITS.items():
        value = criteria.get(name)
        if isinstance(value, list | dict) and len(value) > limit:
            raise QueryTooLarge(name, f"{name} is limited to {limit} items; {len(value)} given")
    free_text = criteria.get("free_text")
    if isinstance(free_text, str):
        check_free_text(free_text)


def check_query(query: SearchQuery) -> None:
    """Refuse a query over the limits (the stores' own check).

    The base URIs are left out: the caller has already limited them to the
    ones a user may search, which an administrator registered.

    Raises:
        QueryTooLarge: naming the first limit the query exceeds.
    """
    criteria = {
        "creator_usernames": query.creator_usernames,
        "uuids": query.uuids,
        "tags": query.tags,
        "annotations": query.annotations,
        "annotation_keys": query.annotation_keys,
    }
    check_criteria({name: list(values) for name, values in criteria.items()})
    if query.free_text is not None:
        check_free_text(query.free_text)


def check_free_text(text: str) -> TextQuery:
    """Return the parsed free text if it is within the limits.

    Raises:
        QueryTooLarge: naming the first limit the text exceeds.
    """
    if len(text) > LIMITS.free_text_chars:
        _refuse("free_text", "characters", LIMITS.free_text_chars, len(text))
    parsed = parse_free_text(text)
    if len(parsed.terms) > LIMITS.terms:
        _refuse("free_text", "distinct words", LIMITS.terms, len(parsed.terms))
    if len(parsed.phrases) > LIMITS.phrases:
        _refuse("free_text", "quoted phrases", LIMITS.phrases, len(parsed.phrases))
    if len(parsed.excluded) > LIMITS.exclusions:
        _refuse("free_text", "exclusions", LIMITS.exclusions, len(parsed.excluded))
    longest = max((len(p) for p in (*parsed.phrases, *parsed.excluded)), default=0)
    if longest > LIMITS.phrase_words:
        _refuse("free_text", "words in a phrase", LIMITS.phrase_words, longest)
    return parsed


def _refuse(field: str, what: str, limit: int, given: int) -> None:
    raise QueryTooLarge(field, f"{field} is limited to {limit} {what}; {given} given")

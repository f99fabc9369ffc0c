"""The limits of a search: each one refuses just past it, naming itself, on every store."""

from __future__ import annotations

import uuid

import pytest

from lookup_events.errors import QueryTooLarge
from lookup_events.store import Stores
from lookup_events.store.limits import LIMITS, check_criteria, check_free_text
from lookup_events.store.protocols import PageRequest, SearchQuery

BASE_URI = "s3://bucket"


def _words(count: int) -> str:
    return " ".join(f"w{n}" for n in range(count))


# Each free-text limit: text at the limit, text one past it, the words naming the limit.
FREE_TEXT_CASES = [
    pytest.param("x" * LIMITS.free_text_chars, "x" * (LIMITS.free_text_chars + 1), "characters"),
    pytest.param(_words(LIMITS.terms), _words(LIMITS.terms + 1), "distinct words"),
    pytest.param(
        " ".join(f'"p{n} q"' for n in range(LIMITS.phrases)),
        " ".join(f'"p{n} q"' for n in range(LIMITS.phrases + 1)),
        "quoted phrases",
    ),
    pytest.param(
        "a " + " ".join(f"-e{n}" for n in range(LIMITS.exclusions)),
        "a " + " ".join(f"-e{n}" for n in range(LIMITS.exclusions + 1)),
        "exclusions",
    ),
    pytest.param(
        f'"{_words(LIMITS.phrase_words)}"',
        f'"{_words(LIMITS.phrase_words + 1)}"',
        "words in a phrase",
    ),
]


@pytest.mark.parametrize(("at_limit", "past_limit", "named"), FREE_TEXT_CASES)
def test_free_text_is_refused_just_past_each_limit(
    at_limit: str, past_limit: str, named: str
) -> None:
    check_free_text(at_limit)
    with pytest.raises(QueryTooLarge, match=named) as raised:
        check_free_text(past_limit)
    assert raised.value.limit == "free_text"


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("uuids", LIMITS.list_items),
        ("creator_usernames", LIMITS.list_items),
        ("base_uris", LIMITS.list_items),
        ("tags", LIMITS.tags),
        ("annotation_keys", LIMITS.annotations),
    ],
)
def test_lists_are_refused_just_past_their_limit(field: str, limit: int) -> None:
    check_criteria({field: ["x"] * limit})
    with pytest.raises(QueryTooLarge, match=f"{field} is limited to {limit} items") as raised:
        check_criteria({field: ["x"] * (limit + 1)})
    assert raised.value.limit == field


def test_values_of_the_wrong_type_are_left_to_the_schema() -> None:
    check_criteria({"uuids": "x" * 100_000, "free_text": ["a"] * 100_000, "tags": 3})


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery((BASE_URI,), free_text=_words(LIMITS.terms + 1)),
        SearchQuery((BASE_URI,), uuids=tuple(str(uuid.uuid4()) for _ in range(1001))),
        SearchQuery((BASE_URI,), tags=tuple(f"t{n}" for n in range(LIMITS.tags + 1))),
    ],
    ids=["terms", "uuids", "tags"],
)
def test_every_store_refuses_a_query_over_the_limits(stores: Stores, query: SearchQuery) -> None:
    with pytest.raises(QueryTooLarge):
        stores.datasets.search(query, PageRequest())
    with pytest.raises(QueryTooLarge):
        stores.datasets.annotation_keys(query)

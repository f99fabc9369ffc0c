"""Query-shape tests: the exact documents ``MongoDatasetStore`` sends to MongoDB.

mongomock cannot execute ``$text``, so the contract's free-text tests run on
a real server only (``DTOOL_LOOKUP_TEST_MONGO_URI``). These tests check what
the store asks MongoDB instead. A recording collection, injected through the
store's connector, logs every call and passes it on to mongomock; for a
``$text`` filter it stands in for the server's text match with the URIs the
test names (``text_matches``), so paging and counting still run for real.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import mongomock
import pytest

from lookup_events.model import record_from_info
from lookup_events.store.mongo.datasets import MongoCollections, MongoDatasetStore
from lookup_events.store.mongo.query import ENTRY_PROJECTION, search_filter, search_string
from lookup_events.store.protocols import PageRequest, SearchQuery, SortKey
from lookup_events.store.text import parse_free_text
from tests.support.data import (
    BAD_APPLES_UUID,
    MR_MEN,
    ORANGES_UUID,
    SNOW_WHITE,
    anchor_records,
    make_info,
)

BOTH = (SNOW_WHITE, MR_MEN)


class RecordingCursor:
    """A cursor that logs ``skip`` and ``limit`` before passing them on."""

    def __init__(self, cursor: Any, calls: list[tuple[str, Any]]) -> None:
        self._cursor = cursor
        self._calls = calls

    def skip(self, count: int) -> RecordingCursor:
        self._calls.append(("skip", count))
        self._cursor = self._cursor.skip(count)
        return self

    def limit(self, count: int) -> RecordingCursor:
        self._calls.append(("limit", count))
        self._cursor = self._cursor.limit(count)
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class RecordingCollection:
    """A mongomock collection that logs what it is asked, as a server would see it."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.calls: list[tuple[str, Any]] = []
        self.text_matches: list[str] = []

    def _stand_in(self, found: dict[str, Any]) -> dict[str, Any]:
        if "$text" not in found:
            return found
        rest = {key: value for key, value in found.items() if key != "$text"}
        return {"$and": [rest, {"uri": {"$in": self.text_matches}}]}

    def find(self, found: dict[str, Any], projection: Any = None, **kwargs: Any) -> Any:
        self.calls.append(("find", copy.deepcopy((found, projection, kwargs))))
        cursor = self._collection.find(self._stand_in(found), projection, **kwargs)
        return RecordingCursor(cursor, self.calls)

    def count_documents(self, found: dict[str, Any]) -> int:
        self.calls.append(("count_documents", copy.deepcopy(found)))
        return int(self._collection.count_documents(self._stand_in(found)))

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._collection, name)

        def logged(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, copy.deepcopy((args, kwargs))))
            return method(*args, **kwargs)

        return logged

    def verbs(self) -> list[str]:
        """Return the names of the calls made, in order."""
        return [name for name, _ in self.calls]


@pytest.fixture
def recorded(mongomock_server: Any) -> Iterator[tuple[MongoDatasetStore, RecordingCollection]]:
    """A store on mongomock whose dataset collection records every call."""
    database = mongomock.MongoClient(_store=mongomock_server)["shape"]
    collection = RecordingCollection(database["datasets"])
    store = MongoDatasetStore(lambda: MongoCollections(collection, database["counters"]))  # type: ignore[arg-type]
    yield store, collection
    store.close()


@pytest.fixture
def anchored(
    recorded: tuple[MongoDatasetStore, RecordingCollection],
) -> tuple[MongoDatasetStore, RecordingCollection]:
    """The recording store holding the three anchor datasets, its log emptied."""
    store, collection = recorded
    for record in anchor_records():
        store.upsert(record)
    collection.calls.clear()
    return store, collection


# --- free text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("free_text", "expected"),
    [
        ("apple", "apple"),
        ("APPLES", "apples"),
        ("apple crazystuff", "apple crazystuff"),
        ('"apples from queen"', '"apples from queen"'),
        ('"from queen" "oranges"', '"from queen" "oranges"'),
        ('"oranges from" apple', 'apple "oranges from"'),
        ("fruit -evil", "fruit -evil"),
        ('queen -"apples from"', 'queen -"apples from"'),
        ("U00096.3.rev.1.bt2", "u00096 3 rev 1 bt2"),
        ('bad"quote', "bad quote"),
        ("NEAR(", "near"),
        ("a:b", "a b"),
        ("NOT apple", "not apple"),
        ("é ☃ 字", "é 字"),
        ('"unterminated phrase', '"unterminated phrase"'),
        ('x -"a \\" b"', "x b -a"),
    ],
)
def test_search_string_is_rebuilt_from_words(free_text: str, expected: str) -> None:
    assert search_string(parse_free_text(free_text)) == expected


_SAFE = re.compile(r'-?("[\w ]+"|\w+)( -?("[\w ]+"|\w+))*')


@pytest.mark.parametrize(
    "hostile",
    ['bad"quote', "*", "NEAR(", "a OR", "'", "\\", "$where", '"\\"', "{$ne: 1}", "a\x00b", "-"],
)
def test_hostile_text_becomes_words_quotes_and_minus_signs(hostile: str) -> None:
    found = search_filter(SearchQuery(BOTH, free_text=hostile))
    if found is not None:
        assert _SAFE.fullmatch(found["$text"]["$search"])


@pytest.mark.parametrize("free_text", ["-evil", "", "   ", "*", '"', "-", '-"a b"'])
def test_nothing_positive_sends_no_query(
    anchored: tuple[MongoDatasetStore, RecordingCollection], free_text: str
) -> None:
    store, collection = anchored
    page = store.search(SearchQuery(BOTH, free_text=free_text), PageRequest(1, 10))
    assert (page.items, page.total) == ([], 0)
    assert collection.calls == []


def test_free_text_search_sends_one_filter_to_find_and_count(
    anchored: tuple[MongoDatasetStore, RecordingCollection],
) -> None:
    store, collection = anchored
    collection.text_matches = [f"{SNOW_WHITE}/{BAD_APPLES_UUID}", f"{MR_MEN}/{BAD_APPLES_UUID}"]
    query = SearchQuery(
        (SNOW_WHITE, MR_MEN, SNOW_WHITE),
        free_text='apple -evil "from queen"',
        creator_usernames=("queen",),
        uuids=(BAD_APPLES_UUID,),
        tags=("fruit", "evil", "fruit"),
    )
    page = store.search(query, PageRequest(1, 1), [SortKey("name", descending=True)])
    expected = {
        "base_uri": {"$in": [SNOW_WHITE, MR_MEN]},
        "creator_username": {"$in": ["queen"]},
        "uuid": {"$in": [BAD_APPLES_UUID]},
        "tags": {"$all": ["fruit", "evil"]},
        "$text": {"$search": 'apple "from queen" -evil'},
    }
    assert collection.calls == [
        ("find", (expected, ENTRY_PROJECTION, {"sort": [("name", -1), ("seq", 1)]})),
        ("skip", 0),
        ("limit", 1),
        ("count_documents", expected),
    ]
    assert ([e.uri for e in page.items], page.total) == ([f"{SNOW_WHITE}/{BAD_APPLES_UUID}"], 2)


def test_a_short_page_answers_its_own_total(
    anchored: tuple[MongoDatasetStore, RecordingCollection],
) -> None:
    store, collection = anchored
    collection.text_matches = [f"{SNOW_WHITE}/{ORANGES_UUID}"]
    page = store.search(SearchQuery(BOTH, free_text="crazystuff"), PageRequest(1, 10))
    assert page.total == 1
    assert collection.verbs() == ["find", "skip", "limit"]


# --- paging, sorting, facets ----------------------------------------------------------------


def test_pages_are_cut_by_the_server(
    recorded: tuple[MongoDatasetStore, RecordingCollection],
) -> None:
    store, collection = recorded
    store.upsert_many([record_from_info(make_info(i, SNOW_WHITE)) for i in range(25)])
    collection.calls.clear()
    page = store.search(SearchQuery((SNOW_WHITE,)), PageRequest(2, 10), [SortKey("uuid")])
    only_snow_white = {"base_uri": {"$in": [SNOW_WHITE]}}
    assert collection.calls == [
        ("find", (only_snow_white, ENTRY_PROJECTION, {"sort": [("uuid", 1), ("seq", 1)]})),
        ("skip", 10),
        ("limit", 10),
        ("count_documents", only_snow_white),
    ]
    assert (len(page.items), page.total) == (10, 25)


def test_summary_is_three_group_pipelines(
    anchored: tuple[MongoDatasetStore, RecordingCollection],
) -> None:
    store, collection = anchored
    summary = store.summary([MR_MEN, SNOW_WHITE, MR_MEN])
    match = {"$match": {"base_uri": {"$in": [MR_MEN, SNOW_WHITE]}}}

    def group(key: str) -> dict[str, Any]:
        sizes = {"$sum": "$size_in_bytes"}
        return {"$group": {"_id": f"${key}", "count": {"$sum": 1}, "size": sizes}}

    assert collection.calls == [
        ("aggregate", (([match, group("creator_username")],), {})),
        ("aggregate", (([match, group("base_uri")],), {})),
        ("aggregate", (([match, {"$unwind": "$tags"}, group("tags")],), {})),
    ]
    assert summary.number_of_datasets == 3


# --- writes and indexes ---------------------------------------------------------------------


def test_upsert_is_one_atomic_update_keyed_on_the_uri(
    recorded: tuple[MongoDatasetStore, RecordingCollection],
) -> None:
    store, collection = recorded
    record = anchor_records()[0]
    store.upsert(record)
    store.upsert(record)
    updates = [args for name, args in collection.calls if name == "update_one"]
    assert [(where, upsert) for (where, _), upsert in ((a, k["upsert"]) for a, k in updates)] == [
        ({"uri": record.uri}, True),
        ({"uri": record.uri}, True),
    ]
    (_, update), _ = updates[1]
    assert update["$setOnInsert"] == {"seq": 2}
    assert update["$set"]["uuid"] == BAD_APPLES_UUID
    assert set(update["$set"]) >= {"readme", "manifest", "annotations", "search_text"}


def test_indexes_are_created_once_with_the_text_options(
    recorded: tuple[MongoDatasetStore, RecordingCollection],
) -> None:
    store, collection = recorded
    store.get("s3://nothing/here")
    store.get("s3://nothing/there")
    created = [args for name, args in collection.calls if name == "create_index"]
    assert [keys for (keys,), _ in created] == [
        [("uri", 1)],
        [("uuid", 1)],
        [("base_uri", 1), ("seq", 1)],
        [("creator_username", 1)],
        [("tags", 1)],
        [("readme", "text"), ("search_text", "text")],
        [("annotation_pairs.k", 1), ("annotation_pairs.v", 1)],
        [("dependency_links.u", 1)],
    ]
    assert created[0][1] == {"name": "uri", "unique": True}
    assert created[-3][1] == {
        "name": "free_text",
        "default_language": "english",
        "language_override": "search_language",
    }

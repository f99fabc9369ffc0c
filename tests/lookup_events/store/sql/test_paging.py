"""Lists too long for the id cache: deep pages are sought from anchors, exactly.

A store caching at most a few ids must answer every page and total as a
store that caches them all, in registration order, around anchor
boundaries and past the end, with and without a filter. The first call
after a write reads the first matches before finding them too many: a page
among them comes from them, and the count goes on after them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from lookup_events.model import record_from_info
from lookup_events.store.protocols import PageRequest, SearchQuery, SortKey
from lookup_events.store.sql.datasets import SqlDatasetStore
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.paging import ANCHOR_EVERY
from lookup_events.store.structured import StructuredQuery, parse_filter
from tests.support.data import make_info
from tests.support.postgres import empty_postgres
from tests.support.stores import BACKEND_PARAMS

BASE_URIS = ("s3://paging-a", "s3://paging-b")
SIZE = 2 * ANCHOR_EVERY + 150
PAGES = [
    PageRequest(1, 10),
    PageRequest(100, 10),  # the last page before the first anchor
    PageRequest(101, 10),  # starts at the first anchor
    PageRequest(11, 95),  # straddles it
    PageRequest(3, 1000),
    PageRequest(216, 10),  # the short last page
    PageRequest(300, 10),  # past the end
]
QUERIES = {
    "every dataset": SearchQuery(BASE_URIS),
    "one creator": SearchQuery(BASE_URIS, creator_usernames=("user3",)),
    "one base URI": SearchQuery(BASE_URIS[:1]),
}


def _page(
    store: SqlDatasetStore,
    query: SearchQuery | StructuredQuery,
    page: PageRequest,
    sort: tuple[SortKey, ...] = (),
) -> Any:
    if isinstance(query, StructuredQuery):
        result = store.structured_search(query, page, sort)
    else:
        result = store.search(query, page, sort)
    return [entry.uri for entry in result.items], result.total


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def seeded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a database holding ``SIZE`` datasets, seeded once for the module.

    The tests read it through stores of their own; the one that writes puts back
    what it changed.
    """
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("paging") / "lookup.db"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite_file"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_migrated_postgres_url")
        empty_postgres(url)
    seeder = SqlDatasetStore(make_engine(url))
    seeder.upsert_many([record_from_info(_info(i)) for i in range(SIZE)])
    seeder.close()
    return url


def _info(i: int) -> dict[str, Any]:
    return make_info(i, BASE_URIS[i % 3 % 2], items=1)


@pytest.fixture
def two_stores(seeded_url: str) -> Iterator[tuple[SqlDatasetStore, SqlDatasetStore]]:
    """Yield a store caching every id and one caching ten, on the seeded database."""
    caching = SqlDatasetStore(make_engine(seeded_url))
    anchored = SqlDatasetStore(make_engine(seeded_url), max_cached_ids=10)
    yield caching, anchored
    caching.close()
    anchored.close()


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_deep_pages_match_the_cached_ids(
    two_stores: tuple[SqlDatasetStore, SqlDatasetStore], name: str
) -> None:
    caching, anchored = two_stores
    query = QUERIES[name]

    for page in PAGES:
        assert _page(anchored, query, page) == _page(caching, query, page), page


def test_the_total_is_exact_and_a_write_moves_the_pages(
    two_stores: tuple[SqlDatasetStore, SqlDatasetStore],
) -> None:
    caching, anchored = two_stores
    query, deep = QUERIES["every dataset"], PageRequest(201, 10)
    assert anchored.search(query, deep).total == SIZE

    gone = record_from_info(_info(5))
    caching.delete(gone.uri)
    try:
        assert _page(anchored, query, deep) == _page(caching, query, deep)
        assert anchored.search(query, deep).total == SIZE - 1
    finally:
        caching.upsert(gone)


FIRST_READ = 300  # ids a store caches at most; it reads one more to know
FIRST_CALLS = [
    PageRequest(1, 10),
    PageRequest(30, 10),  # the last page among the first ids read
    PageRequest(16, 20),  # straddles their end
    PageRequest(101, 10),  # past them, from the first anchor
    PageRequest(300, 10),  # past the end
]
FIRST_CALL_QUERIES = {
    **QUERIES,
    "structured, every dataset": StructuredQuery(BASE_URIS, parse_filter({})),
    "structured, one base URI": StructuredQuery(
        BASE_URIS, parse_filter({"base_uri": BASE_URIS[1]})
    ),
    # NOTE(dev): 80% of the datasets, from their field rows alone (``field_ids``)
    "structured, README field rows": StructuredQuery(
        BASE_URIS, parse_filter({"readme.project": {"$in": [f"project{i}" for i in range(8)]}})
    ),
}


@pytest.mark.parametrize("sort", [(), (SortKey("name", descending=True),)], ids=["id", "name"])
@pytest.mark.parametrize("name", sorted(FIRST_CALL_QUERIES))
def test_a_first_call_pages_and_counts_from_the_ids_it_read(
    two_stores: tuple[SqlDatasetStore, SqlDatasetStore],
    seeded_url: str,
    name: str,
    sort: tuple[SortKey, ...],
) -> None:
    caching, _ = two_stores
    query = FIRST_CALL_QUERIES[name]
    for page in FIRST_CALLS:
        fresh = SqlDatasetStore(make_engine(seeded_url), max_cached_ids=FIRST_READ)
        try:
            assert _page(fresh, query, page, sort) == _page(caching, query, page, sort), page
        finally:
            fresh.close()

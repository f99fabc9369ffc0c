"""Kept counts: exact after every write, read for unfiltered totals and summaries.

Datasets per base URI (``dataset_counts``), datasets and bytes per base URI
and creator or tag (``summary_counts``) and datasets per base URI and
annotation key or pair (``annotation_key_counts``, ``annotation_counts``)
must equal what grouping the rows gives after inserts, re-registrations that
change tags, sizes, creators or annotations, deletions and concurrent
writers; an unfiltered list longer than the id cache takes its total from
them and reads no ids to page, and a summary and unfiltered annotation
facets are read from them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select

from lookup_events.model import record_from_info
from lookup_events.store import open_stores, upgrade_database
from lookup_events.store.protocols import PageRequest, SearchQuery
from lookup_events.store.sql.datasets import SqlDatasetStore
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.schema import (
    annotation_counts,
    annotation_key_counts,
    dataset_annotations,
    dataset_counts,
    dataset_tags,
    datasets,
    summary_counts,
)
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.schema import count_table
from tests.support.stores import settings_for

BOTH = (MR_MEN, SNOW_WHITE)


def infos(numbers: range, base_uri: str = MR_MEN) -> list[Any]:
    return [record_from_info(make_info(i, base_uri, items=1)) for i in numbers]


def kept_and_counted(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Return the kept counts (zeros left out) and the rows' own counts, by base URI."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            kept = dict(conn.execute(select(dataset_counts)).all())
            rows = select(datasets.c.base_uri, func.count()).group_by(datasets.c.base_uri)
            found = dict(conn.execute(rows).all())
    finally:
        engine.dispose()
    return {uri: n for uri, n in kept.items() if n}, found


Facets = dict[tuple[str, str, str], tuple[int, int]]


def kept_and_grouped_facets(url: str) -> tuple[Facets, Facets]:
    """Return the kept summary counts and the rows' own, by (base URI, facet, value)."""
    engine = create_engine(url)
    size = func.coalesce(func.sum(datasets.c.size_in_bytes), 0)
    by_creator = select(datasets.c.base_uri, datasets.c.creator_username, func.count(), size)
    tag_size = func.coalesce(func.sum(dataset_tags.c.size_in_bytes), 0)
    by_tag = select(dataset_tags.c.base_uri, dataset_tags.c.tag, func.count(), tag_size)
    try:
        with engine.connect() as conn:
            kept = {(b, f, v): (n, s) for b, f, v, n, s in conn.execute(select(summary_counts))}
            grouped = {
                (b, "creator", v): (n, s)
                for b, v, n, s in conn.execute(
                    by_creator.group_by(*by_creator.selected_columns[:2])
                )
            }
            grouped.update(
                ((b, "tag", v), (n, s))
                for b, v, n, s in conn.execute(by_tag.group_by(*by_tag.selected_columns[:2]))
            )
    finally:
        engine.dispose()
    return kept, grouped


def kept_and_grouped_pairs(url: str) -> tuple[dict[Any, int], dict[Any, int]]:
    """Return the kept annotation counts and the rows' own, by (base URI, key[, value])."""
    engine = create_engine(url)
    a = dataset_annotations.c
    by_pair = select(a.base_uri, a.key, a.value, func.count()).group_by(a.base_uri, a.key, a.value)
    by_key = select(a.base_uri, a.key, func.count()).group_by(a.base_uri, a.key)
    kept_tables = (select(annotation_counts), select(annotation_key_counts))
    try:
        with engine.connect() as conn:
            kept = {tuple(r[:-1]): r[-1] for t in kept_tables for r in conn.execute(t)}
            grouped = {tuple(r[:-1]): r[-1] for g in (by_pair, by_key) for r in conn.execute(g)}
    finally:
        engine.dispose()
    return kept, grouped


def facets_of(pairs: dict[Any, int], key: str) -> tuple[dict[str, int], dict[str, int]]:
    """Return the key facet and ``key``'s value facet that grouped ``pairs`` give."""
    keys: dict[str, int] = {}
    values: dict[str, int] = {}
    for row, count in pairs.items():
        if len(row) == 2:  # (base URI, key)
            keys[row[1]] = keys.get(row[1], 0) + count
        elif row[1] == key:
            values[row[2]] = values.get(row[2], 0) + count
    return dict(sorted(keys.items())), dict(sorted(values.items()))


def summary_of(facets: Facets) -> dict[str, Any]:
    """Return the summary fields the grouped ``facets`` give, to compare with the store's."""
    fields: dict[str, dict[str, int]] = {}

    def add(name: str, key: str, amount: int) -> None:
        fields.setdefault(name, {})[key] = fields.get(name, {}).get(key, 0) + amount

    for (base_uri, facet, value), (count, size) in sorted(facets.items()):
        add(f"datasets_per_{facet}", value, count)
        add(f"size_in_bytes_per_{facet}", value, size)
        if facet == "creator":  # every dataset has one creator: these add up to its base URI
            add("datasets_per_base_uri", base_uri, count)
            add("size_in_bytes_per_base_uri", base_uri, size)
    fields["number_of_datasets"] = sum(fields.get("datasets_per_base_uri", {}).values())
    fields["total_size_in_bytes"] = sum(fields.get("size_in_bytes_per_base_uri", {}).values())
    return fields


def changed(i: int, base_uri: str = MR_MEN, **fields: Any) -> Any:
    """Return dataset ``i`` registered again with ``fields`` (and 5 items) changed."""
    return record_from_info({**make_info(i, base_uri, items=5), **fields})


@pytest.fixture
def store(database_url: str) -> Iterator[SqlDatasetStore]:
    opened = SqlDatasetStore(make_engine(database_url))  # as the server opens it: cascades on
    yield opened
    opened.close()


def test_every_kind_of_write_keeps_the_counts_exact(
    store: SqlDatasetStore, database_url: str
) -> None:
    steps = [
        lambda: store.upsert_many(infos(range(30)) + infos(range(30, 40), SNOW_WHITE)),
        lambda: store.upsert_many(infos(range(25, 35))),  # 5 again, 5 new
        lambda: store.upsert(infos(range(3, 4), SNOW_WHITE)[0]),  # a copy elsewhere
        lambda: store.upsert(infos(range(3, 4))[0]),  # registered again
        lambda: store.delete(infos(range(7, 8))[0].uri),
        lambda: store.delete(infos(range(7, 8))[0].uri),  # gone already
        lambda: store.delete_base_uri(SNOW_WHITE),
    ]
    expected = [{MR_MEN: 30, SNOW_WHITE: 10}, {MR_MEN: 35, SNOW_WHITE: 10}]
    expected += [{MR_MEN: 35, SNOW_WHITE: 11}] * 2 + [{MR_MEN: 34, SNOW_WHITE: 11}] * 2
    expected += [{MR_MEN: 34}]
    for step, counts in zip(steps, expected, strict=True):
        step()
        assert kept_and_counted(database_url) == (counts, counts)
        assert store.search(SearchQuery(BOTH), PageRequest(1, 5)).total == sum(counts.values())


def test_every_kind_of_write_keeps_the_summary_and_annotation_counts_exact(
    store: SqlDatasetStore, database_url: str
) -> None:
    steps = [
        lambda: store.upsert_many(infos(range(30)) + infos(range(30, 40), SNOW_WHITE)),
        lambda: store.upsert_many(infos(range(25, 35))),  # 5 again, 5 new
        lambda: store.upsert(changed(3, tags=["tag1", "renamed"])),  # tags and size
        lambda: store.upsert(changed(4, creator_username="someone-else", tags=[])),
        lambda: store.upsert_many([changed(5, tags=["only"]), changed(6), *infos(range(7, 9))]),
        lambda: store.upsert(changed(8, annotations={"group": "moved", "new": True})),
        lambda: store.upsert(infos(range(3, 4), SNOW_WHITE)[0]),  # a copy elsewhere
        lambda: store.delete(infos(range(4, 5))[0].uri),  # someone-else's only dataset
        lambda: store.delete(infos(range(4, 5))[0].uri),  # gone already
        lambda: store.delete_base_uri(SNOW_WHITE),
        lambda: store.delete_base_uri(MR_MEN),
    ]
    for number, step in enumerate(steps):
        step()
        kept, grouped = kept_and_grouped_facets(database_url)
        assert kept == grouped, f"after step {number}"
        summary = store.summary(BOTH)
        expected = summary_of(grouped)
        assert {name: getattr(summary, name) for name in expected} == expected
        kept_pairs, grouped_pairs = kept_and_grouped_pairs(database_url)
        assert kept_pairs == grouped_pairs, f"after step {number}"
        keys, groups = facets_of(grouped_pairs, "group")
        assert store.annotation_keys(SearchQuery(BOTH)) == keys
        values = store.annotation_values(SearchQuery(BOTH, annotation_keys=("group",)))
        assert values == ({"group": groups} if groups else {})
    assert store.summary(BOTH).number_of_datasets == 0


def test_an_unfiltered_list_past_the_cache_pages_without_reading_its_ids(
    database_url: str, store: SqlDatasetStore
) -> None:
    store.upsert_many(infos(range(60)) + infos(range(60, 90), SNOW_WHITE))
    capped = SqlDatasetStore(create_engine(database_url), max_cached_ids=20)
    limits: list[Any] = []
    event.listen(
        capped._read_engine,  # type: ignore[attr-defined]
        "before_cursor_execute",
        lambda conn, cursor, statement, parameters, context, many: limits.append(parameters),
    )
    try:
        for page in (PageRequest(1, 10), PageRequest(9, 10), PageRequest(3, 7)):
            expected = store.search(SearchQuery(BOTH), page)
            assert capped.search(SearchQuery(BOTH), page) == expected
            assert capped.search(SearchQuery((SNOW_WHITE,)), page) == store.search(
                SearchQuery((SNOW_WHITE,)), page
            )
    finally:
        capped.close()
    assert not [p for p in limits if 21 in (p.values() if isinstance(p, dict) else p)]


@pytest.mark.postgres
def test_concurrent_writers_count_every_new_dataset_once(postgres_url_migrated: str) -> None:
    url = postgres_url_migrated
    stores = [SqlDatasetStore(create_engine(url)) for _ in range(3)]
    failures: list[BaseException] = []

    def register(store: SqlDatasetStore, start: int) -> None:
        try:
            for first in range(start, start + 120, 12):
                store.upsert_many(infos(range(first, first + 12)) + infos(range(5), SNOW_WHITE))
        except BaseException as error:
            failures.append(error)

    threads = [
        threading.Thread(target=register, args=(store, 1000 * n)) for n, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert failures == []
    expected = {MR_MEN: 360, SNOW_WHITE: 5}
    assert kept_and_counted(url) == (expected, expected)
    kept, grouped = kept_and_grouped_facets(url)
    assert kept == grouped
    assert kept[(SNOW_WHITE, "tag", "tag0")] == (2, 2 * 1000)  # make_info: items=1
    kept_pairs, grouped_pairs = kept_and_grouped_pairs(url)
    assert kept_pairs == grouped_pairs
    assert kept_pairs[(SNOW_WHITE, "group", '"group0"')] == 1


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_upgrading_to_0018_0019_and_0020_counts_the_datasets_there(
    dialect: str, new_postgres_database: str, tmp_path: Path
) -> None:
    url = new_postgres_database if dialect == "postgresql" else f"sqlite:///{tmp_path}/old.db"
    upgrade_database(url, "0017")
    with count_table(url):
        stores = open_stores(settings_for(url, tmp_path))
        try:
            stores.datasets.upsert_many(infos(range(40)) + infos(range(40, 55), SNOW_WHITE))
        finally:
            stores.close()

    upgrade_database(url)

    assert kept_and_counted(url) == ({MR_MEN: 40, SNOW_WHITE: 15},) * 2
    kept, grouped = kept_and_grouped_facets(url)
    assert kept == grouped
    assert sum(n for (_, facet, _), (n, _) in kept.items() if facet == "creator") == 55
    kept_pairs, grouped_pairs = kept_and_grouped_pairs(url)
    assert kept_pairs == grouped_pairs
    assert sum(n for row, n in kept_pairs.items() if row[1:] == ("index",)) == 55

"""DatasetStore contract: every dataset-store backend must pass it.

Runs on SQLite, PostgreSQL, mongomock and (with ``DTOOL_LOOKUP_TEST_MONGO_URI``)
a real MongoDB. Tests that search free text run only on ``TEXT_BACKEND_PARAMS``:
mongomock cannot execute ``$text``; ``mongo/test_query.py`` checks the query
documents the MongoDB store sends instead.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lookup_events.errors import DatabaseUnavailable, InvalidDataset
from lookup_events.model import (
    STAMP,
    DatasetCard,
    DatasetRecord,
    record_from_info,
    record_read,
)
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.protocols import PageRequest, SearchQuery, SortKey, Summary
from tests.support.data import (
    BAD_APPLES_UUID,
    FROZEN_AT,
    MR_MEN,
    ORANGES_UUID,
    SNOW_WHITE,
    anchor_records,
    bad_apples,
    load_anchor_data,
    make_info,
)
from tests.support.stores import TEXT_BACKEND_PARAMS, StoreBackend, settings_for

BOTH = (SNOW_WHITE, MR_MEN)
ALL = PageRequest(1, 1000)
# Direct parametrisation overrides the ``dataset_backend`` fixture's backends.
needs_text = pytest.mark.parametrize("dataset_backend", TEXT_BACKEND_PARAMS)


@pytest.fixture
def stores(backend: StoreBackend) -> Iterator[Stores]:
    """Open empty stores on each dataset-store backend; close them afterwards."""
    opened = backend.open()
    yield opened
    opened.close()


def found(stores: Stores, **criteria: Any) -> list[str]:
    """Return the URIs a search over both anchor base URIs finds."""
    criteria.setdefault("base_uris", BOTH)
    page = stores.datasets.search(SearchQuery(**criteria), ALL)
    assert page.total == len(page.items)
    return [entry.uri for entry in page.items]


def text_hits(stores: Stores, free_text: str) -> int:
    """Return how many anchor datasets a free-text search finds."""
    return len(found(stores, free_text=free_text))


@pytest.fixture
def anchored(stores: Stores) -> Stores:
    """Stores holding the anchor test suite's users, base URIs and datasets."""
    load_anchor_data(stores)
    return stores


def changed_bad_apples() -> DatasetRecord:
    """Return bad-apples in s3://snow-white with every field changed."""
    info = bad_apples(SNOW_WHITE)
    info.update(
        name="good-pears",
        readme="---\ndescription: pears from the king",
        creator_username="king",
        frozen_at=1700000000.654321,
        created_at=1690000000.000001,
        annotations={"type": "vegetable", "count": 3},
        tags=["tasty"],
        size_in_bytes=42,
        number_of_items=7,
        dtoolcore_version="3.19.0",
    )
    info["manifest"]["items"] = {"abc": {"relpath": "pears.txt", "size_in_bytes": 42}}
    return record_from_info(info)


# --- writing ---------------------------------------------------------------------------------


def test_upsert_new_then_get_returns_every_field(stores: Stores) -> None:
    record = changed_bad_apples()
    assert stores.datasets.upsert(record) is True
    assert stores.datasets.get(record.uri) == record


def test_upsert_replaces_every_field_and_the_tags(anchored: Stores) -> None:
    new = changed_bad_apples()
    assert anchored.datasets.upsert(new) is False

    assert anchored.datasets.get(new.uri) == new
    assert found(anchored, tags=("evil",)) == [f"{MR_MEN}/{BAD_APPLES_UUID}"]
    assert found(anchored, tags=("tasty",)) == [new.uri]
    assert found(anchored, creator_usernames=("king",)) == [new.uri]
    [entry] = anchored.datasets.search(SearchQuery(BOTH, uuids=(BAD_APPLES_UUID,)), ALL).items[:1]
    assert entry == new.entry
    summary = anchored.datasets.summary(BOTH)
    assert summary.datasets_per_creator == {"king": 1, "queen": 2}
    assert summary.datasets_per_tag == {"evil": 1, "fruit": 2, "good": 1, "tasty": 1}
    assert summary.size_in_bytes_per_base_uri == {MR_MEN: 5741810, SNOW_WHITE: 42}


@needs_text
def test_upsert_replaces_the_searchable_text(anchored: Stores) -> None:
    new = changed_bad_apples()
    anchored.datasets.upsert(new)
    assert found(anchored, free_text="pears") == [new.uri]
    assert found(anchored, free_text="U00096") == [f"{MR_MEN}/{BAD_APPLES_UUID}"]


def test_reregistration_keeps_registration_order(anchored: Stores) -> None:
    anchored.datasets.upsert(changed_bad_apples())
    assert found(anchored)[0] == f"{SNOW_WHITE}/{BAD_APPLES_UUID}"


def test_upsert_many_counts_unique_uris_last_one_wins(stores: Stores) -> None:
    first, changed = anchor_records()[0], changed_bad_apples()
    records = [first, *anchor_records()[1:], changed]
    assert stores.datasets.upsert_many(records) == 3
    assert stores.datasets.get(first.uri) == changed
    assert stores.datasets.upsert_many([]) == 0
    assert stores.datasets.search(SearchQuery(BOTH), ALL).total == 3


def test_delete_removes_the_record_everywhere(anchored: Stores) -> None:
    uri = f"{SNOW_WHITE}/{ORANGES_UUID}"
    assert anchored.datasets.delete(uri) is True
    assert anchored.datasets.delete(uri) is False
    assert anchored.datasets.get(uri) is None
    assert found(anchored, tags=("good",)) == []
    assert anchored.datasets.summary(BOTH).number_of_datasets == 2
    assert "good" not in anchored.datasets.summary(BOTH).datasets_per_tag


@needs_text
def test_delete_removes_the_record_from_free_text(anchored: Stores) -> None:
    assert found(anchored, free_text="crazystuff") == [f"{SNOW_WHITE}/{ORANGES_UUID}"]
    anchored.datasets.delete(f"{SNOW_WHITE}/{ORANGES_UUID}")
    assert found(anchored, free_text="crazystuff") == []


def test_delete_base_uri_removes_only_its_records(anchored: Stores) -> None:
    assert anchored.datasets.delete_base_uri(SNOW_WHITE) == 2
    assert anchored.datasets.delete_base_uri(SNOW_WHITE) == 0
    assert found(anchored) == [f"{MR_MEN}/{BAD_APPLES_UUID}"]
    assert anchored.datasets.summary(BOTH).datasets_per_tag == {"evil": 1, "fruit": 1}


def test_get_missing_returns_none(anchored: Stores) -> None:
    assert anchored.datasets.get(f"{SNOW_WHITE}/dontexist") is None
    assert anchored.datasets.card(f"{SNOW_WHITE}/dontexist") is None
    assert anchored.datasets.manifest_json(f"{SNOW_WHITE}/dontexist") is None


def test_a_card_and_the_manifest_json_are_the_record_in_parts(stores: Stores) -> None:
    record = changed_bad_apples()
    odd = {"relpath": 'data/ümlaut "quoted".csv', "hash": "x", "size_in_bytes": 2**40}
    record.manifest["items"]["f" * 40] = {**odd, "utc_timestamp": 1.5}
    stores.datasets.upsert(record)

    assert stores.datasets.card(record.uri) == DatasetCard(
        record.entry, record.readme, record.annotations
    )
    text = stores.datasets.manifest_json(record.uri)
    assert text is not None and json.loads(text) == record.manifest


def test_frozen_at_by_uri(anchored: Stores) -> None:
    assert anchored.datasets.frozen_at_by_uri(SNOW_WHITE) == {
        f"{SNOW_WHITE}/{BAD_APPLES_UUID}": FROZEN_AT,
        f"{SNOW_WHITE}/{ORANGES_UUID}": FROZEN_AT,
    }
    assert anchored.datasets.frozen_at_by_uri("s3://elsewhere") == {}


def test_stamps_by_uri_holds_what_the_registrar_read(stores: Stores) -> None:
    stamped = record_read({**make_info(1, SNOW_WHITE), STAMP: "listed-once"})
    unstamped = record_read(make_info(2, SNOW_WHITE))
    stores.datasets.upsert_many([stamped, unstamped])
    assert stores.datasets.stamps_by_uri(SNOW_WHITE) == {
        stamped.uri: "listed-once",
        unstamped.uri: None,
    }
    assert stored_extra(stores, stamped.uri) == {}  # the stamp is no metadata of the dataset
    # A document sent over HTTP carries no stamp, whatever it says: read again at a rescan.
    stores.datasets.upsert(record_from_info({**make_info(1, SNOW_WHITE), STAMP: "forged"}))
    assert stores.datasets.stamps_by_uri(SNOW_WHITE)[stamped.uri] is None
    assert stores.datasets.stamps_by_uri("s3://elsewhere") == {}


def stored_extra(stores: Stores, uri: str) -> dict[str, object]:
    """Return the ``extra`` of the stored record of ``uri``."""
    record = stores.datasets.get(uri)
    assert record is not None
    return dict(record.entry.extra)


def test_timestamps_keep_microseconds(stores: Stores) -> None:
    info = make_info(1, SNOW_WHITE)
    info.update(frozen_at=1536238185.881941, created_at=1700000000.000001)
    stores.datasets.upsert(record_from_info(info))
    [entry] = stores.datasets.search(SearchQuery((SNOW_WHITE,)), ALL).items
    assert (entry.frozen_at, entry.created_at) == (1536238185.881941, 1700000000.000001)


def test_annotation_and_extra_json_types_round_trip(stores: Stores) -> None:
    annotations = {
        "int": 1,
        "float": 1.0,
        "big": 2**53,
        "bool": True,
        "null": None,
        "list": [1, "a", False, 2.5],
        "nested": {"x": {"y": [{"z": "deep"}]}},
        "unicode": "Grüße ☃",
    }
    info = make_info(1, SNOW_WHITE)
    info.update(annotations=annotations, dtoolcore_version="3.19.0", flag=True, ratio=0.5)
    record = record_from_info(info)
    stores.datasets.upsert(record)
    got = stores.datasets.get(record.uri)
    assert got is not None
    assert got.annotations == annotations
    assert type(got.annotations["float"]) is float and type(got.annotations["int"]) is int
    assert got.annotations["bool"] is True
    assert got.entry.extra == {"dtoolcore_version": "3.19.0", "flag": True, "ratio": 0.5}


# --- searching -------------------------------------------------------------------------------


def test_search_filters_as_the_anchor_does(anchored: Stores) -> None:
    assert len(found(anchored)) == 3
    assert found(anchored, base_uris=()) == []
    assert len(found(anchored, base_uris=(SNOW_WHITE,))) == 2
    assert found(anchored, base_uris=("s3://unknown",)) == []
    assert len(found(anchored, tags=("good",))) == 1
    assert found(anchored, tags=("good", "evil")) == []
    assert len(found(anchored, tags=("fruit", "evil"))) == 2
    assert len(found(anchored, creator_usernames=("queen", "nobody"))) == 3
    assert found(anchored, creator_usernames=("nobody",)) == []
    assert len(found(anchored, uuids=(BAD_APPLES_UUID,))) == 2
    assert len(found(anchored, uuids=(BAD_APPLES_UUID, ORANGES_UUID))) == 3
    assert found(anchored, uuids=(BAD_APPLES_UUID,), base_uris=(MR_MEN,)) == [
        f"{MR_MEN}/{BAD_APPLES_UUID}"
    ]
    assert len(found(anchored, creator_usernames=(), uuids=(), tags=())) == 3


@needs_text
def test_free_text_combines_with_filters(anchored: Stores) -> None:
    assert len(found(anchored, free_text="crazystuff", tags=("good",))) == 1
    assert found(anchored, free_text="crazystuff", tags=("evil",)) == []
    assert found(anchored, free_text="apples", base_uris=(MR_MEN,)) == [
        f"{MR_MEN}/{BAD_APPLES_UUID}"
    ]
    assert found(anchored, free_text="apples", creator_usernames=("king",)) == []


@needs_text
def test_free_text_filters_follow_a_reregistration(anchored: Stores) -> None:
    new = changed_bad_apples()  # creator queen -> king, tags evil, fruit -> tasty
    anchored.datasets.upsert(new)

    assert found(anchored, free_text="pears", creator_usernames=("king",)) == [new.uri]
    assert found(anchored, free_text="pears", creator_usernames=("queen",)) == []
    assert found(anchored, free_text="pears", tags=("tasty",)) == [new.uri]
    assert found(anchored, free_text="pears", tags=("evil",)) == []
    assert found(anchored, free_text="pears", base_uris=(SNOW_WHITE,)) == [new.uri]
    assert found(anchored, free_text="pears", base_uris=(MR_MEN,)) == []


@needs_text
def test_free_text_filters_with_several_values(anchored: Stores) -> None:
    anchored.datasets.upsert(changed_bad_apples())
    many = (SNOW_WHITE, MR_MEN, "s3://a", "s3://b", "s3://c")  # more than the index narrows

    assert len(found(anchored, free_text="apples pears", creator_usernames=("queen", "king"))) == 2
    assert len(found(anchored, free_text="apples pears", base_uris=many)) == 2
    assert found(anchored, free_text="pears", base_uris=many, tags=("tasty",)) == [
        changed_bad_apples().uri
    ]
    assert found(anchored, free_text="apples", tags=("fruit", "evil")) == [
        f"{MR_MEN}/{BAD_APPLES_UUID}"
    ]


def test_lookup_of_a_uuid_pages_and_sorts(anchored: Stores) -> None:
    query = SearchQuery(BOTH, uuids=(BAD_APPLES_UUID,))
    first = anchored.datasets.search(query, PageRequest(1, 1), [SortKey("base_uri", True)])
    second = anchored.datasets.search(query, PageRequest(2, 1), [SortKey("base_uri", True)])

    assert (first.total, second.total) == (2, 2)
    assert [e.base_uri for e in (*first.items, *second.items)] == [SNOW_WHITE, MR_MEN]
    assert found(anchored, uuids=(BAD_APPLES_UUID,), creator_usernames=("nobody",)) == []


@pytest.mark.parametrize(
    ("free_text", "hits"),
    [
        ("apple", 2),  # README says "apples": English stemming
        ("APPLES", 2),
        ("U00096", 2),  # a token of manifest relpath U00096.3.rev.1.bt2
        ("crazystuff", 1),  # annotation value
        ("evil", 2),  # tag
        ("queen", 3),  # creator
        ("oranges", 1),  # name and README
        ("apple crazystuff", 3),  # terms are OR-ed
        ('"apples from queen"', 2),  # phrase
        ('"queen from apples"', 0),
        ('"from queen" "oranges"', 1),  # phrases are AND-ed
        ('"oranges from" apple', 1),  # a phrase stops terms widening the match
        ("fruit -evil", 1),  # exclusion
        ('queen -"apples from"', 1),  # excluded phrase
        ("-evil", 0),  # nothing positive matches nothing
        ("", 0),
        ("   ", 0),
    ],
)
@needs_text
def test_free_text_follows_mongodb_rules(anchored: Stores, free_text: str, hits: int) -> None:
    assert text_hits(anchored, free_text) == hits


@needs_text
def test_free_text_finds_nested_annotation_values(stores: Stores) -> None:
    info = make_info(1, SNOW_WHITE)
    info["annotations"] = {"deep": {"list": [{"key": "needleinhaystack"}]}}
    stores.datasets.upsert(record_from_info(info))
    assert found(stores, free_text="needleinhaystack") == [info["uri"]]


@pytest.mark.parametrize(
    "hostile",
    [
        'bad"quote',
        "*",
        "NEAR(",
        "a OR",
        "'",
        "\\",
        "AND",
        "NOT apple",
        "^x",
        "é ☃ 字",
        '"',
        "-",
        "a:b",
    ],
)
@needs_text
def test_free_text_never_raises_on_hostile_input(anchored: Stores, hostile: str) -> None:
    found(anchored, free_text=hostile)


def test_paging_totals_and_pages_beyond_the_end(stores: Stores) -> None:
    records = [record_from_info(make_info(i, SNOW_WHITE)) for i in range(25)]
    stores.datasets.upsert_many(records)
    query = SearchQuery((SNOW_WHITE,))
    pages = [stores.datasets.search(query, PageRequest(n, 10)) for n in (1, 2, 3, 4)]
    assert [page.total for page in pages] == [25, 25, 25, 25]
    assert [len(page.items) for page in pages] == [10, 10, 5, 0]
    assert [e.uri for page in pages for e in page.items] == [r.uri for r in records]


@needs_text
def test_free_text_paging_totals(stores: Stores) -> None:
    stores.datasets.upsert_many([record_from_info(make_info(i, SNOW_WHITE)) for i in range(25)])
    text_query = SearchQuery((SNOW_WHITE,), free_text="synthetic")
    assert stores.datasets.search(text_query, PageRequest(9, 3)).total == 25
    assert stores.datasets.search(text_query, PageRequest(10, 3)).total == 25


def _sort_records() -> list[DatasetRecord]:
    names = ["beta", "Zeta", "alpha", "beta", "_under", "Alpha", "gamma", "beta"]
    records = []
    for i, name in enumerate(names):
        info = make_info(i * 7 % 8, SNOW_WHITE if i % 3 else MR_MEN)
        info.update(
            name=name, frozen_at=1600000000.5 + (i * 5 % 8), created_at=1500000000.0 + i // 2
        )
        records.append(record_from_info(info))
    return records


@pytest.mark.parametrize(
    "field",
    sorted(["base_uri", "created_at", "creator_username", "frozen_at", "name", "uri", "uuid"]),
)
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_sort_by_every_field_both_ways(stores: Stores, field: str, descending: bool) -> None:
    records = _sort_records()
    for record in records:
        stores.datasets.upsert(record)
    page = stores.datasets.search(SearchQuery(BOTH), ALL, [SortKey(field, descending)])
    entries = [r.entry for r in records]
    expected = sorted(entries, key=lambda e: getattr(e, field), reverse=descending)
    assert [e.uri for e in page.items] == [e.uri for e in expected]


def test_sort_by_several_keys_as_dserver(anchored: Stores) -> None:
    sort = [SortKey("name"), SortKey("base_uri", descending=True)]
    assert found_sorted(anchored, sort) == [
        "bad-apples@snow-white",
        "bad-apples@mr-men",
        "oranges",
    ]
    sort = [SortKey("uuid", descending=True), SortKey("uri")]
    assert found_sorted(anchored, sort, PageRequest(1, 2)) == [
        "bad-apples@mr-men",
        "bad-apples@snow-white",
    ]
    assert found_sorted(anchored, sort, PageRequest(2, 2)) == ["oranges"]


def found_sorted(stores: Stores, sort: list[SortKey], page: PageRequest = ALL) -> list[str]:
    """Return ``name@bucket`` (just ``name`` for oranges) of a sorted search."""
    result = stores.datasets.search(SearchQuery(BOTH), page, sort)
    return [e.name if e.name == "oranges" else f"{e.name}@{e.base_uri[5:]}" for e in result.items]


def test_sort_by_an_unknown_field_is_refused(anchored: Stores) -> None:
    with pytest.raises(ValueError, match="readme"):
        anchored.datasets.search(SearchQuery(BOTH), ALL, [SortKey("readme")])


# --- summary ---------------------------------------------------------------------------------


def test_summary_matches_the_anchor_figures(anchored: Stores) -> None:
    assert anchored.datasets.summary([MR_MEN, SNOW_WHITE, SNOW_WHITE]) == Summary(
        number_of_datasets=3,
        datasets_per_creator={"queen": 3},
        datasets_per_base_uri={MR_MEN: 1, SNOW_WHITE: 2},
        datasets_per_tag={"evil": 2, "fruit": 3, "good": 1},
        total_size_in_bytes=11483620,
        size_in_bytes_per_creator={"queen": 11483620},
        size_in_bytes_per_base_uri={MR_MEN: 5741810, SNOW_WHITE: 5741810},
        size_in_bytes_per_tag={"evil": 11483620, "fruit": 11483620, "good": 0},
    )


def test_summary_of_nothing_is_empty(anchored: Stores) -> None:
    assert anchored.datasets.summary([]) == Summary()
    assert anchored.datasets.summary(["s3://unknown"]) == Summary()


def test_summary_of_one_base_uri(anchored: Stores) -> None:
    summary = anchored.datasets.summary([MR_MEN])
    assert dataclasses.astuple(summary) == (
        1,
        {"queen": 1},
        {MR_MEN: 1},
        {"evil": 1, "fruit": 1},
        5741810,
        {"queen": 5741810},
        {MR_MEN: 5741810},
        {"evil": 5741810, "fruit": 5741810},
    )


# --- caches and failures ---------------------------------------------------------------------


def test_writes_invalidate_cached_reads_in_another_process(
    anchored: Stores, backend: StoreBackend
) -> None:
    other = backend.open()
    try:
        assert other.datasets.summary(BOTH).number_of_datasets == 3
        assert other.datasets.search(SearchQuery(BOTH), PageRequest(1, 2)).total == 3
        anchored.datasets.upsert(record_from_info(make_info(1, MR_MEN)))
        assert other.datasets.summary(BOTH).number_of_datasets == 4
        assert other.datasets.search(SearchQuery(BOTH), PageRequest(1, 2)).total == 4
        anchored.datasets.delete_base_uri(MR_MEN)
        assert other.datasets.summary(BOTH).number_of_datasets == 2
        assert len(other.datasets.search(SearchQuery(BOTH), PageRequest(1, 2)).items) == 2
    finally:
        other.close()


def closed_port() -> int:
    """Return a local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_postgres_raises_store_unavailable(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/nothing"
    stores = open_stores(settings_for(url, tmp_path))
    try:
        with pytest.raises(DatabaseUnavailable):
            stores.datasets.search(SearchQuery(BOTH), ALL)
        with pytest.raises(DatabaseUnavailable):
            stores.datasets.upsert(anchor_records()[0])
        with pytest.raises(DatabaseUnavailable):
            stores.admin.get_user("grumpy")
    finally:
        stores.close()
    with pytest.raises(DatabaseUnavailable):
        upgrade_database(url)


def test_a_mongodb_admin_store_is_refused_clearly(tmp_path: Path) -> None:
    settings = settings_for("mongodb://localhost/x", tmp_path)
    with pytest.raises(ValueError, match=r"admin store .* needs an SQL URL"):
        open_stores(settings)


def test_oversized_values_are_stored_or_refused_as_invalid(stores: Stores) -> None:
    info = make_info(1, SNOW_WHITE)
    info["name"] = "n" * 5000
    info["tags"] = ["é" * 3000]
    record = record_from_info(info)
    try:
        stores.datasets.upsert(record)
    except InvalidDataset:
        assert stores.datasets.get(record.uri) is None
    else:
        assert stores.datasets.get(record.uri) == record


@pytest.mark.slow
def test_upsert_many_replaces_large_batches(stores: Stores, dataset_backend: str) -> None:
    # NOTE(dev): past the SQL stores' 500-row chunks; mongomock checks every upsert
    # against every document (quadratic: 23 s at 1,200), and MongoDB has no chunk to cross.
    size = 600 if dataset_backend == "mongomock" else 1200
    infos = [make_info(i, SNOW_WHITE, items=1) for i in range(size)]
    assert stores.datasets.upsert_many([record_from_info(info) for info in infos]) == size
    for info in infos:
        info["tags"] = ["replaced"]
    assert stores.datasets.upsert_many([record_from_info(info) for info in infos]) == size
    summary = stores.datasets.summary([SNOW_WHITE])
    assert (summary.number_of_datasets, summary.datasets_per_tag) == (size, {"replaced": size})

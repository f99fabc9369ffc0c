"""A structured query over every base URI in use takes its ids from the field rows alone.

Whether the caller's base URIs hold every dataset is cached per store
revision; the statement checks it again in its own snapshot, so a base URI
the caller may not see never adds to what they are shown or counted, even
when the cached answer is out of date.
"""

from __future__ import annotations

from typing import Any

import pytest

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest
from lookup_events.store.structured import StructuredQuery, parse_filter
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.stores import Capture

REVIEW = {"annotations.status": "needs-review"}


def register(
    stores: Stores, i: int, base_uri: str, status: str, tags: tuple[str, ...] = ()
) -> str:
    info = make_info(i, base_uri)
    info["annotations"] = {"status": status}
    info["tags"] = list(tags)
    stores.datasets.upsert(record_from_info(info))
    return f"{base_uri}/{info['uuid']}"


def search(stores: Stores, base_uris: tuple[str, ...], document: dict[str, Any]) -> Any:
    query = StructuredQuery(base_uris, parse_filter(document))
    return stores.datasets.structured_search(query, PageRequest(1, 100))


def id_statements(
    stores: Stores, base_uris: tuple[str, ...], document: dict[str, Any]
) -> tuple[Any, list[str]]:
    """Return ``search``'s page and the statements it sent that read field rows."""
    with Capture() as capture:
        page = search(stores, base_uris, document)
    return page, [
        " ".join(sql.split()) for sql, _ in capture.statements if "dataset_fields" in sql
    ]


def test_over_every_base_uri_the_ids_come_from_the_field_rows_alone(
    stores: Stores,
) -> None:
    review = [register(stores, i, MR_MEN, "needs-review") for i in range(3)]
    register(stores, 3, MR_MEN, "done")

    page, id_queries = id_statements(stores, (MR_MEN,), REVIEW)

    assert [entry.uri for entry in page.items] == review
    assert page.total == 3
    assert id_queries
    assert all(" FROM datasets" not in s for s in id_queries), id_queries


def test_a_base_uri_the_caller_may_not_see_keeps_the_probe_of_each_dataset(
    stores: Stores,
) -> None:
    seen = [register(stores, i, MR_MEN, "needs-review") for i in range(2)]
    register(stores, 2, SNOW_WHITE, "needs-review")

    page = search(stores, (MR_MEN,), REVIEW)

    assert [entry.uri for entry in page.items] == seen
    assert page.total == 2


def test_an_out_of_date_answer_about_base_uris_in_use_shows_and_counts_nothing_hidden(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NOTE(dev): what a cached answer says when a write in another base URI
    # lands between it and the query: the statement must catch that itself.
    seen = [register(stores, i, MR_MEN, "needs-review") for i in range(2)]
    register(stores, 2, SNOW_WHITE, "needs-review")
    monkeypatch.setattr(
        stores.datasets, "_base_uris_in_use", lambda _revision: frozenset({MR_MEN})
    )

    page = search(stores, (MR_MEN,), REVIEW)

    assert [entry.uri for entry in page.items] == seen
    assert page.total == 2


def test_tests_anded_over_several_paths_are_answered_from_the_field_rows_too(
    stores: Stores,
) -> None:
    wanted = register(stores, 0, MR_MEN, "needs-review", ("raw", "microscopy"))
    register(stores, 1, MR_MEN, "needs-review", ("processed",))
    register(stores, 2, MR_MEN, "done", ("raw",))
    register(stores, 3, MR_MEN, "needs-review", ())

    page, id_queries = id_statements(
        stores, (MR_MEN,), {**REVIEW, "tags": "raw", "readme.project": "project0"}
    )

    assert ([entry.uri for entry in page.items], page.total) == ([wanted], 1)
    assert id_queries
    assert all(" FROM datasets" not in s for s in id_queries), id_queries


def test_an_or_of_row_tests_is_one_pass_over_the_field_rows(
    stores: Stores,
) -> None:
    reviewed = register(stores, 0, MR_MEN, "needs-review")
    tagged = register(stores, 1, MR_MEN, "done", ("raw",))
    register(stores, 2, MR_MEN, "done", ("processed",))

    page, id_queries = id_statements(stores, (MR_MEN,), {"$or": [REVIEW, {"tags": "raw"}]})

    assert ([entry.uri for entry in page.items], page.total) == ([reviewed, tagged], 2)
    assert len(id_queries) == 1, id_queries
    assert " FROM datasets" not in id_queries[0]

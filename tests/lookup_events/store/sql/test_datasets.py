"""Re-registering datasets in the SQL store: unchanged parts are kept, changed ones replaced.

The SQL store skips rewriting a record's tag rows and free-text entry when
they did not change; these tests check that a mixed batch of unchanged and
changed records still leaves every filter, search and facet right.
"""

from __future__ import annotations

from typing import Any

from lookup_events.model import DatasetRecord, record_from_info
from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest, SearchQuery
from tests.support.data import MR_MEN, ORANGES_UUID, SNOW_WHITE, anchor_infos, load_anchor_data

BOTH = (SNOW_WHITE, MR_MEN)


def found(stores: Stores, **criteria: Any) -> list[str]:
    """Return the URIs of the datasets a search over both base URIs finds."""
    page = stores.datasets.search(SearchQuery(BOTH, **criteria), PageRequest(1, 100))
    return sorted(entry.uri for entry in page.items)


def records(**oranges: Any) -> list[DatasetRecord]:
    """Return the anchor records, the oranges one with ``oranges`` changed."""
    infos = anchor_infos()
    infos[2].update(oranges)
    return [record_from_info(info) for info in infos]


def test_reregistering_unchanged_records_keeps_them_whole(stores: Stores) -> None:
    load_anchor_data(stores)
    before = (found(stores, tags=("fruit",)), found(stores, free_text="queen"))
    summary = stores.datasets.summary(BOTH)

    assert stores.datasets.upsert_many(records()) == 3

    assert (found(stores, tags=("fruit",)), found(stores, free_text="queen")) == before
    assert stores.datasets.summary(BOTH) == summary
    assert [stores.datasets.get(r.uri) for r in records()] == records()


def test_a_batch_changing_one_record_changes_only_that_one(stores: Stores) -> None:
    load_anchor_data(stores)
    oranges = f"{SNOW_WHITE}/{ORANGES_UUID}"

    stores.datasets.upsert_many(records(tags=["sour"], readme="---\ndescription: lemons"))

    assert found(stores, tags=("sour",)) == [oranges]
    assert oranges not in found(stores, tags=("fruit",))
    assert found(stores, free_text="lemons") == [oranges]
    assert len(found(stores, free_text="apples")) == 2
    assert stores.datasets.summary(BOTH).datasets_per_tag == {"evil": 2, "fruit": 2, "sour": 1}


def test_a_new_size_alone_reaches_the_tag_facets(stores: Stores) -> None:
    load_anchor_data(stores)

    stores.datasets.upsert_many(records(size_in_bytes=1000))

    summary = stores.datasets.summary([SNOW_WHITE])
    assert summary.size_in_bytes_per_tag == {"evil": 5741810, "fruit": 5742810, "good": 1000}
    assert found(stores, tags=("good",)) == [f"{SNOW_WHITE}/{ORANGES_UUID}"]

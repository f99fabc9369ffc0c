"""Dependency graphs: the same graphs on every dataset-store backend.

Runs on SQLite, PostgreSQL, mongomock and (with ``DTOOL_LOOKUP_TEST_MONGO_URI``)
a real MongoDB, like the DatasetStore contract. The family: a grandparent,
a parent derived from it, two children of the parent (one in Mr Men's base
URI), a grandchild of that second child, a dataset linked to the parent by a
custom key, and an unrelated friend.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.dependencies import DEFAULT_KEYS
from lookup_events.store.protocols import GraphQuery, PageRequest
from tests.support.data import MR_MEN, SNOW_WHITE, make_info

BOTH = (SNOW_WHITE, MR_MEN)
ALL = PageRequest(1, 100)
NOWHERE = "0b7d1a40-0000-4000-8000-000000000000"


def uuid(i: int) -> str:
    """Return the UUID ``make_info`` gives dataset ``i``."""
    return str(make_info(i, SNOW_WHITE)["uuid"])


GRANDPARENT, PARENT, CHILD, OTHER_CHILD, GRANDCHILD, CUSTOM, FRIEND = (uuid(i) for i in range(7))
FAMILY: list[tuple[int, str, str, dict[str, Any]]] = [
    (0, SNOW_WHITE, "---\ndescription: grandparent\n", {}),
    (1, SNOW_WHITE, f"---\nderived_from:\n  uuid: {GRANDPARENT}\n", {}),
    (2, SNOW_WHITE, "---\ndescription: child\n", {"source_dataset_uuid": PARENT.upper()}),
    (3, MR_MEN, f"---\nderived_from:\n  - uuid: {PARENT}\n  - uuid: {NOWHERE}\n", {}),
    (4, SNOW_WHITE, f"---\nderived_from:\n  uuid: [{OTHER_CHILD}]\n", {}),
    (5, SNOW_WHITE, f"---\norigin: {PARENT}\n", {}),
    (6, SNOW_WHITE, "---\ndescription: friend\n", {}),
]


def record(i: int, base_uri: str, readme: str, annotations: dict[str, Any]) -> Any:
    """Return dataset ``i`` of ``base_uri`` with this README and these annotations."""
    info = make_info(i, base_uri)
    info.update(readme=readme, annotations=annotations)
    return record_from_info(info)


@pytest.fixture
def stores(backend: Any) -> Iterator[Stores]:
    """Open stores holding the family on each backend."""
    opened = backend.open()
    for row in FAMILY:
        opened.datasets.upsert(record(*row))
    yield opened
    opened.close()


def graph(
    stores: Stores,
    start: str,
    base_uris: tuple[str, ...] = BOTH,
    keys: tuple[str, ...] = DEFAULT_KEYS,
    page: PageRequest = ALL,
) -> dict[str, tuple[str, ...]]:
    """Return ``{uuid: derived_from}`` of a graph page, checking its order and total."""
    result = stores.datasets.dependency_graph(GraphQuery(start, keys, base_uris), page)
    found = [node.entry.uuid for node in result.items]
    assert found == sorted(found)
    if page == ALL:
        assert result.total == len(found)
    return {node.entry.uuid: node.derived_from for node in result.items}


def test_a_graph_holds_ancestors_and_descendants_with_their_parents(stores: Stores) -> None:
    assert graph(stores, CHILD) == {
        GRANDPARENT: (),
        PARENT: (GRANDPARENT,),
        CHILD: (PARENT,),
        OTHER_CHILD: (PARENT,),
        GRANDCHILD: (OTHER_CHILD,),
    }


def test_every_member_finds_the_same_graph(stores: Stores) -> None:
    members = [GRANDPARENT, PARENT, CHILD, OTHER_CHILD, GRANDCHILD]

    assert all(sorted(graph(stores, member)) == sorted(members) for member in members)


def test_a_walk_never_shows_or_passes_through_an_invisible_dataset(stores: Stores) -> None:
    assert graph(stores, CHILD, base_uris=(SNOW_WHITE,)) == {
        GRANDPARENT: (),
        PARENT: (GRANDPARENT,),
        CHILD: (PARENT,),
    }
    assert graph(stores, GRANDCHILD, base_uris=(SNOW_WHITE,)) == {GRANDCHILD: ()}


def test_an_invisible_or_unknown_start_gives_an_empty_graph(stores: Stores) -> None:
    assert graph(stores, OTHER_CHILD, base_uris=(SNOW_WHITE,)) == {}
    assert graph(stores, NOWHERE) == {}
    assert graph(stores, CHILD, base_uris=()) == {}


def test_keys_choose_the_links_walked(stores: Stores) -> None:
    assert graph(stores, PARENT, keys=("readme.origin",)) == {PARENT: (), CUSTOM: (PARENT,)}
    assert graph(stores, PARENT, keys=("annotations.source_dataset_uuid",)) == {
        PARENT: (),
        CHILD: (PARENT,),
    }
    assert graph(stores, PARENT, keys=("no.such.key",)) == {PARENT: ()}
    assert FRIEND not in graph(stores, PARENT, keys=(*DEFAULT_KEYS, "readme.origin"))


def test_a_graph_is_paged_by_uuid(stores: Stores) -> None:
    query = GraphQuery(CHILD, DEFAULT_KEYS, BOTH)
    first = stores.datasets.dependency_graph(query, PageRequest(1, 2))
    last = stores.datasets.dependency_graph(query, PageRequest(3, 2))

    assert [node.entry.uuid for node in first.items] == sorted(graph(stores, CHILD))[:2]
    assert [node.entry.uuid for node in last.items] == sorted(graph(stores, CHILD))[4:]
    assert first.total == last.total == 5


def test_re_registration_and_removal_change_the_edges(stores: Stores) -> None:
    stores.datasets.upsert(record(2, SNOW_WHITE, "---\nno: parents\n", {}))
    assert graph(stores, CHILD) == {CHILD: ()}

    stores.datasets.delete(f"{MR_MEN}/{OTHER_CHILD}")
    assert graph(stores, PARENT) == {GRANDPARENT: (), PARENT: (GRANDPARENT,)}

    stores.datasets.upsert(record(*FAMILY[3]))
    assert sorted(graph(stores, PARENT)) == sorted([GRANDPARENT, PARENT, OTHER_CHILD, GRANDCHILD])


def test_a_uuid_in_two_base_uris_is_one_node_with_its_smallest_uri(stores: Stores) -> None:
    stores.datasets.upsert(record(3, SNOW_WHITE, "---\nno: parents\n", {}))
    result = stores.datasets.dependency_graph(GraphQuery(PARENT, DEFAULT_KEYS, BOTH), ALL)

    node = next(node for node in result.items if node.entry.uuid == OTHER_CHILD)
    assert node.entry.uri == min(f"{MR_MEN}/{OTHER_CHILD}", f"{SNOW_WHITE}/{OTHER_CHILD}")
    # Only the Mr Men copy names the parent; its link still counts.
    assert node.derived_from == (PARENT,)
    # The Snow White copy names no parent: only its own grandchild is connected.
    assert graph(stores, OTHER_CHILD, base_uris=(SNOW_WHITE,)) == {
        OTHER_CHILD: (),
        GRANDCHILD: (OTHER_CHILD,),
    }


def test_cycles_end(stores: Stores) -> None:
    stores.datasets.upsert(record(0, SNOW_WHITE, f"---\nderived_from:\n  uuid: {CHILD}\n", {}))

    assert graph(stores, GRANDPARENT)[GRANDPARENT] == (CHILD,)
    assert len(graph(stores, GRANDPARENT)) == 5


def test_rebuilding_recomputes_the_same_links(stores: Stores) -> None:
    before = graph(stores, CHILD)

    assert stores.datasets.rebuild_dependencies() == len(FAMILY)
    assert graph(stores, CHILD) == before


def test_pages_of_one_graph_follow_writes(stores: Stores) -> None:
    query = GraphQuery(CHILD, DEFAULT_KEYS, BOTH)
    before = stores.datasets.dependency_graph(query, PageRequest(1, 2))
    stores.datasets.delete(f"{MR_MEN}/{OTHER_CHILD}")
    after = stores.datasets.dependency_graph(query, PageRequest(2, 2))

    assert (before.total, after.total) == (5, 3)
    assert [node.entry.uuid for node in after.items] == [sorted([GRANDPARENT, PARENT, CHILD])[2]]


def test_separate_graphs_joined_by_a_later_dataset_are_one(stores: Stores) -> None:
    stores.datasets.upsert(record(10, SNOW_WHITE, "---\ndescription: a root\n", {}))
    stores.datasets.upsert(record(11, SNOW_WHITE, f"---\nderived_from:\n  uuid: {uuid(10)}\n", {}))
    both = f"---\nderived_from:\n  - uuid: {uuid(11)}\n  - uuid: {GRANDCHILD}\n"
    assert FRIEND not in graph(stores, uuid(10))

    stores.datasets.upsert(record(12, SNOW_WHITE, both, {}))

    members = sorted(
        [GRANDPARENT, PARENT, CHILD, OTHER_CHILD, GRANDCHILD, *map(uuid, (10, 11, 12))]
    )
    assert sorted(graph(stores, uuid(10))) == members
    assert sorted(graph(stores, CHILD)) == members


def test_one_batch_joining_a_graph_twice_joins_everything_it_touches(stores: Stores) -> None:
    def child_of(i: int, parent: str) -> Any:
        return record(i, SNOW_WHITE, f"---\nderived_from:\n  uuid: {parent}\n", {})

    stores.datasets.upsert_many([child_of(20, FRIEND), child_of(30, uuid(31))])
    # Two new datasets, apart within the batch, each joining the family to another graph.
    both = (f"---\nderived_from:\n  - uuid: {PARENT}\n  - uuid: {uuid(20)}\n", {})
    also = (f"---\nderived_from:\n  - uuid: {GRANDCHILD}\n  - uuid: {uuid(31)}\n", {})
    stores.datasets.upsert_many([record(21, SNOW_WHITE, *both), record(22, SNOW_WHITE, *also)])
    stores.datasets.upsert(record(31, SNOW_WHITE, "---\ndescription: a root\n", {}))

    expected = [GRANDPARENT, PARENT, CHILD, OTHER_CHILD, GRANDCHILD, FRIEND]
    expected += [uuid(i) for i in (20, 21, 22, 30, 31)]
    assert sorted(graph(stores, uuid(30))) == sorted(expected)
    assert sorted(graph(stores, FRIEND)) == sorted(expected)

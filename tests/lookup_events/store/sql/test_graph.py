"""Graphs from components in SQL: the same as the step-by-step walk, labels kept whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.dependencies import DEFAULT_KEYS, components
from lookup_events.store.protocols import GraphQuery
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.graph import walk_graph
from tests.support.data import MR_MEN, SNOW_WHITE, make_info

BOTH = (SNOW_WHITE, MR_MEN)


def uuid(i: int) -> str:
    """Return the UUID ``make_info`` gives dataset ``i``."""
    return str(make_info(i, SNOW_WHITE)["uuid"])


def register(stores: Stores, i: int, base_uri: str, *parents: int) -> None:
    """Register dataset ``i`` in ``base_uri``, derived from ``parents``."""
    info = make_info(i, base_uri)
    info["readme"] = "---\nderived_from:\n" + "".join(f"  - uuid: {uuid(p)}\n" for p in parents)
    info["annotations"] = {}
    stores.datasets.upsert(record_from_info(info))


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on the test's database, to read the link rows directly."""
    made = make_engine(database_url)
    yield made
    made.dispose()


@pytest.fixture
def linked(stores: Stores) -> Stores:
    """Two trees joined later (by 6), one branch in Mr Men's base URI, a cycle, a loner, a pair."""
    register(stores, 0, SNOW_WHITE)
    for child, parent in [(1, 0), (2, 0), (3, 1), (4, 3), (5, 2)]:
        register(stores, child, MR_MEN if child == 3 else SNOW_WHITE, parent)
    register(stores, 10, SNOW_WHITE)
    register(stores, 11, SNOW_WHITE, 10, 12)
    register(stores, 12, SNOW_WHITE, 11)
    register(stores, 6, SNOW_WHITE, 5, 11)
    register(stores, 20, SNOW_WHITE)
    register(stores, 30, SNOW_WHITE, 31)
    return stores


@pytest.mark.parametrize("start", [0, 4, 10, 20, 99])
@pytest.mark.parametrize("visible", [BOTH, (SNOW_WHITE,)], ids=["both", "snow-white"])
def test_a_component_walk_finds_what_the_recursive_walk_finds(
    linked: Stores, engine: sa.Engine, start: int, visible: tuple[str, ...]
) -> None:
    query = GraphQuery(uuid(start), DEFAULT_KEYS, visible)
    with engine.connect() as conn:
        fast = walk_graph(conn, query)
        stepwise = walk_graph(conn, query, max_links=1)

    assert fast == stepwise
    assert (uuid(3) in fast.uuids) == (visible == BOTH and start in (0, 4, 10))


def test_every_connected_row_carries_one_label(linked: Stores, engine: sa.Engine) -> None:
    with engine.connect() as conn:
        statement = sa.text("SELECT uuid, neighbour, component FROM dataset_dependencies")
        rows = [(str(a), str(b), str(c)) for a, b, c in conn.execute(statement)]
    labels = {a: c for a, _, c in rows}

    groups = components((a, b) for a, b, _ in rows)
    assert len(groups) == 2
    assert all(len({labels[node] for node in group}) == 1 for group in groups)

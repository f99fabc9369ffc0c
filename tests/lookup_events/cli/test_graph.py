"""``dtool-lookup graph rebuild``: links recomputed for datasets whose rows are missing."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lookup_events.model import record_from_info
from lookup_events.store import open_stores
from lookup_events.store.dependencies import DEFAULT_KEYS
from lookup_events.store.protocols import GraphQuery, PageRequest
from tests.support.cli_runner import LookupCli
from tests.support.data import SNOW_WHITE, make_info
from tests.support.stores import settings_for


def test_rebuild_restores_the_links_a_graph_walks(
    cli: LookupCli, database_url: str, tmp_path: Path
) -> None:
    stores = open_stores(settings_for(database_url, tmp_path))
    parent, child = make_info(0, SNOW_WHITE), make_info(1, SNOW_WHITE)
    child["annotations"] = {"source_dataset_uuid": parent["uuid"]}
    stores.datasets.upsert_many([record_from_info(parent), record_from_info(child)])
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:  # as a store upgraded without its links would be
        conn.execute(sa.text("DELETE FROM dataset_dependencies"))
    engine.dispose()
    query = GraphQuery(str(child["uuid"]), DEFAULT_KEYS, (SNOW_WHITE,))

    result = cli.ok("graph", "rebuild")
    found = stores.datasets.dependency_graph(query, PageRequest(1, 10))
    stores.close()

    assert result.stdout.strip() == "Rebuilt the dependency links of 2 datasets"
    assert [node.entry.uuid for node in found.items] == sorted([parent["uuid"], child["uuid"]])

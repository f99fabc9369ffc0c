"""dtool-lookup-api 0.10.3's ``query()`` and ``aggregate()`` against our server, unchanged.

The client posts ``{"query": ...}`` to ``/mongo/query`` and ``{"aggregation": ...}``
to ``/mongo/aggregate`` with ``page``, ``page_size`` and ``sort=+uri`` (clients.md
3.3); the server runs gunicorn over the structured-query contract's datasets,
with aggregations switched on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lookup_events.store import Stores
from tests.support.api import KeyPair
from tests.support.clients import client_venv, run_driver, write_dtool_config
from tests.support.data import MR_MEN, SNOW_WHITE
from tests.support.served import served_deployment
from tests.support.structured_cases import HIDDEN, U1, records

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv() -> Path:
    return client_venv("dserver")


@pytest.fixture(scope="module")
def mongo_server_url(
    tmp_path_factory: pytest.TempPathFactory, server_keys: KeyPair
) -> Iterator[str]:
    """Serve the contract's datasets (grumpy may search two base URIs of three)."""
    data_dir = tmp_path_factory.mktemp("mongo-server")
    aggregation = {"DTOOL_LOOKUP_MONGO_AGGREGATE": "true"}
    with served_deployment(data_dir, server_keys.public_pem, load_contract, aggregation) as url:
        yield url


def load_contract(stores: Stores) -> None:
    """Store the contract's datasets; grumpy may search two base URIs of three."""
    stores.admin.add_user("grumpy")
    for base_uri in (SNOW_WHITE, MR_MEN, HIDDEN):
        stores.admin.add_base_uri(base_uri)
    for base_uri in (SNOW_WHITE, MR_MEN):
        stores.admin.set_permissions(base_uri, search=["grumpy"], register=[])
    stores.datasets.upsert_many(records())


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def test_query_and_aggregate_work_unchanged(
    venv: Path, mongo_server_url: str, tokens: dict[str, str], home: Path
) -> None:
    write_dtool_config(
        home,
        {
            "DSERVER_URL": mongo_server_url,
            "DSERVER_TOKEN": tokens["grumpy"],
            "DSERVER_DISABLE_AUTHENTICATION": "false",
        },
    )

    out = run_driver(venv, "mongo_api.py", home, {"uuid": U1})

    # sort=+uri, as the client always asks: s3://mr-men sorts before s3://snow-white.
    assert names(out["query"]) == ["delta", "alpha"]
    assert names(out["query_string"]) == ["delta", "alpha"]
    assert names(out["query_tags"]) == ["alpha", "beta"]
    assert names(out["by_mongo_query"]) == ["alpha"]
    assert out["pagination"]["total"] == 1
    assert len(out["page_2"]) == 2
    assert out["aggregate"] == [
        {"tag": "fruit", "n": 2},
        {"tag": "red", "n": 2},
        {"tag": "veg", "n": 2},
    ]
    assert out["refused"]["code"] == 422
    assert "$where" in out["refused"]["message"]

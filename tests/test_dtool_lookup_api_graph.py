"""dtool-lookup-api's dependency-graph calls, 0.7.0 (0.18 route) and 0.10.3 (dserver route).

Both run unchanged against our server under gunicorn, serving the family of
``tests/support/graphs.py`` (parent and child in s3://snow-white, a grandchild
in s3://mr-men, a dataset naming the parent under ``readme.made_from``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import KeyPair
from tests.support.clients import client_venv, run_driver, write_dtool_config
from tests.support.graphs import CHILD, GRANDCHILD, LONER, PARENT, load_family
from tests.support.served import served_deployment

pytestmark = pytest.mark.slow

FAMILY = sorted([PARENT, CHILD, GRANDCHILD])
KEYS = ["readme.made_from"]


@pytest.fixture(scope="module")
def graph_server(tmp_path_factory: pytest.TempPathFactory, server_keys: KeyPair) -> Iterator[str]:
    """Serve the family with gunicorn on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("graph-server")
    with served_deployment(data_dir, server_keys.public_pem, load_family) as url:
        yield url


def uuids(items: list[dict[str, object]]) -> list[object]:
    return [item["uuid"] for item in items]


def test_dserver_client_gets_graphs_by_uuid(
    graph_server: str, tokens: dict[str, str], home: Path
) -> None:
    venv = client_venv("dserver")
    write_dtool_config(
        home,
        {
            "DSERVER_URL": graph_server,
            "DSERVER_TOKEN": tokens["grumpy"],
            "DSERVER_DISABLE_AUTHENTICATION": "false",
        },
    )

    out = run_driver(venv, "graph_dserver_api.py", home, {"uuid": CHILD, "keys": KEYS})

    assert uuids(out["graph"]) == FAMILY
    by_uuid = {item["uuid"]: item for item in out["graph"]}
    assert by_uuid[GRANDCHILD]["derived_from"] == [CHILD]
    assert out["pagination"]["total"] == 3
    assert out["sorting"] == {"sort": {"uuid": 1}}
    assert uuids(out["page_2"]) == FAMILY[2:]
    assert uuids(out["by_keys"]) == [CHILD]
    # NOTE(dev): 0.10.3's deprecated graph() passes its client twice to
    # get_graph_by_uuid and raises before sending anything, whatever the server.
    assert out["deprecated_graph"]["raised"] == "TypeError"


def test_legacy_client_gets_graphs(graph_server: str, tokens: dict[str, str], home: Path) -> None:
    venv = client_venv("legacy")
    params = {"url": graph_server, "token": tokens["grumpy"], "uuid": PARENT, "keys": KEYS}

    out = run_driver(venv, "graph_legacy_api.py", home, params)

    assert uuids(out["graph"]) == FAMILY
    assert out["pagination"]["total"] == 3
    assert uuids(out["page_2"]) == FAMILY[2:]
    assert uuids(out["by_keys"]) == sorted([PARENT, LONER])

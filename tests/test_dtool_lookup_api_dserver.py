"""dtool-lookup-api 0.10.3, a client of dserver's REST routes, against our server.

It reads URL and token from the dtool configuration file and probes
``GET /config/info`` before every call (clients.md 3.3), so each assertion
below also proves the probe answered 200.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import client_venv, run_driver, write_dtool_config
from tests.support.data import (
    BAD_APPLES_UUID,
    FROZEN_AT,
    MR_MEN,
    ORANGES_UUID,
    SNOW_WHITE,
    bad_apples,
)

pytestmark = pytest.mark.slow

URI = f"{SNOW_WHITE}/{BAD_APPLES_UUID}"
MM_URI = f"{MR_MEN}/{BAD_APPLES_UUID}"
ORANGES = f"{SNOW_WHITE}/{ORANGES_UUID}"
NEW_UUID = "4f8c2a5e-1b0d-4c3e-9a7f-0d2b6e8c1f35"
NEW_URI = f"s3://new-bucket/{NEW_UUID}"


@pytest.fixture(scope="module")
def venv() -> Path:
    return client_venv("dserver")


def configure(home: Path, url: str, token: str) -> Path:
    return write_dtool_config(
        home,
        {"DSERVER_URL": url, "DSERVER_TOKEN": token, "DSERVER_DISABLE_AUTHENTICATION": "false"},
    )


def uris(items: list[dict[str, Any]]) -> list[str]:
    return [item["uri"] for item in items]


def test_user_reads_everything(
    venv: Path, server_url: str, tokens: dict[str, str], home: Path
) -> None:
    config = configure(home, server_url, tokens["grumpy"])

    out = run_driver(
        venv, "dserver_api.py", home, {"flow": "user", "uuid": BAD_APPLES_UUID, "uri": URI}
    )

    assert uris(out["datasets"]) == [MM_URI, ORANGES, URI]
    assert out["pagination"] == {
        "total": 3,
        "total_pages": 1,
        "first_page": 1,
        "last_page": 1,
        "page": 1,
    }
    assert out["sorting"] == {"sort": {"uri": 1}}
    assert sorted(uris(out["apple"])) == [MM_URI, URI]
    assert sorted(uris(out["fruit_and_evil"])) == [MM_URI, URI]
    assert uris(out["sorted"]) == [URI, MM_URI, ORANGES]
    assert uris(out["page_2"]) == [URI]
    assert uris(out["by_uuid"]) == [MM_URI, URI]
    assert out["dataset"]["frozen_at"] == FROZEN_AT
    assert out["dataset"]["size_in_bytes"] == 5741810
    assert out["readme"] == "---\ndescripton: apples from queen"
    assert out["manifest"] == bad_apples(SNOW_WHITE)["manifest"]
    assert out["annotations"] == {"type": "fruit"}
    assert out["tags"] == ["evil", "fruit"]
    assert out["summary"]["number_of_datasets"] == 3
    assert out["summary"]["total_size_in_bytes"] == 11483620
    assert out["me"]["username"] == "grumpy"
    assert out["grumpy"]["register_permissions_on_base_uris"] == [SNOW_WHITE, MR_MEN]
    assert out["config"]["jwt_algorithm"] == "RS256"
    assert out["versions"]["dservercore"] == "0.22.0"
    assert out["users_forbidden"]["code"] == 403
    assert sorted(uris(out["deprecated_search"])) == [MM_URI, URI]
    assert uris(out["deprecated_lookup"]) == [MM_URI, URI]
    assert out["deprecated_readme"] == out["readme"]
    assert json.loads(config.read_text())["DSERVER_TOKEN"] == tokens["grumpy"]


def test_admin_manages_users_base_uris_and_datasets(
    venv: Path, server_url: str, tokens: dict[str, str], home: Path
) -> None:
    configure(home, server_url, tokens["snow-white"])
    dataset = {
        **bad_apples("s3://new-bucket"),
        "uuid": NEW_UUID,
        "uri": NEW_URI,
        "name": "new-apples",
        "frozen_at": "1700000000.5",
        "created_at": None,
    }

    out = run_driver(venv, "dserver_api.py", home, {"flow": "admin", "dataset": dataset})

    assert [user["username"] for user in out["users"]] == ["grumpy", "sleepy", "snow-white"]
    assert out["base_uris"] == [{"base_uri": MR_MEN}, {"base_uri": SNOW_WHITE}]
    assert out["snow_white"]["users_with_search_permissions"] == ["grumpy"]
    assert out["register_user"] is True
    assert out["register_user_again"] is True
    assert out["dopey"]["is_admin"] is True
    assert out["register_base_uri"] is True
    assert out["new_bucket"] == {
        "base_uri": "s3://new-bucket",
        "users_with_search_permissions": ["snow-white", "dopey"],
        "users_with_register_permissions": ["snow-white"],
    }
    assert out["register_dataset"] is True
    assert out["registered"]["uri"] == NEW_URI
    assert out["registered"]["frozen_at"] == 1700000000.5
    assert out["registered_readme"] == "---\ndescripton: apples from queen"
    assert out["grumpy_summary"]["number_of_datasets"] == 3
    assert out["delete_dataset"] is True
    assert out["after_delete"] == []
    assert out["deleted"]["code"] == 404
    assert out["delete_user"] is True
    assert out["delete_base_uri"] is True
    assert out["base_uris_after"] == [{"base_uri": MR_MEN}, {"base_uri": SNOW_WHITE}]

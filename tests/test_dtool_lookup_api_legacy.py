"""dtool-lookup-api 0.7.0, the last client of 0.18's routes, against our server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.clients import client_venv, run_driver, write_dtool_config
from tests.support.data import BAD_APPLES_UUID, FROZEN_AT, MR_MEN, ORANGES_UUID, SNOW_WHITE

pytestmark = pytest.mark.slow

URI = f"{SNOW_WHITE}/{BAD_APPLES_UUID}"
BOTH = {URI, f"{MR_MEN}/{BAD_APPLES_UUID}"}
PARAMS = {"uuid": BAD_APPLES_UUID, "uri": URI, "unknown_uri": f"{SNOW_WHITE}/nope"}
SUMMARY = {
    "number_of_datasets": 3,
    "creator_usernames": ["queen"],
    "base_uris": [MR_MEN, SNOW_WHITE],
    "datasets_per_creator": {"queen": 3},
    "datasets_per_base_uri": {MR_MEN: 1, SNOW_WHITE: 2},
    "tags": ["evil", "fruit", "good"],
    "datasets_per_tag": {"evil": 2, "fruit": 3, "good": 1},
}


@pytest.fixture(scope="module")
def venv() -> Path:
    return client_venv("legacy")


def test_token_client_reads_everything(
    venv: Path, server_url: str, tokens: dict[str, str], home: Path
) -> None:
    out = run_driver(
        venv,
        "legacy_api.py",
        home,
        {**PARAMS, "flow": "token", "url": server_url, "token": tokens["grumpy"]},
    )

    assert {item["uri"] for item in out["lookup"]} == BOTH
    assert out["lookup_pagination"] == {
        "total": 2,
        "total_pages": 1,
        "first_page": 1,
        "last_page": 1,
        "page": 1,
    }
    assert {item["uri"] for item in out["search"]} == BOTH
    assert out["search_pagination"]["total"] == 2
    assert len(out["all"]) == 3
    assert {item["frozen_at"] for item in out["all"]} == {FROZEN_AT}
    assert out["readme"] == "---\ndescripton: apples from queen"
    assert out["manifest"]["items"]["e4cc3a7dc281c3d89ed4553293c4b4b110dc9bf3"]["relpath"] == (
        "U00096.3.rev.1.bt2"
    )
    assert out["unknown_manifest"] == {
        "code": 400,
        "status": "Bad Request",
        "message": f"no dataset registered at '{SNOW_WHITE}/nope'",
    }
    assert out["summary"] == SUMMARY
    assert out["config"]["jwt_algorithm"] == "RS256"
    assert out["versions"]["dtool_lookup_server"] == "0.18.0"
    assert out["user_info"] == {
        "username": "grumpy",
        "is_admin": False,
        "search_permissions_on_base_uris": [SNOW_WHITE, MR_MEN],
        "register_permissions_on_base_uris": [SNOW_WHITE, MR_MEN],
    }


def test_admin_calls_answer_201(
    venv: Path, server_url: str, tokens: dict[str, str], home: Path
) -> None:
    out = run_driver(
        venv,
        "legacy_api.py",
        home,
        {"flow": "admin", "url": server_url, "token": tokens["snow-white"]},
    )

    assert out["register_base_uri"] is True
    assert out["register_user"] is True
    assert out["update_permissions"] is True
    assert out["permission_info"] == {
        "base_uri": "s3://new-bucket",
        "users_with_search_permissions": ["grumpy", "dopey"],  # registration order
        "users_with_register_permissions": ["dopey"],
    }
    assert [user["username"] for user in out["list_users"]] == [
        "grumpy",
        "sleepy",
        "snow-white",
        "dopey",
    ]
    assert {"base_uri": "s3://new-bucket"} in out["list_base_uris"]
    assert out["user_info"]["search_permissions_on_base_uris"] == ["s3://new-bucket"]


def test_configuration_file_flow(
    venv: Path, server_url: str, tokens: dict[str, str], home: Path
) -> None:
    config = write_dtool_config(
        home,
        {"DTOOL_LOOKUP_SERVER_URL": server_url, "DTOOL_LOOKUP_SERVER_TOKEN": tokens["grumpy"]},
    )

    out = run_driver(venv, "legacy_api.py", home, {**PARAMS, "flow": "config_file"})

    assert {item["uri"] for item in out["lookup"]} == BOTH
    assert {item["uri"] for item in out["search"]} == BOTH
    assert {item["uuid"] for item in out["all"]} == {BAD_APPLES_UUID, ORANGES_UUID}
    assert out["readme"] == "---\ndescripton: apples from queen"
    assert out["manifest"]["hash_function"] == "md5sum_hexdigest"
    assert out["summary"] == SUMMARY
    assert out["config"]["jwt_header_type"] == "Bearer"
    assert out["user_info"]["username"] == "grumpy"
    # The /config/info probe said the token is good, so the client kept (and rewrote) it.
    assert json.loads(config.read_text())["DTOOL_LOOKUP_SERVER_TOKEN"] == tokens["grumpy"]


def test_refused_token_raises_the_servers_message(venv: Path, server_url: str, home: Path) -> None:
    out = run_driver(
        venv,
        "legacy_api.py",
        home,
        {"flow": "refused_token", "url": server_url, "token": "not.a.jwt"},
    )

    assert "error" in out
    assert out["error"].startswith("Invalid header")

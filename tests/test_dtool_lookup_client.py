"""dtool-lookup-client 0.1.0, the dtool CLI plugin (``dtool lookup``, ``dtool search``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import client_venv, run_in
from tests.support.data import BAD_APPLES_UUID, MR_MEN, SNOW_WHITE

pytestmark = pytest.mark.slow

BOTH = [f"{MR_MEN}/{BAD_APPLES_UUID}", f"{SNOW_WHITE}/{BAD_APPLES_UUID}"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def venv() -> Path:
    return client_venv("legacy")


def dtool(venv: Path, home: Path, *args: str) -> str:
    result = run_in(venv, [str(venv / "bin" / "dtool"), *args], home)
    assert result.returncode == 0, result.stderr[-2000:]
    return ANSI.sub("", result.stdout)


def printed_json(output: str) -> Any:
    return json.loads(output)


@pytest.fixture
def configured(venv: Path, server_url: str, tokens: dict[str, str], home: Path) -> Path:
    """Configure the client the documented way: ``dtool config lookup-server url|token``."""
    dtool(venv, home, "config", "lookup-server", "url", server_url)
    dtool(venv, home, "config", "lookup-server", "token", tokens["grumpy"])
    config = json.loads((home / ".config" / "dtool" / "dtool.json").read_text())
    assert config == {
        "DTOOL_LOOKUP_SERVER_URL": server_url,
        "DTOOL_LOOKUP_SERVER_TOKEN": tokens["grumpy"],
    }
    return home


def test_lookup_prints_both_uris(venv: Path, configured: Path) -> None:
    assert sorted(dtool(venv, configured, "lookup", BAD_APPLES_UUID).split()) == BOTH


def test_search_without_a_query_lists_every_dataset(venv: Path, configured: Path) -> None:
    hits = printed_json(dtool(venv, configured, "search"))

    assert len(hits) == 3
    assert all({"uri", "uuid", "name", "tags", "frozen_at"} <= set(hit) for hit in hits)


def test_search_in_the_servers_own_syntax(venv: Path, configured: Path) -> None:
    hits = printed_json(dtool(venv, configured, "search", "-m", '{"free_text": "apple"}'))

    assert sorted(hit["uri"] for hit in hits) == BOTH


def test_search_word_is_refused_as_0_18_refused_it(venv: Path, configured: Path) -> None:
    # NOTE(dev): 0.1.0 sends a raw MongoDB query, {"$text": {"$search": ...}}, which
    # 0.18 already rejected; the client prints the reply as it is.
    reply = printed_json(dtool(venv, configured, "search", "apple"))

    assert reply["code"] == 422
    assert reply["errors"] == {"json": {"$text": ["Unknown field."]}}


def test_environment_variables_work_too(
    venv: Path, server_url: str, tokens: dict[str, str], home: Path
) -> None:
    result = run_in(
        venv,
        [
            "env",
            f"DTOOL_LOOKUP_SERVER_URL={server_url}/",
            f"DTOOL_LOOKUP_SERVER_TOKEN={tokens['grumpy']}",
            str(venv / "bin" / "dtool"),
            "lookup",
            BAD_APPLES_UUID,
        ],
        home,
    )

    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == BOTH

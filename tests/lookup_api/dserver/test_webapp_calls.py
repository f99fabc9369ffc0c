"""Every call dtool-lookup-webapp (main) makes, as its dserver-client sends it, answered here.

The web app's ``services/dserverApi.ts`` goes through the TypeScript
``DServerClient`` (livMatS/dserver-client-js): paths with
``encodeURIComponent``-encoded URIs and names, JSON bodies, the replies'
fields it reads. Each call below is spelled as that client spells it and
checked for the status and the fields the app uses. Not replayed: the
dependency graph (``/graph/uuids/<uuid>``), which needs the graph plugin.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import dtoolcore
import pytest
from falcon import testing

from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.registrar.writer import Registrar
from lookup_events.storage.content import DatasetContent
from lookup_events.store import Stores
from tests.support.api import Header
from tests.support.datasets import make_dataset

ORIGIN = "http://webapp.example"


def enc(text: str) -> str:
    """Return ``encodeURIComponent(text)``."""
    return quote(text, safe="!'()*-._~")


class WebApp:
    """Sends requests as DServerClient does: JSON headers, bearer token, the app's origin."""

    def __init__(self, client: testing.TestClient, headers: dict[str, str]) -> None:
        self._client = client
        self._headers = {**headers, "Content-Type": "application/json", "Origin": ORIGIN}

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """Send one request; check its status and CORS header; return the parsed body."""
        text = None if body is None else json.dumps(body)
        reply = self._client.simulate_request(method, path, body=text, headers=self._headers)
        assert reply.status_code == status, (method, path, reply.text)
        assert reply.headers.get("access-control-allow-origin") in ("*", ORIGIN)
        self.last = reply
        return json.loads(reply.text) if reply.text else None


@pytest.fixture
def dataset(tmp_path: Path, sqlite_stores: Stores) -> str:
    uri = make_dataset(tmp_path / "base", "apples", items={"a.txt": b"apple"}, tags=("fruit",))
    for username, is_admin in (("snow-white", True), ("grumpy", False)):
        sqlite_stores.admin.add_user(username, is_admin)
    base_uri = uri.rsplit("/", 1)[0]
    sqlite_stores.admin.add_base_uri(base_uri)
    sqlite_stores.admin.set_permissions(base_uri, search=["grumpy"], register=["grumpy"])
    Registrar(sqlite_stores.admin, sqlite_stores.datasets).register_uri(uri)
    return uri


@pytest.fixture
def client(settings: Settings, sqlite_stores: Stores) -> testing.TestClient:
    linked = dataclasses.replace(settings, signed_url_secret="webapp secret")
    return testing.TestClient(create_app(linked, sqlite_stores, content=DatasetContent()))


def test_a_scientist_finds_reads_curates_and_downloads(
    client: testing.TestClient, auth: Header, dataset: str
) -> None:
    app = WebApp(client, auth("grumpy"))
    uri = enc(dataset)

    assert "versions" in app.call("GET", "/config/versions")
    assert app.call("GET", "/config/health")["status"]
    me = app.call("GET", "/me")
    assert me["username"] == "grumpy" and "search_permissions_on_base_uris" in me
    assert app.call("GET", "/me/summary")["number_of_datasets"] == 1
    assert app.call("GET", "/users/grumpy/summary")["tags"] == ["fruit"]
    hits = app.call("POST", "/uris?page=1&page_size=10&sort=-frozen_at", {"free_text": "apple"})
    pagination = json.loads(app.last.headers["x-pagination"])
    assert [hit["uri"] for hit in hits] == [dataset] and pagination["total"] == 1
    assert app.call("POST", "/uris", {"free_text": hits[0]["uuid"]})[0]["uri"] == dataset
    manifest = app.call("GET", f"/manifests/{uri}")
    (identifier,) = manifest["items"]
    assert app.call("GET", f"/readmes/{uri}")["readme"].startswith("---")
    assert app.call("GET", f"/annotations/{uri}") == {"annotations": {}}
    assert app.call("GET", f"/tags/{uri}") == {"tags": ["fruit"]}

    assert app.call("POST", f"/tags/{uri}/{enc('ripe')}", {})["tags"] == ["fruit", "ripe"]
    assert app.call("DELETE", f"/tags/{uri}/{enc('fruit')}")["tags"] == ["ripe"]
    assert app.call("PUT", f"/tags/{uri}", {"tags": ["ripe", "sweet"]})["tags"] == [
        "ripe",
        "sweet",
    ]
    assert app.call("PUT", f"/annotations/{uri}/{enc('species')}", {"value": "malus"}) == {
        "annotations": {"species": "malus"}
    }
    assert app.call("PUT", f"/annotations/{uri}", {"annotations": {"n": 1}}) == {
        "annotations": {"n": 1}
    }
    assert app.call("DELETE", f"/annotations/{uri}/{enc('n')}") == {"annotations": {}}
    readme = "---\ndescription: edited in the browser\n"
    assert app.call("PUT", f"/readmes/{uri}", {"readme": readme}) == {"readme": readme}
    stored = dtoolcore.DataSet.from_uri(dataset)
    assert stored.get_readme_content() == readme and stored.list_tags() == ["ripe", "sweet"]

    link = app.call("GET", f"/signed-urls/item/{uri}/{identifier}")
    assert link["identifier"] == identifier and link["expiry_seconds"] > 0
    assert client.simulate_get(urlsplit(link["url"]).path).content == b"apple"
    assert set(app.call("GET", f"/signed-urls/dataset/{uri}")["item_urls"]) == {identifier}


def test_an_admin_manages_users_base_uris_and_permissions(
    client: testing.TestClient, auth: Header, dataset: str
) -> None:
    app = WebApp(client, auth("snow-white"))
    base = enc("s3://new-bucket")

    assert {u["username"] for u in app.call("GET", "/users")} == {"grumpy", "snow-white"}
    assert app.call("GET", "/users/grumpy")["username"] == "grumpy"
    created = app.call("PUT", f"/users/{enc('dopey')}", {"is_admin": False}, status=201)
    assert created["username"] == "dopey"
    assert app.call("PATCH", "/users/dopey", {"is_admin": True})["is_admin"] is True
    assert app.call("PATCH", "/users/dopey", {"display_name": None})["username"] == "dopey"
    app.call("PATCH", "/users/dopey", {"display_name": "Dopey"}, status=422)
    app.call("PATCH", "/users/nobody", {"is_admin": True}, status=404)

    new_base = app.call("POST", f"/base-uris/{base}", {}, status=201)
    assert new_base == {
        "base_uri": "s3://new-bucket",
        "users_with_search_permissions": [],
        "users_with_register_permissions": [],
    }
    app.call("POST", f"/base-uris/{base}", {}, status=200)
    assert "s3://new-bucket" in {b["base_uri"] for b in app.call("GET", "/base-uris")}
    granted = app.call("POST", f"/users/dopey/search/{base}", {}, status=201)
    assert granted["search_permissions_on_base_uris"] == ["s3://new-bucket"]
    app.call("POST", f"/users/dopey/register/{base}", {}, status=201)
    assert app.call("GET", f"/base-uris/{base}")["users_with_register_permissions"] == ["dopey"]
    app.call("DELETE", f"/users/dopey/register/{base}")
    app.call("DELETE", f"/users/dopey/search/{base}")
    app.call("DELETE", f"/base-uris/{base}")
    app.call("DELETE", f"/users/{enc('dopey')}")
    assert {u["username"] for u in app.call("GET", "/users")} == {"grumpy", "snow-white"}


def test_a_browser_on_another_origin_may_send_every_method(
    client: testing.TestClient, dataset: str
) -> None:
    for method, path in (
        ("PATCH", "/users/dopey"),
        ("PUT", f"/readmes/{enc(dataset)}"),
        ("DELETE", f"/tags/{enc(dataset)}/ripe"),
    ):
        reply = client.simulate_options(
            path,
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert method in reply.headers["access-control-allow-methods"]
        assert "authorization" in reply.headers["access-control-allow-headers"].lower()

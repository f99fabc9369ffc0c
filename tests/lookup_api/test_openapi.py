"""The OpenAPI document: valid, served, in step with the app, browsable without a CDN."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

import falcon.inspect
import pytest
from falcon import testing
from openapi_spec_validator import validate

from lookup_api import openapi, plugins, schemas
from lookup_api.app import create_app
from lookup_api.docs import STATIC_DIR
from lookup_api.operations import SHARED_ROUTES
from lookup_events.config import Settings
from lookup_events.queue.event_queue import EventQueue
from lookup_events.store import Stores

METHODS = {"get", "post", "put", "delete", "patch"}
# What the installed plugins (ours among them) add to the served document.
INSTALLED = openapi.Extension.of(plugins.discover(("*",)))


@pytest.fixture
def docs_client(settings: Settings, sqlite_stores: Stores) -> testing.TestClient:
    return testing.TestClient(create_app(settings, sqlite_stores))


def app_operations(settings: Settings, stores: Stores, **extra: Any) -> set[tuple[str, str]]:
    """Return ``(method, OpenAPI path)`` for every responder the app registers."""
    app = create_app(settings, stores, **extra)
    operations = set()
    for route in falcon.inspect.inspect_routes(app):
        path = re.sub(r"\{(\w+):path\}", r"{\1}", route.path)
        for method in route.methods:
            verb = method.method.lower()
            if verb in METHODS and not method.internal:
                served = SHARED_ROUTES.get(path, {}).get(verb, (path,))
                operations.update((verb, documented) for documented in served)
    return operations


def test_document_is_valid_openapi_3_1() -> None:
    document = openapi.document()

    validate(document)
    assert document["openapi"].startswith("3.1")


def test_document_lists_exactly_the_app_routes(settings: Settings, sqlite_stores: Stores) -> None:
    documented = {
        (method, path)
        for path, item in openapi.document(extension=INSTALLED)["paths"].items()
        for method in item
        if method in METHODS
    }

    assert app_operations(settings, sqlite_stores) == documented
    # 0.18 (with /config/*), dserver (+ /config/ready, /metrics), curation and signed URLs,
    # audit, documentation, plugins
    assert len(documented) == 17 + 28 + 12 + 2 + 3 + len(INSTALLED.operations)


def test_webhook_routes_are_documented_when_served(
    settings: Settings, sqlite_stores: Stores
) -> None:
    hooked = replace(settings, webhook_secret="s3cret")
    app = create_app(hooked, sqlite_stores, publisher=EventQueue(hooked.broker_url))
    served = testing.TestClient(app).simulate_get("/doc/openapi.json").json
    documented = {
        (method, path)
        for path, item in served["paths"].items()
        for method in item
        if method in METHODS
    }

    assert served == openapi.document(webhook=True, extension=INSTALLED)
    assert app_operations(hooked, sqlite_stores, publisher=EventQueue(hooked.broker_url)) == (
        documented
    )
    assert ("post", "/webhook/notify") in documented


def test_served_document_is_the_built_one(docs_client: testing.TestClient) -> None:
    result = docs_client.simulate_get("/doc/openapi.json")

    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("application/json")
    assert result.json == openapi.document(extension=INSTALLED)


def test_requests_are_validated_with_the_documented_schemas() -> None:
    components = openapi.document()["components"]["schemas"]

    for name, schema in schemas.REQUEST_BODIES.items():
        assert components[name] is schema, name
    parameters = openapi.parameters()
    assert parameters["page_size"]["schema"] is schemas.PAGE_QUERY["properties"]["page_size"]
    assert parameters["uuids"]["schema"] is schemas.SEARCH["properties"]["uuids"]
    assert parameters["uri"]["schema"] is schemas.PATH_PARAMETERS["uri"]


def test_every_operation_documents_its_errors_with_the_envelope() -> None:
    for path, item in openapi.document()["paths"].items():
        for method, operation in item.items():
            replies: dict[str, Any] = operation["responses"]
            errors = {code: reply for code, reply in replies.items() if int(code) >= 400}
            secured = operation.get("security") != []
            if secured:
                assert {"401", "422"} <= set(errors), (method, path)
            for reply in errors.values():
                schema = reply["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)


def test_lists_document_their_headers() -> None:
    paths = openapi.document()["paths"]
    for path in ("/uris", "/users", "/base-uris", "/uuids/{uuid}"):
        headers = paths[path]["get"]["responses"]["200"]["headers"]
        assert set(headers) == {"X-Pagination", "X-Sort"}, path
    assert set(paths["/dataset/list"]["get"]["responses"]["200"]["headers"]) == {"X-Pagination"}


@pytest.mark.parametrize("page", ["/doc/swagger", "/doc/redoc"])
def test_pages_load_only_our_own_assets(docs_client: testing.TestClient, page: str) -> None:
    result = docs_client.simulate_get(page)

    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("text/html")
    assert "http" not in result.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', result.text)
    assert assets
    for asset in assets:
        served = docs_client.simulate_get(f"/doc/{asset}")
        assert served.status_code == 200, asset
        assert len(served.content) > 100, asset
    assert 'spec-url="openapi.json"' in result.text or "openapi.json" in _init_script(docs_client)


def _init_script(client: testing.TestClient) -> str:
    return client.simulate_get("/doc/static/swagger-init.js").text


def test_swagger_ui_talks_to_no_validator(docs_client: testing.TestClient) -> None:
    assert "validatorUrl: null" in _init_script(docs_client)


def test_vendored_assets_match_their_recorded_checksums() -> None:
    notes = (STATIC_DIR / "VENDORED.md").read_text()
    recorded = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", notes, re.M)
    )

    assert set(recorded) == {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"}
    for name, digest in recorded.items():
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
    for licence in ("swagger-ui.LICENSE", "swagger-ui.NOTICE", "redoc.LICENSE"):
        assert (STATIC_DIR / licence).stat().st_size > 0


def test_missing_assets_are_json_404(docs_client: testing.TestClient) -> None:
    result = docs_client.simulate_get("/doc/static/nothing.js")

    assert result.status_code == 404
    assert result.json["code"] == 404

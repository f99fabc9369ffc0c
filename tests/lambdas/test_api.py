"""The API Lambda: the real app over SQLite, driven by API Gateway and Function URL events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lambdas import api
from lambdas.api import Handler, encode_path, make_handler
from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.errors import SetupError
from lookup_events.store import Stores, open_stores, schema_status, upgrade_database
from lookup_events.tokens import issue_token
from tests.support.aws import Aws
from tests.support.data import BAD_APPLES_UUID, load_anchor_data
from tests.support.http_events import EVENT_MAKERS, EventMaker, body_bytes, header

NON_ASCII_USER = "jürgen 漢字"


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    """Return a private and a public key, both PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@pytest.fixture
def serve(sqlite_stores: Stores, key_pair: tuple[str, str], tmp_path: Path) -> Handler:
    """The Lambda handler over the anchor data and one user with a non-ASCII name."""
    load_anchor_data(sqlite_stores)
    sqlite_stores.admin.add_user(NON_ASCII_USER)
    settings = Settings(data_dir=tmp_path, jwt_public_key=key_pair[1]).completed()
    return make_handler(create_app(settings, sqlite_stores))


@pytest.fixture(params=list(EVENT_MAKERS))
def make_event(request: pytest.FixtureRequest) -> EventMaker:
    """Build events of each kind: REST API, HTTP API, Function URL."""
    return EVENT_MAKERS[request.param]


def bearer(key_pair: tuple[str, str], username: str) -> dict[str, str]:
    """Return an Authorization header for ``username``."""
    return {"Authorization": f"Bearer {issue_token(key_pair[0], username)}"}


def media(response: dict[str, Any]) -> Any:
    """Return the JSON body of a handler response."""
    return json.loads(body_bytes(response))


def test_get_with_a_query_string_keeps_the_pagination_header(
    serve: Handler, make_event: EventMaker, key_pair: tuple[str, str]
) -> None:
    event = make_event(
        "GET", "/dataset/list", "page=2&page_size=2", headers=bearer(key_pair, "grumpy")
    )

    response = serve(event, None)

    assert response["statusCode"] == 200
    assert len(media(response)) == 1
    pagination = json.loads(header(response, "X-Pagination") or "")
    assert pagination == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 2,
        "previous_page": 1,
    }


@pytest.mark.parametrize("base64_body", [False, True])
def test_post_with_a_json_body(
    serve: Handler, make_event: EventMaker, key_pair: tuple[str, str], base64_body: bool
) -> None:
    body = json.dumps({"free_text": "apples", "creator_usernames": ["queen"]}).encode()
    headers = {**bearer(key_pair, "grumpy"), "Content-Type": "application/json"}
    event = make_event(
        "POST", "/dataset/search", headers=headers, body=body, base64_body=base64_body
    )

    response = serve(event, None)

    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert {item["uuid"] for item in media(response)} == {BAD_APPLES_UUID}


def test_a_non_ascii_path_reaches_the_route_intact(
    serve: Handler, make_event: EventMaker, key_pair: tuple[str, str]
) -> None:
    event = make_event(
        "GET", f"/user/info/{NON_ASCII_USER}", headers=bearer(key_pair, NON_ASCII_USER)
    )

    response = serve(event, None)

    assert response["statusCode"] == 200, body_bytes(response)
    assert media(response)["username"] == NON_ASCII_USER


def test_a_non_ascii_body_survives_base64(
    serve: Handler, make_event: EventMaker, key_pair: tuple[str, str]
) -> None:
    body = json.dumps({"free_text": "äpfel 漢字"}, ensure_ascii=False).encode()
    headers = {**bearer(key_pair, "grumpy"), "Content-Type": "application/json; charset=utf-8"}

    response = serve(
        make_event("POST", "/dataset/search", headers=headers, body=body, base64_body=True), None
    )

    assert response["statusCode"] == 200
    assert media(response) == []


@pytest.mark.parametrize(
    "case",
    [
        ("GET", "/dataset/list", "", None, 401),
        ("GET", "/dataset/list", "page_size=0", "grumpy", 422),
        ("GET", "/no/such/route", "", "grumpy", 404),
        ("GET", "/user/info/sleepy", "", "grumpy", 404),
        ("POST", "/dataset/summary", "", "grumpy", 405),
    ],
)
def test_errors_keep_their_status_and_json_body(
    serve: Handler,
    make_event: EventMaker,
    key_pair: tuple[str, str],
    case: tuple[str, str, str, str | None, int],
) -> None:
    method, path, query, user, status = case
    headers = bearer(key_pair, user) if user else {}

    response = serve(make_event(method, path, query, headers=headers), None)

    assert response["statusCode"] == status
    assert header(response, "Content-Type") == "application/json"
    assert isinstance(media(response), dict)


def test_a_rest_api_response_has_multi_value_headers(
    serve: Handler, key_pair: tuple[str, str]
) -> None:
    event = EVENT_MAKERS["rest-api"]("GET", "/dataset/list", headers=bearer(key_pair, "grumpy"))

    response = serve(event, None)

    assert "X-Pagination" in {k.title() for k in response["multiValueHeaders"]}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/user/info/grumpy", "/user/info/grumpy"),
        ("/user/info/j%C3%BCrgen", "/user/info/j%C3%BCrgen"),
        ("/user/info/jürgen", "/user/info/j%C3%BCrgen"),
        ("/user/info/anne marie", "/user/info/anne%20marie"),
        ("/user/info/100%", "/user/info/100%25"),
        ("/a:b@c!$&'()*+,;=-._~", "/a:b@c!$&'()*+,;=-._~"),
    ],
)
def test_encode_path(path: str, expected: str) -> None:
    assert encode_path(path) == expected
    assert encode_path(expected) == expected


@pytest.fixture
def lambda_environment(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_pair: tuple[str, str]
) -> Iterator[str]:
    """Point the real entry point at moto's SSM, which names a fresh SQLite database."""
    url = f"sqlite:///{tmp_path / 'lambda.db'}"
    name = "/dtool-lookup/api-test/database-url"
    aws.client("ssm").put_parameter(Name=name, Value=url, Type="SecureString", Overwrite=True)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    monkeypatch.setenv("DTOOL_LOOKUP_DATABASE_URL_SSM_PARAMETER", name)
    monkeypatch.setenv("DTOOL_LOOKUP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JWT_PUBLIC_KEY", key_pair[1])
    api._handler.cache_clear()
    yield name
    api._handler.cache_clear()


@pytest.mark.slow
def test_the_entry_point_reuses_its_app(
    aws: Aws, lambda_environment: str, key_pair: tuple[str, str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'lambda.db'}"
    upgrade_database(url)  # what `db upgrade` did when the stack was deployed
    event = EVENT_MAKERS["http-api"]("GET", "/user/info/ann", headers=bearer(key_pair, "ann"))

    assert api.handler(event, None)["statusCode"] == 404  # nobody registered yet
    stores = open_stores(Settings(data_dir=tmp_path, database_url=url).completed())
    stores.admin.add_user("ann")
    stores.close()
    # A warm invocation reuses the app: the parameter is not read again.
    aws.client("ssm").delete_parameter(Name=lambda_environment)

    response = api.handler(event, None)

    assert response["statusCode"] == 200
    assert media(response)["username"] == "ann"
    assert api._handler.cache_info().currsize == 1


def test_the_entry_point_needs_a_public_key(
    lambda_environment: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JWT_PUBLIC_KEY")
    upgrade_database(f"sqlite:///{tmp_path / 'lambda.db'}")
    event = EVENT_MAKERS["function-url"]("GET", "/config/versions")

    with pytest.raises(SetupError, match="JWT_PUBLIC_KEY"):
        api.handler(event, None)


def test_the_entry_point_refuses_a_database_without_the_schema(
    lambda_environment: str, tmp_path: Path
) -> None:
    event = EVENT_MAKERS["function-url"]("GET", "/config/versions")

    with pytest.raises(SetupError, match="run `dtool-lookup db upgrade`"):
        api.handler(event, None)
    assert schema_status(f"sqlite:///{tmp_path / 'lambda.db'}").current is None  # untouched

"""Request validation: 0.18's error shapes, and no 500 for anything a client sends."""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
from falcon import testing
from hypothesis import strategies as st

from lookup_api import schemas
from lookup_api.validation import collect_errors, manifest_item_ok, plain_dataset_info
from lookup_events.store import Stores
from lookup_events.store.limits import LIMITS
from tests.support.api import Header
from tests.support.data import BAD_APPLES_UUID, SNOW_WHITE, load_anchor_data, register_body

POST_ROUTES = (
    "/dataset/search",
    "/dataset/register",
    "/dataset/readme",
    "/dataset/manifest",
    "/dataset/annotations",
    "/admin/user/register",
    "/admin/base_uri/register",
    "/admin/permission/info",
    "/admin/permission/update_on_base_uri",
)
HOSTILE_BODIES: list[bytes] = [
    b'{"free_text":',
    b"{'single': 'quotes'}",
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b"\xff\xfe\x00garbage",
    b"[" * 5_000 + b"]" * 5_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"null",
    b"true",
    b"42",
    b'"a string"',
    b"[]",
    b"[{}]",
    b'[{"username": null}]',
    b'{"uri": null}',
    b'{"uri": {"$ne": ""}}',
    b'{"base_uri": "\\u0000"}',
    b'{"uri": "s3://snow-white/\\u0000"}',
    b'{"free_text": "\\u0000"}',
    b'{"tags": ["\\u0000"], "creator_usernames": ["\\ud800"]}',
    b'{"uuids": [null]}',
    b'{"uuids": "af6727bf-29c7-43dd-b42f-a5d7ede28337"}',
    b'{"base_uris": [1, 2, 3]}',
    b'{"manifest": {"items": []}, "uuid": 5, "frozen_at": true}',
    b'{"readme": ["a"], "annotations": [], "tags": [null]}',
    b'{"users_with_search_permissions": "grumpy", "base_uri": "s3://snow-white"}',
]
ODD_SEARCH_TEXT = [
    "",
    " ",
    '"',
    '"unclosed phrase',
    "-",
    "--",
    "-apple",
    '-"',
    "*",
    "%",
    "_",
    "\\",
    "'; DROP TABLE datasets; --",
    "apple OR 1=1",
    "a" * 100_000,
    "🍎 pomme ä",
    "\u202e",
    "NOT AND OR ( ) : ^ ~ & | !",
]


@pytest.fixture
def hostile_client(client: testing.TestClient, stores: Stores) -> testing.TestClient:
    load_anchor_data(stores)
    return client


@pytest.mark.parametrize("body", [b'{"free_text":', b"\r", b" \n\t"])
def test_malformed_json_is_400_before_authentication(
    client: testing.TestClient, body: bytes
) -> None:
    # NOTE(dev): whitespace is not an absent body: webargs (0.18, dserver) parses it and fails.
    for path in POST_ROUTES:
        result = client.simulate_post(
            path, body=body, headers={"Content-Type": "application/json"}
        )
        assert result.status_code == 400, path
        assert result.json == {
            "code": 400,
            "errors": {"json": ["Invalid JSON body."]},
            "status": "Bad Request",
        }


def test_an_empty_json_body_is_an_absent_one(
    data_client: testing.TestClient, auth: Header
) -> None:
    headers = {"Content-Type": "application/json", **auth("grumpy")}
    search = data_client.simulate_post("/dataset/search", body=b"", headers=headers)
    assert search.status_code == 200
    assert len(search.json) == 3


def test_schema_errors_are_422_before_authentication(client: testing.TestClient) -> None:
    result = client.simulate_post("/dataset/search", json={"tags": "fruit"})

    assert result.status_code == 422
    assert result.json["errors"] == {"json": {"tags": ["Not a valid list."]}}


def test_body_of_another_content_type_is_ignored(
    data_client: testing.TestClient, auth: Header
) -> None:
    headers = {"Content-Type": "text/plain", **auth("grumpy")}

    search = data_client.simulate_post("/dataset/search", body=b"junk", headers=headers)
    readme = data_client.simulate_post("/dataset/readme", body=b"junk", headers=headers)
    users = data_client.simulate_post(
        "/admin/user/register", body=b"junk", headers={**headers, **auth("snow-white")}
    )

    assert len(search.json) == 3
    assert readme.status_code == 400
    assert users.status_code == 422


@pytest.mark.parametrize("path", POST_ROUTES)
def test_hostile_bodies_never_cause_a_server_error(
    hostile_client: testing.TestClient, auth: Header, path: str
) -> None:
    for user in ("grumpy", "snow-white"):
        for body in HOSTILE_BODIES:
            result = hostile_client.simulate_post(
                path, body=body, headers={"Content-Type": "application/json", **auth(user)}
            )
            assert result.status_code < 500, (path, user, body[:60], result.text)
            if result.status_code >= 400:
                assert set(result.json) <= {"code", "status", "errors", "message", "msg"}


def test_odd_search_text_never_causes_a_server_error(
    hostile_client: testing.TestClient, auth: Header
) -> None:
    for text in ODD_SEARCH_TEXT:
        result = hostile_client.simulate_post(
            "/dataset/search", json={"free_text": text}, headers=auth("grumpy")
        )
        if len(text) > LIMITS.free_text_chars:  # README "Limits of a search"
            assert result.status_code == 422, (text[:40], result.text)
            assert "free_text is limited to" in result.json["message"]
            continue
        assert result.status_code == 200, (text[:40], result.text)
        assert isinstance(result.json, list)


def test_odd_strings_elsewhere_never_cause_a_server_error(
    hostile_client: testing.TestClient, auth: Header
) -> None:
    grumpy, admin = auth("grumpy"), auth("snow-white")
    odd = ["\x00", "%00", "a" * 10_000, "../../etc/passwd", "🍎", "'", '"']
    for text in odd:
        requests: list[tuple[str, str, Any, dict[str, str]]] = [
            ("GET", f"/dataset/lookup/{text}", None, grumpy),
            ("GET", f"/user/info/{text}", None, admin),
            ("POST", "/dataset/search", {"creator_usernames": [text], "tags": [text]}, grumpy),
            ("POST", "/dataset/search", {"base_uris": [text]}, grumpy),
            ("POST", "/dataset/readme", {"uri": text}, grumpy),
            ("POST", "/dataset/register", {"base_uri": SNOW_WHITE, "name": text}, grumpy),
            ("POST", "/admin/permission/info", {"base_uri": text}, admin),
            ("POST", "/admin/user/register", [{"username": text}], admin),
            ("POST", "/admin/base_uri/register", {"base_uri": text}, admin),
        ]
        for method, path, body, headers in requests:
            result = hostile_client.simulate_request(method, path, json=body, headers=headers)
            assert result.status_code < 500, (method, path, body, result.text)


def test_register_with_odd_values_never_causes_a_server_error(
    hostile_client: testing.TestClient, auth: Header
) -> None:
    bodies = [
        register_body(name="\x00"),
        register_body(readme="\x00"),
        register_body(tags=["\x00"]),
        register_body(annotations={"\x00": "\x00"}),
        register_body(frozen_at="1e400"),
        register_body(frozen_at=1e308, created_at="-1e308"),
        register_body(size_in_bytes=2**70),
        register_body(number_of_items=-1),
        register_body(uri=f"{SNOW_WHITE}/other/{BAD_APPLES_UUID}"),
        register_body(annotations={"deep": [[[[[[[[[[["deep"]]]]]]]]]]]}),
    ]
    for body in bodies:
        result = hostile_client.simulate_post(
            "/dataset/register", json=body, headers=auth("grumpy")
        )
        assert result.status_code < 500, (str(body)[:80], result.text)


def test_huge_page_numbers_are_empty_pages(
    hostile_client: testing.TestClient, auth: Header
) -> None:
    result = hostile_client.simulate_get(
        "/dataset/list", params={"page": 2**31 - 1, "page_size": 100}, headers=auth("grumpy")
    )

    assert result.status_code == 200
    assert result.json == []


def test_error_paths_follow_marshmallow() -> None:
    item = "abc"
    body = {
        "uuid": 5,
        "manifest": {"items": {item: {"size_in_bytes": "big", "x": 1}}, "extra": 1},
        "readme": None,
        "annotations": [],
        "tags": ["a", 1],
    }

    errors = collect_errors(body, schemas.REGISTER)

    assert errors == {
        "uuid": ["Not a valid UUID."],
        "manifest": {
            "extra": ["Unknown field."],
            "items": {
                item: {
                    "value": {"size_in_bytes": ["Not a valid integer."], "x": ["Unknown field."]}
                }
            },
        },
        "readme": ["Field may not be null."],
        "annotations": ["Not a valid mapping type."],
        "tags": {"1": ["Not a valid string."]},
    }
    assert collect_errors([], schemas.SEARCH) == {"_schema": ["Invalid input type."]}
    assert collect_errors({"manifest": []}, schemas.REGISTER) == {
        "manifest": {"_schema": ["Invalid input type."]}
    }


ITEM_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=1),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
MANIFEST_ITEMS = st.one_of(
    st.dictionaries(
        st.sampled_from(["hash", "relpath", "size_in_bytes", "utc_timestamp", "extra"]),
        ITEM_VALUES,
    ),
    ITEM_VALUES,
)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(item=MANIFEST_ITEMS)
def test_the_quick_manifest_item_check_never_accepts_what_the_schema_refuses(item: Any) -> None:
    if manifest_item_ok(item):
        assert collect_errors(item, schemas.MANIFEST_ITEM) == {}


def test_the_quick_check_accepts_what_registration_sends() -> None:
    body = register_body()

    assert plain_dataset_info(body)
    assert all(manifest_item_ok(item) for item in body["manifest"]["items"].values())


RANGE = "Must be greater than or equal to 0 and less than or equal to 9223372036854775807."


def test_one_bad_item_among_many_is_reported_as_the_schema_words_it(
    users_client: testing.TestClient, auth: Header
) -> None:
    body = register_body()
    items = {
        f"{n:040x}": dict(next(iter(body["manifest"]["items"].values()))) for n in range(5000)
    }
    items[f"{4321:040x}"]["size_in_bytes"] = -1
    items[f"{4322:040x}"]["utc_timestamp"] = True
    body["manifest"]["items"] = items

    result = users_client.simulate_post("/dataset/register", json=body, headers=auth("grumpy"))

    assert result.status_code == 422
    assert result.json["errors"] == {
        "json": {
            "manifest": {
                "items": {
                    f"{4321:040x}": {"value": {"size_in_bytes": [RANGE]}},
                    f"{4322:040x}": {"value": {"utc_timestamp": ["Not a valid number."]}},
                }
            }
        }
    }

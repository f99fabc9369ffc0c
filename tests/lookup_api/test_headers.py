"""Header names leave the app capitalised, as 0.18 (werkzeug) sent them."""

from __future__ import annotations

from typing import Any

from falcon import testing

from lookup_api.headers import canonical
from tests.support.api import Header


def raw_headers(client: testing.TestClient, path: str, headers: dict[str, str]) -> list[str]:
    """Return the header names exactly as the app handed them to the WSGI server."""
    names: list[str] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        names.extend(name for name, _ in response_headers)

    environ = testing.create_environ(path=path, headers=headers)
    b"".join(client.app(environ, start_response))
    return names


def test_paging_and_sorting_headers_keep_their_case(
    data_client: testing.TestClient, auth: Header
) -> None:
    legacy = raw_headers(data_client, "/dataset/list", auth("grumpy"))
    dserver = raw_headers(data_client, "/uris", auth("grumpy"))

    # NOTE(dev): dtool-lookup-api looks these up by exact name in a plain dict.
    assert "X-Pagination" in legacy
    assert {"X-Pagination", "X-Sort", "Content-Type"} <= set(dserver)


def test_canonical_names() -> None:
    assert canonical("x-pagination") == "X-Pagination"
    assert canonical("access-control-expose-headers") == "Access-Control-Expose-Headers"
    assert canonical("etag") == "Etag"

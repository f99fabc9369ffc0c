"""HTTP request events as API Gateway and Lambda Function URLs send them.

A REST API (payload 1.0) keeps the path percent-encoded and sends
multi-value headers and query strings; an HTTP API (payload 2.0) sends the
path decoded in ``rawPath`` and the query string raw; a Function URL uses
the 2.0 shape with the path still encoded. Bodies that are not text arrive
base64-encoded with ``isBase64Encoded``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote

Event = dict[str, Any]
EventMaker = Callable[..., Event]


def _body(body: bytes | None, base64_body: bool) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if base64_body:
        return base64.b64encode(body).decode(), True
    return body.decode(), False


def rest_api_event(
    method: str,
    path: str,
    query: str = "",
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    base64_body: bool = False,
) -> Event:
    """Return a REST API (payload 1.0) proxy event."""
    text, encoded = _body(body, base64_body)
    headers = {"Host": "abc.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    multi_query = parse_qs(query, keep_blank_values=True) or None
    return {
        "resource": "/{proxy+}",
        "path": quote(path),
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in (multi_query or {}).items()} or None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": {"proxy": quote(path.lstrip("/"))},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{quote(path)}",
            "stage": "prod",
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _v2_event(
    method: str,
    raw_path: str,
    query: str,
    *,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    base64_body: bool,
    domain: str,
) -> Event:
    text, encoded = _body(body, base64_body)
    event: Event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {"host": domain, **{k.lower(): v for k, v in (headers or {}).items()}},
        "requestContext": {
            "domainName": domain,
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query).items()}
    if text is not None:
        event["body"] = text
    return event


def http_api_event(
    method: str,
    path: str,
    query: str = "",
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    base64_body: bool = False,
) -> Event:
    """Return an HTTP API (payload 2.0) event: the path arrives decoded."""
    domain = "abc.execute-api.us-east-1.amazonaws.com"
    return _v2_event(
        method, path, query, headers=headers, body=body, base64_body=base64_body, domain=domain
    )


def function_url_event(
    method: str,
    path: str,
    query: str = "",
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    base64_body: bool = False,
) -> Event:
    """Return a Lambda Function URL event: payload 2.0 with the path encoded."""
    domain = "abcdefghij.lambda-url.us-east-1.on.aws"
    return _v2_event(
        method,
        quote(path),
        query,
        headers=headers,
        body=body,
        base64_body=base64_body,
        domain=domain,
    )


EVENT_MAKERS: dict[str, EventMaker] = {
    "rest-api": rest_api_event,
    "http-api": http_api_event,
    "function-url": function_url_event,
}


def header(response: Mapping[str, Any], name: str) -> str | None:
    """Return a response header from either payload version's fields, any case."""
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return str(values[-1])
    return None


def body_bytes(response: Mapping[str, Any]) -> bytes:
    """Return the response body as bytes, decoding base64 when flagged."""
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()

"""One error envelope for every non-2xx reply, and project exceptions to statuses.

Every error body is ``{"code": N, "status": "<reason>"}``, plus ``errors``
(request validation), ``message`` (a human-readable reason) or ``msg``
(token failures only: clients of 0.18 raise on a ``msg`` key).
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Mapping
from typing import Any

import falcon

from lookup_events.errors import (
    AlreadyExists,
    DatabaseUnavailable,
    DatasetNotFound,
    DatasetStorageUnavailable,
    DatasetStorageUnwritable,
    InvalidDataset,
    InvalidName,
    InvalidQuery,
    PermissionDenied,
    QueryTimedOut,
    QueryTooLarge,
    UnknownBaseURI,
    UnknownUser,
)

log = logging.getLogger(__name__)

# NOTE(dev): werkzeug's reason phrases, which 0.18 sent; newer Pythons renamed some.
_REASONS = {413: "Request Entity Too Large", 422: "Unprocessable Entity"}

StatusMap = Mapping[type[Exception], int]

# The legacy (0.18) mapping: readme/manifest/annotations answer 400 for a URI the
# caller may not read or that does not exist; unregistered callers get 401.
LEGACY_STATUSES: StatusMap = {
    InvalidDataset: 409,
    InvalidQuery: 422,
    AlreadyExists: 409,
    DatasetNotFound: 400,
    UnknownBaseURI: 400,
    PermissionDenied: 400,
    UnknownUser: 401,
    DatabaseUnavailable: 503,
    DatasetStorageUnavailable: 503,
    QueryTooLarge: 422,
    QueryTimedOut: 503,
    DatasetStorageUnwritable: 502,
    InvalidName: 422,
}

# Route-specific differences, by URI template prefix: register answers 401 for
# any permission problem; user and admin routes hide everything behind 404.
LEGACY_OVERRIDES: tuple[tuple[str, StatusMap], ...] = (
    ("/dataset/register", {PermissionDenied: 401, UnknownBaseURI: 401}),
    ("/user/", {UnknownUser: 404, PermissionDenied: 404}),
    ("/admin/", {UnknownUser: 404, PermissionDenied: 404, UnknownBaseURI: 404}),
)

# The dserver mapping: 401 unauthenticated, 403 forbidden, 404 missing, 400 for an
# invalid dataset, 409 for something that exists already.
DSERVER_STATUSES: StatusMap = {
    InvalidDataset: 400,
    InvalidQuery: 422,
    AlreadyExists: 409,
    DatasetNotFound: 404,
    UnknownBaseURI: 404,
    PermissionDenied: 403,
    UnknownUser: 401,
    DatabaseUnavailable: 503,
    DatasetStorageUnavailable: 503,
    QueryTooLarge: 422,
    QueryTimedOut: 503,
    DatasetStorageUnwritable: 502,
    InvalidName: 422,
}

# URI template prefixes of the 0.18 routes; every other route (dserver's, a
# plugin's) follows the dserver mapping.
LEGACY_PREFIXES = ("/dataset", "/user", "/admin")
# The dserver routes' differences: a dataset in an unregistered base URI is
# forbidden (nobody holds a permission there).
DSERVER_OVERRIDES: tuple[tuple[str, StatusMap], ...] = (("/uris", {UnknownBaseURI: 403}),)

# How long a client is asked to wait after a read ran out of time.
RETRY_AFTER_SECONDS = 5
# Failures whose message the caller needs (what to fix), even though they are 5xx:
# a refused write names the storage and what it said, never our configuration.
SPOKEN_FAILURES: tuple[type[Exception], ...] = (DatasetStorageUnwritable,)

PROJECT_EXCEPTIONS: tuple[type[Exception], ...] = tuple(LEGACY_STATUSES)


def reason(code: int) -> str:
    """Return the reason phrase of an HTTP status code."""
    if code in _REASONS:
        return _REASONS[code]
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


class APIError(falcon.HTTPError):
    """An error reply in the project's envelope."""

    def __init__(
        self,
        code: int,
        *,
        errors: Any = None,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code, headers=dict(headers) if headers else None)
        self.errors = errors
        self.message = message


class TokenError(APIError):
    """A missing or unacceptable token: the body carries ``msg`` as 0.18's did."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code)
        self.msg = msg


class ClaimError(ValueError):
    """A correctly signed token whose claims no user could hold (odd ``sub``, times)."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


def envelope(error: falcon.HTTPError) -> dict[str, Any]:
    """Return the JSON body describing ``error``."""
    code = error.status_code
    body: dict[str, Any] = {"code": code, "status": reason(code)}
    if isinstance(error, TokenError):
        body["msg"] = error.msg
    if isinstance(error, APIError):
        if error.errors is not None:
            body["errors"] = error.errors
        if error.message:
            body["message"] = error.message
    return body


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Write ``error`` as a JSON envelope, whatever the client accepts."""
    resp.data = json.dumps(envelope(error)).encode()
    resp.content_type = falcon.MEDIA_JSON


def is_legacy_route(template: str | None) -> bool:
    """Tell whether a URI template belongs to the 0.18 generation of routes."""
    if not template:
        return False
    return any(template == p or template.startswith(p + "/") for p in LEGACY_PREFIXES)


def status_for(template: str | None, ex: Exception) -> int:
    """Return the status a project exception maps to on the route ``template``."""
    dserver = not is_legacy_route(template)
    mapping = dict(DSERVER_STATUSES if dserver else LEGACY_STATUSES)
    for prefix, overrides in DSERVER_OVERRIDES if dserver else LEGACY_OVERRIDES:
        if template and template.startswith(prefix):
            mapping.update(overrides)
    for cls in type(ex).__mro__:
        if cls in mapping:
            return mapping[cls]
    return 500


def handle_project_error(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    """Translate a project exception into an error reply."""
    if isinstance(error, QueryTimedOut):
        raise timed_out(req, error)
    code = status_for(req.uri_template, error)
    if code >= 500 and not isinstance(error, SPOKEN_FAILURES):
        log.error("%s %s failed: %s", req.method, req.path, error)
        raise APIError(code)
    raise APIError(code, message=str(error) or None)


def timed_out(req: falcon.Request, error: QueryTimedOut) -> APIError:
    """Return the 503 of a read stopped by its time budget: try later, or ask for less."""
    log.warning("%s %s stopped: %s", req.method, req.path, error)
    message = (
        "the search took longer than the server allows and was stopped; "
        "retry later or narrow it (fewer words, more filters)"
    )
    return APIError(503, message=message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def handle_claim_error(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    """Refuse a token with odd claims: 0.18's 422 on its routes, 401 elsewhere, with ``msg``."""
    code = 422 if is_legacy_route(req.uri_template) else 401
    raise TokenError(code, str(error))

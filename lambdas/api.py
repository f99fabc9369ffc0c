"""Lambda handler of the API: the Falcon app behind API Gateway or a Function URL.

apig-wsgi adapts REST API (payload 1.0), HTTP API (1.0 and 2.0) and Function
URL events to WSGI, with binary support on so base64 bodies pass both ways.
One quirk is ours to mend: HTTP APIs hand over the path already decoded
(``/user/info/jürgen``) where REST APIs and Function URLs keep it
percent-encoded, and apig-wsgi expects the latter; so characters that cannot
appear in an encoded path are encoded again before it sees the event.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from apig_wsgi import make_lambda_handler

from lambdas.settings import lambda_settings
from lookup_api.app import WSGIApp, app_from
from lookup_events.services import Deployment, Services

Handler = Callable[[Mapping[str, Any], object], dict[str, Any]]

# Everything an encoded path may hold literally (RFC 3986 pchar and "/"), plus "%".
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def encode_path(path: str) -> str:
    """Percent-encode what a decoded path holds that an encoded one cannot."""
    if path.isascii() and " " not in path and not _STRAY_PERCENT.search(path):
        return path
    return quote(_STRAY_PERCENT.sub("%25", path), safe=_PATH_SAFE)


def _with_encoded_path(event: Mapping[str, Any]) -> dict[str, Any]:
    request = dict(event)
    key = "rawPath" if request.get("version") == "2.0" else "path"
    if isinstance(request.get(key), str):
        request[key] = encode_path(request[key])
    return request


def make_handler(app: WSGIApp) -> Handler:
    """Return a Lambda handler serving ``app`` to API Gateway and Function URLs."""
    serve = make_lambda_handler(app, binary_support=True)

    def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
        """Serve one HTTP request event."""
        return serve(_with_encoded_path(event), context)

    return handler


@functools.cache
def _handler() -> Handler:
    """Build the app once per container: warm invocations reuse its stores.

    A Lambda function is a server deployment: it makes no key pair of its own
    (JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_SSM_PARAMETER is required) and never
    migrates the schema (the registrar function's ``db upgrade`` does).
    """
    services = Services(lambda_settings(), deployment=Deployment.SERVER)
    return make_handler(app_from(services, serverless=True))


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point: serve one API Gateway or Function URL request."""
    return _handler()(event, context)

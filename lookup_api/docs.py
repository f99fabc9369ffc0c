"""``/doc/*``: the OpenAPI document and two pages to browse it, with assets served by us.

The pages load Swagger UI and ReDoc from ``/doc/static`` (vendored copies, see
``static/VENDORED.md``), so reading the documentation needs no CDN. Links
are relative, so the pages also work behind a path prefix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import falcon

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/doc/static"

SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}: Swagger UI</title>
  <link rel="stylesheet" href="static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="static/swagger-ui-bundle.js"></script>
  <script src="static/swagger-init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}: ReDoc</title>
  <style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
  <redoc spec-url="openapi.json"></redoc>
  <script src="static/redoc.standalone.js"></script>
</body>
</html>
"""


class DocumentResource:
    """``GET /doc/openapi.json``: the OpenAPI document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._data = json.dumps(document).encode()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the document."""
        resp.data = self._data
        resp.content_type = falcon.MEDIA_JSON


class PageResource:
    """``GET /doc/swagger`` or ``/doc/redoc``: a page showing the document."""

    def __init__(self, template: str, title: str) -> None:
        self._html = template.format(title=title)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the page."""
        resp.text = self._html
        resp.content_type = falcon.MEDIA_HTML


def routes(document: dict[str, Any]) -> list[tuple[str, object]]:
    """Return ``(URI template, resource)`` for the documentation routes."""
    title = str(document["info"]["title"])
    return [
        ("/doc/openapi.json", DocumentResource(document)),
        ("/doc/swagger", PageResource(SWAGGER_PAGE, title)),
        ("/doc/redoc", PageResource(REDOC_PAGE, title)),
    ]

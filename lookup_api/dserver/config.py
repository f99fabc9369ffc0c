"""``/config/*``: one body for both API generations, and the health check.

0.18 clients (dtool-lookup-api <= 0.7) read ``/config/info`` and
``/config/versions`` as flat objects; dserver clients (>= 0.8) read
``["config"]`` and ``["versions"]``. Each reply carries both: the flat keys,
plus the same object under the dserver key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from lookup_api.access import Access
from lookup_api.bodies import config_body
from lookup_events.config import Settings
from lookup_events.store.protocols import AdminStore, PageRequest

# NOTE(dev): the dserver contract these routes follow, announced beside 0.18's.
COMPATIBLE_DSERVERCORE_VERSION = "0.22.0"


class ConfigInfoResource:
    """``GET /config/info``: the settings, for any registered user."""

    def __init__(
        self, access: Access, settings: Settings, extra: Mapping[str, Any] | None = None
    ) -> None:
        self._access = access
        config = dict(sorted({**config_body(settings), **(extra or {})}.items()))
        self._body = {**config, "config": config}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the settings, flat and under ``config``."""
        self._access.user(req)
        resp.media = self._body


class VersionsResource:
    """``GET /config/versions``: component versions; no token needed."""

    def __init__(self, versions: Mapping[str, str | None]) -> None:
        flat = dict(versions)
        self._body = {
            **flat,
            "versions": {**flat, "dservercore": COMPATIBLE_DSERVERCORE_VERSION},
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the versions, flat and under ``versions``."""
        resp.media = self._body


class HealthResource:
    """``GET /config/health``: 200 while the database answers; no token needed."""

    def __init__(self, admin: AdminStore) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return ``{"status": "healthy"}`` after one cheap query (503 if it fails)."""
        self._admin.list_base_uris(PageRequest(1, 1))
        resp.media = {"status": "healthy"}

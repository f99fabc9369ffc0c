"""The web app plugin: a browser face for the server, at ``/``.

One HTML page (``/``) loads plain ES modules and a stylesheet from
``/webapp/assets/<name>``, all committed in ``assets/`` (no build step, no
CDN); the page talks to the server's own API with the token pasted at sign
in (kept in the browser session only), or none when the server runs in
single-user mode. ``/webapp/timeline`` adds the one count the summary lacks:
datasets per month of their frozen date. Switched off by
``DTOOL_LOOKUP_WEBAPP=false``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lookup_api.plugins import PluginContext, PluginSetting, Route, on_off
from lookup_api.plugins.webapp.operations import OPERATIONS, SCHEMAS
from lookup_api.plugins.webapp.resources import (
    ASSETS_PREFIX,
    AssetResource,
    PageResource,
    TimelineResource,
    load_assets,
)

VERSION = "1.0.0"


class WebappPlugin:
    """Our own plugin serving the web app."""

    name = "dtool_lookup_webapp"
    version = VERSION
    settings = (
        PluginSetting(
            "DTOOL_LOOKUP_WEBAPP",
            True,
            parse=on_off,
            help="Serve the web app at / (true).",
        ),
    )
    operations = OPERATIONS
    schemas = SCHEMAS
    examples: Mapping[str, Any] = {}

    def enabled(self, config: Mapping[str, Any]) -> bool:
        """Serve the app unless ``DTOOL_LOOKUP_WEBAPP`` is false."""
        return bool(config["DTOOL_LOOKUP_WEBAPP"])

    def routes(self, context: PluginContext) -> Iterable[Route]:
        """Return the page, its assets and the timeline."""
        assets = load_assets()
        page = assets.pop("index.html")
        return [
            ("/", PageResource(page.data, single_user=context.settings.disable_jwt_authorisation)),
            *((f"{ASSETS_PREFIX}/{name}", AssetResource(asset)) for name, asset in assets.items()),
            ("/webapp/timeline", TimelineResource(context)),
        ]


plugin = WebappPlugin()

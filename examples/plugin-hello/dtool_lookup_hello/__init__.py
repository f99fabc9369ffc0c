"""A dtool-lookup plugin with one route: ``GET /hello`` greets the caller."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import falcon

from lookup_api.operations.base import Operation
from lookup_api.plugins import PluginContext, PluginSetting, Route


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


class HelloResource:
    """``GET /hello``: a greeting, and how many datasets the caller may see."""

    def __init__(self, context: PluginContext) -> None:
        self._context = context

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Greet the caller (our authentication: 401 without a registered user's token)."""
        user = self._context.access.user(req)
        summary = self._context.catalog.summary(user)
        greeting = self._context.config["HELLO_GREETING"]
        resp.media = {
            "greeting": f"{greeting}, {user.username}!",
            "datasets": summary.number_of_datasets,
        }


class HelloPlugin:
    """The plugin object the entry point names."""

    name = "dtool_lookup_hello"
    version = "0.1.0"
    settings = (
        PluginSetting("HELLO_GREETING", "Hello", help="What /hello says before your name."),
        PluginSetting("HELLO_ENABLED", True, parse=_bool, help="Serve /hello (true)."),
    )
    operations = (Operation("get", "/hello", "Greet the caller", "hello", "Hello", store=True),)
    schemas: Mapping[str, Any] = {
        "Hello": {
            "type": "object",
            "properties": {"greeting": {"type": "string"}, "datasets": {"type": "integer"}},
            "required": ["greeting", "datasets"],
        }
    }
    examples: Mapping[str, Any] = {}

    def enabled(self, config: Mapping[str, Any]) -> bool:
        """Serve the route unless ``HELLO_ENABLED`` is false."""
        return bool(config["HELLO_ENABLED"])

    def routes(self, context: PluginContext) -> Iterable[Route]:
        """Return the one route."""
        return [("/hello", HelloResource(context))]


plugin = HelloPlugin()

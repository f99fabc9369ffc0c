"""Plugins: installed packages that add routes, settings and a version to the server.

A plugin is an object published under the entry-point group
``dtool_lookup.plugins`` (in its package's ``pyproject.toml``)::

    [project.entry-points."dtool_lookup.plugins"]
    hello = "dtool_lookup_hello:plugin"

The object (or the class, instantiated without arguments) follows the
``Plugin`` protocol: a name and a version (shown in ``/config/versions``),
the settings it reads from the environment (shown in ``/config/info``, secrets
as ``***``), whether those settings switch it on, and its routes, built from a
``PluginContext`` that hands it our own collaborators: ``access`` (who is
calling, and what they may see), ``catalog`` (the datasets a user may see),
the stores and the registrar. Its routes are mounted on our app, so they get
the same middleware (CORS, path guard), error mapping and JSON error envelope
as ours; its ``operations`` and ``schemas`` join the OpenAPI document.

A plugin that cannot be loaded, or whose routes clash with routes already
mounted, is reported in the log at start and left out; the server runs on.
``DTOOL_LOOKUP_PLUGINS`` names the plugins to load (all installed ones by
default, ``none`` for none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

import falcon

from lookup_api.access import Access
from lookup_api.catalog import Catalog
from lookup_api.operations.base import Operation
from lookup_api.schemas import Schema
from lookup_events.config import Settings
from lookup_events.registrar.writer import Registrar
from lookup_events.store.protocols import AdminStore, DatasetStore

ENTRY_POINT_GROUP = "dtool_lookup.plugins"

log = logging.getLogger(__name__)

Route = tuple[str, object]


@dataclass(frozen=True)
class PluginSetting:
    """One setting a plugin reads from the environment."""

    name: str
    default: Any
    parse: Callable[[str], Any] = str
    help: str = ""
    secret: bool = False


def on_off(text: str) -> bool:
    """Read an on/off setting; refuse anything else."""
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


@dataclass(frozen=True)
class PluginContext:
    """What a plugin's routes are built with: our collaborators and its settings."""

    access: Access
    catalog: Catalog
    admin: AdminStore
    datasets: DatasetStore
    registrar: Registrar
    settings: Settings
    config: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Plugin(Protocol):
    """What an entry point of ``dtool_lookup.plugins`` provides."""

    name: str
    version: str | None
    settings: Sequence[PluginSetting]
    operations: Sequence[Operation]
    schemas: Mapping[str, Schema]
    examples: Mapping[str, Any]

    def enabled(self, config: Mapping[str, Any]) -> bool:
        """Tell whether the plugin's settings switch it on."""
        ...

    def routes(self, context: PluginContext) -> Iterable[Route]:
        """Return ``(URI template, resource)`` for each of its routes."""
        ...


@dataclass(frozen=True)
class Mounted:
    """A plugin whose routes are served, with its parsed settings."""

    plugin: Plugin
    config: Mapping[str, Any]
    routes: tuple[Route, ...]

    def public_config(self) -> dict[str, Any]:
        """Return its settings for ``/config/info``, secrets as ``***``."""
        hidden = {item.name for item in self.plugin.settings if item.secret}
        return {
            name: ("***" if name in hidden and value else value)
            for name, value in self.config.items()
        }


def discover(wanted: Sequence[str]) -> list[Plugin]:
    """Load the installed plugins named in ``wanted`` (``*``: all); report failures."""
    found = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if "*" not in wanted and entry.name not in wanted:
            continue
        plugin = _load(entry)
        if plugin is not None:
            found.append(plugin)
    return found


def _load(entry: metadata.EntryPoint) -> Plugin | None:
    try:
        loaded = entry.load()
        plugin = loaded() if isinstance(loaded, type) else loaded
    except Exception:  # a broken plugin must not take the server down
        log.exception(
            "plugin %r (%s) cannot be loaded; serving without it", entry.name, entry.value
        )
        return None
    if not isinstance(plugin, Plugin):
        log.error(
            "plugin %r (%s) is not a dtool-lookup plugin; serving without it",
            entry.name,
            entry.value,
        )
        return None
    return plugin


def _named(entry: metadata.EntryPoint) -> tuple[str, str]:
    return entry.name, entry.value


def read_config(plugin: Plugin, environment: Mapping[str, str]) -> dict[str, Any]:
    """Return a plugin's settings, each from the environment or its default.

    Raises:
        ValueError: a value cannot be parsed; the message names the setting.
    """
    config = {}
    for item in plugin.settings:
        raw = environment.get(item.name)
        try:
            config[item.name] = item.default if raw in (None, "") else item.parse(raw)
        except (TypeError, ValueError) as ex:
            raise ValueError(f"{item.name}={raw!r}: {ex}") from ex
    return config


def mount(
    plugins: Iterable[Plugin],
    base: Mapping[str, object],
    make_context: Callable[..., PluginContext],
) -> list[Mounted]:
    """Return the enabled plugins whose routes fit beside ``base`` and each other."""
    table = _RouteTable(base)
    mounted = (_mountable(plugin, table, make_context) for plugin in plugins)
    return [accepted for accepted in mounted if accepted is not None]


def _mountable(
    plugin: Plugin, table: _RouteTable, make_context: Callable[..., PluginContext]
) -> Mounted | None:
    try:
        config = read_config(plugin, make_context().settings.environ)
        if not plugin.enabled(config):
            log.info("plugin %r is switched off by its settings", plugin.name)
            return None
        routes = tuple(plugin.routes(make_context(config=config)))
        table.take(routes)
    except Exception:  # a plugin's own bug or clash: report it, serve without it
        log.exception("plugin %r cannot be mounted; serving without it", plugin.name)
        return None
    log.info("plugin %r %s serves %d route(s)", plugin.name, plugin.version, len(routes))
    return Mounted(plugin, config, routes)


class _RouteTable:
    """The routes mounted so far, in a trial Falcon router that refuses clashing templates.

    One router grows with every plugin taken (building one afresh of every
    route for each plugin was some 15 ms of every app's start with four plugins).
    """

    def __init__(self, base: Mapping[str, object]) -> None:
        self._taken = dict(base)
        self._trial = self._router()

    def take(self, routes: Sequence[Route]) -> None:
        """Add ``routes``; raise ValueError, adding none, if one clashes with a route taken."""
        for template, _ in routes:
            if template in self._taken:
                raise ValueError(f"route {template} is served already")
        try:
            for template, resource in routes:
                self._trial.add_route(template, resource)  # raises on a clashing template
        except Exception:
            self._trial = self._router()  # forget the refused plugin's routes
            raise
        self._taken.update(routes)

    def _router(self) -> falcon.App[falcon.Request, falcon.Response]:
        trial: falcon.App[falcon.Request, falcon.Response] = falcon.App()
        for template, resource in self._taken.items():
            trial.add_route(template, resource)
        return trial

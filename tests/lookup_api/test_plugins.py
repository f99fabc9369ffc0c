"""Plugins found through real entry points: mounted with our auth, errors and CORS, or left out.

Each test writes a distribution of its own (a ``*.dist-info`` with
``entry_points.txt`` and a module) into a directory on ``sys.path``, the way
pip installs one, so discovery runs through ``importlib.metadata`` as it does
in production.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
import textwrap
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from falcon import testing

from lookup_api import plugins
from lookup_events.config import Settings
from lookup_events.store import Stores
from tests.support.api import Header, client_for

REPO = Path(__file__).resolve().parents[2]

PLUGIN_MODULE = """
from lookup_api.operations.base import Operation
from lookup_api.plugins import PluginSetting
from lookup_events.errors import DatasetNotFound


class Echo:
    def __init__(self, context):
        self._context = context

    def on_get(self, req, resp):
        user = self._context.access.user(req)
        resp.media = {"user": user.username, "colour": self._context.config["COLOUR"]}


class Missing:
    def on_get(self, req, resp):
        raise DatasetNotFound("nothing here")


class Good:
    name = "good_plugin"
    version = "1.2.3"
    settings = (
        PluginSetting("COLOUR", "blue"),
        PluginSetting("GOOD_TOKEN", "", secret=True),
        PluginSetting("GOOD_ENABLED", True, parse=lambda text: text == "true"),
    )
    operations = (Operation("get", "/echo", "Echo the caller", "good", "Echoed"),)
    schemas = {"Echoed": {"type": "object"}}
    examples = {}

    def enabled(self, config):
        return config["GOOD_ENABLED"]

    def routes(self, context):
        return [("/echo", Echo(context)), ("/missing", Missing())]


class Clashing(Good):
    name = "clashing_plugin"
    operations = ()

    def routes(self, context):
        return [("/uris/{other}", Missing())]


plugin = Good()
clashing = Clashing()
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Install a distribution with a good, a clashing and a broken plugin; yield its module."""
    module = f"fake_plugins_{uuid.uuid4().hex[:8]}"
    site = tmp_path / "site"
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(PLUGIN_MODULE)
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[dtool_lookup.plugins]\n"
        f"good = {module}:plugin\n"
        f"clashing = {module}:clashing\n"
        f"broken = {module}_missing_module:plugin\n"
        f"odd = {module}:PLUGIN_MODULE_NOT_THERE\n"
    )
    monkeypatch.syspath_prepend(str(site))
    yield module


def app_client(settings: Settings, stores: Stores, **environ: str) -> testing.TestClient:
    return client_for(dataclasses.replace(settings, environ_items=tuple(environ.items())), stores)


def test_a_plugin_route_gets_our_auth_settings_and_document(
    installed: str, settings: Settings, sqlite_stores: Stores, auth: Header
) -> None:
    sqlite_stores.admin.add_user("ann")
    client = app_client(settings, sqlite_stores, COLOUR="green", GOOD_TOKEN="s3cret")

    answer = client.simulate_get("/echo", headers={**auth("ann"), "Origin": "https://x.org"})

    assert answer.json == {"user": "ann", "colour": "green"}
    assert answer.headers["Access-Control-Allow-Origin"] == "*"  # our CORS
    assert client.simulate_get("/echo").status_code == 401  # our authentication
    assert client.simulate_get("/echo", headers=auth("nobody")).status_code == 401
    info = client.simulate_get("/config/info", headers=auth("ann")).json
    assert (info["colour"], info["good_token"]) == ("green", "***")
    assert info["config"]["colour"] == "green"
    assert client.simulate_get("/config/versions").json["good_plugin"] == "1.2.3"
    document = client.simulate_get("/doc/openapi.json").json
    assert "/echo" in document["paths"]
    assert "Echoed" in document["components"]["schemas"]


def test_a_plugin_error_gets_our_error_envelope(
    installed: str, settings: Settings, sqlite_stores: Stores
) -> None:
    answer = app_client(settings, sqlite_stores).simulate_get("/missing")

    assert answer.status_code == 404
    assert answer.json == {"code": 404, "status": "Not Found", "message": "nothing here"}


def test_broken_and_clashing_plugins_are_reported_and_left_out(
    installed: str,
    settings: Settings,
    sqlite_stores: Stores,
    auth: Header,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sqlite_stores.admin.add_user("ann")
    with caplog.at_level(logging.INFO, logger="lookup_api.plugins"):
        client = app_client(settings, sqlite_stores)

    logged = "\n".join(caplog.messages)
    assert "plugin 'broken'" in logged and "cannot be loaded" in logged
    assert "plugin 'odd'" in logged
    assert "plugin 'clashing_plugin' cannot be mounted" in logged
    assert client.simulate_get("/echo", headers=auth("ann")).status_code == 200  # the good one
    versions = client.simulate_get("/config/versions").json
    assert "clashing_plugin" not in versions


def test_a_plugin_switched_off_or_not_named_serves_nothing(
    installed: str, settings: Settings, sqlite_stores: Stores, auth: Header
) -> None:
    off = app_client(settings, sqlite_stores, GOOD_ENABLED="false")
    unnamed = client_for(dataclasses.replace(settings, plugins=("none",)), sqlite_stores)

    for client in (off, unnamed):
        assert client.simulate_get("/echo").status_code == 404
        assert "good_plugin" not in client.simulate_get("/config/versions").json


@pytest.mark.slow
def test_installing_the_example_plugin_adds_its_route(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"),
            *("--target", str(target), str(REPO / "examples" / "plugin-hello")),
        ],
        check=True,
        timeout=300,
    )
    script = textwrap.dedent(
        """
        import json, sys
        from falcon import testing
        from lookup_api.app import create_app
        from lookup_events.config import Settings
        from lookup_events.store import open_stores, upgrade_database
        settings = Settings.from_env({"DTOOL_LOOKUP_DATA_DIR": sys.argv[1],
                                      "DISABLE_JWT_AUTHORISATION": "true",
                                      "DEFAULT_USER": "ann", "HELLO_GREETING": "Moin"})
        upgrade_database(settings.database_url)
        stores = open_stores(settings)
        stores.admin.add_user("ann")
        client = testing.TestClient(create_app(settings, stores))
        print(json.dumps([client.simulate_get("/hello").json,
                          client.simulate_get("/config/versions").json,
                          "/hello" in client.simulate_get("/doc/openapi.json").json["paths"]]))
        """
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    hello, versions, documented = json.loads(done.stdout.splitlines()[-1])
    assert hello == {"greeting": "Moin, ann!", "datasets": 0}
    assert versions["dtool_lookup_hello"] == "0.1.0"
    assert documented


@dataclasses.dataclass
class _Routes:
    """A plugin of fixed routes, for ``plugins.mount`` alone."""

    name: str
    served: list[tuple[str, object]]
    version: str | None = "1"
    settings: tuple[()] = ()

    def enabled(self, config: object) -> bool:
        return True

    def routes(self, context: object) -> list[tuple[str, object]]:
        return self.served


class _Page:
    def on_get(self, req: object, resp: object) -> None:
        """Serve nothing."""


def test_a_refused_plugin_takes_none_of_its_routes_and_an_accepted_one_takes_all(
    settings: Settings,
) -> None:
    half = _Routes("half", [("/half/{a}", _Page()), ("/uris/{other}", _Page())])
    later = _Routes("later", [("/half/{b}", _Page())])  # clashes only with half's first route
    last = _Routes("last", [("/half/{c}", _Page())])  # clashes with later's route
    context = types.SimpleNamespace(settings=settings)

    mounted = plugins.mount([half, later, last], {"/uris/{uri}": _Page()}, lambda **_: context)

    assert [item.plugin.name for item in mounted] == ["later"]

"""Fuzzing: schemathesis drives the app in-process over the whole OpenAPI document.

Every operation is tried as an admin, as a normal user and as nobody, with
data the document allows and data it forbids; then the document's links are
followed statefully (create a base URI, register a dataset into it, read it
back, delete it). Any server error, any reply the document does not describe
and any forbidden request accepted fails the test.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._checks import PositiveDataAcceptanceConfig
from schemathesis.config._phases import InferenceConfig
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance

from lookup_api import openapi, plugins
from lookup_api.app import WSGIApp, create_app
from lookup_api.operations import SHARED_ROUTES
from lookup_events.config import Settings
from lookup_events.store import Stores, open_stores
from tests.support.api import Header
from tests.support.data import MR_MEN, SNOW_WHITE, load_anchor_data
from tests.support.stores import settings_for

pytestmark = pytest.mark.slow  # schemathesis drives every operation, then the links

IDENTITIES = {"admin": "snow-white", "user": "grumpy", "nobody": None}
MAX_EXAMPLES = 10
STATEFUL_SCENARIOS = 25


class CurrentApp:
    """A WSGI app passing each request to the app of the running test."""

    app: WSGIApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


CURRENT = CurrentApp()
# NOTE(dev): the installed plugins' routes (ours among them) are fuzzed too.
schema = schemathesis.openapi.from_dict(
    openapi.document(extension=openapi.Extension.of(plugins.discover(("*",))))
)
# NOTE(dev): the curation writes and the links to a dataset's components reach the
# dataset's own storage, and the fuzz data are documents whose storage does not exist
# (s3://snow-white is no bucket): every accepted request would end in a 502/503 by
# design, or wait on the network. Their input checks, permissions and failures run
# against real disk and moto datasets in tests/lookup_api/dserver/test_curation.py and
# test_signed_urls.py; the download route (/signed-urls/content) is fuzzed here.
schema = schema.exclude(tag="curation").exclude(path_regex="^/signed-urls/(dataset|item)/")
schema.app = CURRENT
schema.config.generation.update(
    max_examples=MAX_EXAMPLES, with_security_parameters=False, allow_x00=False, codec="utf-8"
)
# NOTE(dev): both generations answer 400 to well-formed requests that break a rule
# (0.18's readme without a uri, dserver's PUT naming another URI); 422 stays an
# error here, so the validator can never reject what the document allows.
schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=["2xx", "400", "401", "403", "404", "409"]
)
# NOTE(dev): a bad or malformed token answers 422 (as flask-jwt-extended did for 0.18
# and dserver); ignored_auth expects 401. The "nobody" runs check missing tokens.
schema.config.checks.ignored_auth.enabled = False
# Stateful runs follow the document's own links only: inferred ones (such as
# GET /me -> PUT /users/{username}) let the admin demote itself early on.
schema.config.phases.stateful.inference = InferenceConfig(algorithms=[])


def load_fuzz_data(stores: Stores) -> None:
    """Load the anchor data; the admin and grumpy may search and register everywhere."""
    load_anchor_data(stores)
    for base_uri in (SNOW_WHITE, MR_MEN):
        users = ["grumpy", "snow-white"]
        stores.admin.set_permissions(base_uri, search=users, register=users)


@pytest.fixture
def new_app(
    settings: Settings, tmp_path: Path, _migrated_sqlite_file: Path
) -> Iterator[Callable[[], WSGIApp]]:
    """Return a maker of apps over fresh SQLite stores holding the fuzz data."""
    opened: list[Stores] = []

    def make() -> WSGIApp:
        path = tmp_path / f"fuzz-{len(opened)}.db"
        shutil.copyfile(_migrated_sqlite_file, path)
        stores = open_stores(settings_for(f"sqlite:///{path}", tmp_path))
        opened.append(stores)
        load_fuzz_data(stores)
        linked = dataclasses.replace(settings, signed_url_secret="a fuzzing secret")
        CURRENT.app = create_app(linked, stores)
        return CURRENT.app

    yield make
    for stores in opened:
        stores.close()


@pytest.fixture
def fuzz_app(new_app: Callable[[], WSGIApp]) -> WSGIApp:
    """An app over fresh stores for one operation and identity."""
    return new_app()


# NOTE(dev): one Falcon route serves /tags/{uri} and /tags/{uri}/{tag} (a URI holds
# slashes, so it must be the route's last field); its Allow header lists the methods of
# both paths, which a browser's CORS preflight needs, and cannot match either path alone.
SHARED_PATHS = {p for served in SHARED_ROUTES.values() for m in served.values() for p in m}


def excluded_checks(case: Any) -> list[Any]:
    """Return the checks that cannot hold for the operation of ``case``.

    NOTE(dev): no JSON Schema says which MongoDB filters and pipelines are in the
    supported subset; a /mongo/ body the document allows may still get a 422.
    """
    excluded = [allow_header_conformance] if case.operation.path in SHARED_PATHS else []
    if case.operation.path.startswith("/mongo/"):
        excluded.append(positive_data_acceptance)
    return excluded


def refuses_nobody(response: Any, case: Any) -> None:
    """Fail when a route that needs a token answers a request without one with success."""
    security = case.operation.definition.raw.get("security")
    # [] or a requirement that is empty ({}): the token may be left out.
    secured = security != [] and {} not in (security or [])
    own_method = response.request.method.upper() == case.operation.method.upper()
    assert not (secured and own_method and response.status_code < 400), response.text


@schema.parametrize()
@pytest.mark.parametrize("identity", list(IDENTITIES))
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case: Any, identity: str, fuzz_app: WSGIApp, auth: Header) -> None:
    username = IDENTITIES[identity]
    response = case.call_and_validate(
        headers=auth(username) if username else {}, excluded_checks=excluded_checks(case)
    )
    if username is None:
        refuses_nobody(response, case)


@pytest.mark.parametrize("identity", ["admin", "user"])
def test_links(identity: str, new_app: Callable[[], WSGIApp], auth: Header) -> None:
    headers = auth(IDENTITIES[identity] or "")

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        """Each scenario starts from fresh stores, so replays behave the same."""

        def setup(self) -> None:
            new_app()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )

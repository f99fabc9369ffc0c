"""Who is calling: users are remembered per admin revision, and every change is seen at once.

A request names its user by token; the user and their permissions come from
the admin store's cache until an admin write bumps the revision. Here the
writes go through other stores on the same database, as another API worker
or the ``dtool-lookup`` command would make them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from falcon import testing
from sqlalchemy import event
from sqlalchemy.engine import Engine

from lookup_events.config import Settings
from lookup_events.store import Stores, open_stores
from tests.support.api import Header, client_for
from tests.support.data import BAD_APPLES_UUID, MR_MEN, SNOW_WHITE, load_anchor_data
from tests.support.stores import settings_for

LOOKUP = f"/dataset/lookup/{BAD_APPLES_UUID}"


@pytest.fixture
def other(database_url: str, tmp_path: Path) -> Iterator[Stores]:
    """Stores of someone else writing to the same database."""
    (tmp_path / "other").mkdir()
    opened = open_stores(settings_for(database_url, tmp_path / "other"))
    yield opened
    opened.close()


@pytest.fixture
def api(settings: Settings, stores: Stores) -> testing.TestClient:
    load_anchor_data(stores)
    return client_for(settings, stores)


@pytest.fixture
def user_queries() -> Iterator[list[str]]:
    """Collect the SQL statements that read the users table, from any engine."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        statement = str(args[2])
        if "FROM users" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    yield seen
    event.remove(Engine, "before_cursor_execute", note)


def copies(api: testing.TestClient, auth: Header, username: str) -> object:
    """Return the base URIs of the bad-apples copies the user sees, or the refusal status."""
    reply = api.simulate_get(LOOKUP, headers=auth(username))
    if reply.status_code != 200:
        return reply.status_code
    return sorted(entry["base_uri"] for entry in reply.json)


def test_requests_with_no_admin_change_read_no_user(
    api: testing.TestClient, auth: Header, user_queries: list[str]
) -> None:
    assert copies(api, auth, "grumpy") == [MR_MEN, SNOW_WHITE]
    first = len(user_queries)
    for _ in range(20):
        assert copies(api, auth, "grumpy") == [MR_MEN, SNOW_WHITE]
        assert api.simulate_get("/dataset/list", headers=auth("grumpy")).status_code == 200
    assert first > 0
    assert len(user_queries) == first


def test_grants_and_revokes_are_seen_by_the_next_request(
    api: testing.TestClient, auth: Header, other: Stores
) -> None:
    assert copies(api, auth, "grumpy") == [MR_MEN, SNOW_WHITE]
    assert copies(api, auth, "sleepy") == []

    other.admin.revoke("grumpy", MR_MEN, "search")
    assert copies(api, auth, "grumpy") == [SNOW_WHITE]

    other.admin.grant("sleepy", MR_MEN, "search")
    assert copies(api, auth, "sleepy") == [MR_MEN]
    other.admin.grant("grumpy", MR_MEN, "search")
    assert copies(api, auth, "grumpy") == [MR_MEN, SNOW_WHITE]

    other.admin.set_permissions(SNOW_WHITE, search=["sleepy"], register=[])
    assert copies(api, auth, "grumpy") == [MR_MEN]
    assert copies(api, auth, "sleepy") == [MR_MEN, SNOW_WHITE]


def test_a_deleted_user_is_refused_by_the_next_request(
    api: testing.TestClient, auth: Header, other: Stores
) -> None:
    assert copies(api, auth, "grumpy") == [MR_MEN, SNOW_WHITE]

    other.admin.delete_user("grumpy")
    assert copies(api, auth, "grumpy") == 401

    other.admin.add_user("grumpy")  # back, without the permissions deleted with them
    assert copies(api, auth, "grumpy") == []


def test_admin_rights_follow_the_flag_at_once(
    api: testing.TestClient, auth: Header, other: Stores
) -> None:
    assert api.simulate_get("/users", headers=auth("grumpy")).status_code == 403

    other.admin.put_user("grumpy", is_admin=True)
    assert api.simulate_get("/users", headers=auth("grumpy")).status_code == 200

    other.admin.put_user("grumpy", is_admin=False)
    assert api.simulate_get("/users", headers=auth("grumpy")).status_code == 403

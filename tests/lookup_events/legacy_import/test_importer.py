"""``dtool-lookup migrate from-dtool-lookup-server`` against a real 0.18.0 deployment.

The old deployment (``anchor_deployment``) is written by the real
dtool-lookup-server 0.18.0; datasets are registered by rescanning storage.
"""

from __future__ import annotations

import os
import pty
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lookup_events.legacy_import.importer import LegacyImport
from lookup_events.legacy_import.old_database import OldDeployment
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores, open_stores
from lookup_events.store.sql.engine import sql_url
from lookup_events.uris import normalise_uri
from tests.support.anchor_deployment import Anchor, build_anchor
from tests.support.api import ApiClient
from tests.support.cli_runner import LookupCli
from tests.support.postgres import DEFAULT_POSTGRES_URL
from tests.support.servers import require_service

pytestmark = pytest.mark.slow  # the real 0.18.0 writes the old deployment

MIGRATE = ("migrate", "from-dtool-lookup-server")


@pytest.fixture
def migrated(cli: LookupCli, anchor: Anchor) -> Any:
    """The result of migrating the old deployment by rescanning storage."""
    return cli(*MIGRATE, "--from-sql", anchor.database_url)


@pytest.fixture
def stores(cli: LookupCli, migrated: Any) -> Iterator[Stores]:
    """The new server's stores after the migration."""
    opened = open_stores(cli.settings())
    yield opened
    opened.close()


def sorted_lists(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return ``items`` with every list value sorted (the order of permissions varies)."""
    return [{k: sorted(v) if isinstance(v, list) else v for k, v in i.items()} for i in items]


def test_the_old_server_wrote_what_the_migration_reads(anchor: Anchor) -> None:
    users = {user["username"]: user for user in anchor.listing["users"]}
    assert users["snow-white"]["is_admin"] is True
    assert sorted(users["sleepy"]["search_permissions_on_base_uris"]) == sorted(
        [anchor.archive, anchor.share]
    )
    assert [item["base_uri"] for item in anchor.listing["base_uris"]] == [
        anchor.archive,
        anchor.share,
    ]


def test_migration_copies_users_base_uris_and_both_permissions(
    cli: LookupCli, anchor: Anchor, migrated: Any
) -> None:
    assert migrated.exit_code == 0, migrated.stderr
    assert sorted_lists(cli.json("user", "list")) == sorted_lists(anchor.listing["users"])
    assert sorted_lists(cli.json("base-uri", "list")) == sorted_lists(anchor.listing["base_uris"])
    assert migrated.stdout.splitlines() == [
        "Users: 4 copied, 0 skipped, 0 failed",
        "Base URIs: 2 copied, 0 skipped, 0 failed",
        "Search permissions: 3 copied, 0 skipped, 0 failed",
        "Register permissions: 2 copied, 0 skipped, 0 failed",
        "Datasets: 3 copied, 1 skipped, 1 failed",
    ]


def test_migration_registers_the_datasets_in_storage(anchor: Anchor, stores: Stores) -> None:
    for name in ("apples", "pears", "figs"):
        record = stores.datasets.get(anchor.uris[name])
        assert record is not None and record.entry.name == name
    assert stores.datasets.get(anchor.uris["gone"]) is None


def test_the_report_names_each_failure_with_its_reason(anchor: Anchor, migrated: Any) -> None:
    assert migrated.stderr.splitlines() == [
        f"Failed (datasets): {anchor.uris['gone']}: "
        "the old server listed it; it was not found or not registered"
    ]


def test_the_migrated_server_answers_the_old_lookups(
    anchor: Anchor, stores: Stores, tmp_path: Path
) -> None:
    api = ApiClient(stores, tmp_path)
    apples = api.get(f"/dataset/lookup/{anchor.uuids['apples']}", "grumpy").json
    assert [(item["uri"], item["name"]) for item in apples] == [(anchor.uris["apples"], "apples")]
    assert api.get(f"/dataset/lookup/{anchor.uuids['figs']}", "grumpy").json == []
    figs = api.get(f"/dataset/lookup/{anchor.uuids['figs']}", "sleepy").json
    assert [item["creator_username"] for item in figs] == ["sleepy"]
    grumpy = api.get("/user/info/grumpy", "grumpy").json
    assert grumpy == {
        "username": "grumpy",
        "is_admin": False,
        "search_permissions_on_base_uris": [anchor.archive],
        "register_permissions_on_base_uris": [anchor.archive],
    }
    assert api.get("/user/info/snow-white", "snow-white").json["is_admin"] is True
    assert api.get("/user/info/grumpy", "snow-white").status_code == 200
    assert api.get("/user/info/snow-white", "grumpy").status_code == 404


def test_migrating_again_skips_everything(cli: LookupCli, anchor: Anchor, migrated: Any) -> None:
    again = cli.ok(*MIGRATE, "--from-sql", anchor.database_url)
    assert again.stdout.splitlines() == [
        "Users: 0 copied, 4 skipped, 0 failed",
        "Base URIs: 0 copied, 2 skipped, 0 failed",
        "Search permissions: 0 copied, 3 skipped, 0 failed",
        "Register permissions: 0 copied, 2 skipped, 0 failed",
        "Datasets: 0 copied, 4 skipped, 1 failed",
    ]


def test_an_interrupted_migration_is_finished_by_running_it_again(
    cli: LookupCli, anchor: Anchor, stores: Stores
) -> None:
    stores.datasets.delete(anchor.uris["pears"])
    stores.admin.revoke("sleepy", anchor.share, "register")
    stores.admin.delete_user("dopey")
    again = cli.ok(*MIGRATE, "--from-sql", anchor.database_url)
    assert again.stdout.splitlines()[0] == "Users: 1 copied, 3 skipped, 0 failed"
    assert again.stdout.splitlines()[3] == "Register permissions: 1 copied, 1 skipped, 0 failed"
    assert again.stdout.splitlines()[4] == "Datasets: 1 copied, 3 skipped, 1 failed"
    assert stores.datasets.get(anchor.uris["pears"]) is not None


def test_what_the_new_server_changed_is_left_alone(
    cli: LookupCli, anchor: Anchor, stores: Stores
) -> None:
    stores.admin.put_user("grumpy", is_admin=True)
    cli.ok(*MIGRATE, "--from-sql", anchor.database_url)
    user = stores.admin.get_user("grumpy")
    assert user is not None and user.is_admin is True


def test_on_a_terminal_a_progress_bar_shows_the_datasets(cli: LookupCli, anchor: Anchor) -> None:
    env = {k: v for k, v in os.environ.items() if k not in cli.env}
    env.update({k: v for k, v in cli.env.items() if v is not None})
    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "lookup_events.cli", *MIGRATE, "--from-sql"]
    process = subprocess.Popen(
        [*command, anchor.database_url], stdout=terminal, stderr=subprocess.DEVNULL, env=env
    )
    os.close(terminal)
    output = b""
    while chunk := _read(controller):
        output += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0
    text = output.decode()
    assert "Registering datasets" in text and "4/4" in text
    assert "Datasets: 3 copied, 1 skipped, 1 failed" in text


def _read(descriptor: int) -> bytes:
    try:
        return os.read(descriptor, 4096)
    except OSError:  # EIO: the terminal closed
        return b""


@pytest.fixture
def postgres_anchor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anchor]:
    """The old deployment with its SQL database on PostgreSQL (dropped afterwards)."""
    server = make_url(
        sql_url(os.environ.get("DTOOL_LOOKUP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    )
    require_service("PostgreSQL", server.host or "127.0.0.1", server.port or 5432)
    name = f"dtool_lookup_anchor_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    # NOTE(dev): a plain postgresql:// URL: psycopg2 for 0.18, psycopg 3 for us.
    url = server.set(drivername="postgresql", database=name)
    try:
        yield build_anchor(tmp_path_factory.mktemp("anchor"), url.render_as_string(False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_migration_reads_an_old_database_on_postgresql(
    cli: LookupCli, postgres_anchor: Anchor
) -> None:
    result = cli.ok(*MIGRATE, "--from-sql", postgres_anchor.database_url)
    assert sorted_lists(cli.json("user", "list")) == sorted_lists(postgres_anchor.listing["users"])
    assert result.stdout.splitlines()[-1] == "Datasets: 3 copied, 1 skipped, 1 failed"


def test_a_base_uri_that_cannot_be_listed_is_reported(
    stores: Stores, anchor: Anchor, tmp_path: Path
) -> None:
    unmounted = normalise_uri(str(tmp_path / "unmounted"))
    migration = LegacyImport(
        stores.admin, stores.datasets, Registrar(stores.admin, stores.datasets)
    )
    migration.copy_admin(OldDeployment(users=[], base_uris=[unmounted], permissions=[]))
    migration.rescan([unmounted, anchor.archive])
    [(kind, item, reason)] = migration.report.failures
    assert (kind, item) == ("datasets", unmounted)
    assert reason.startswith("cannot list the base URI")
    assert migration.report.tallies["datasets"].skipped == 3  # the archive, migrated already

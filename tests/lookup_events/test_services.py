"""The composition root's two policies: who migrates the schema, and who makes the keys."""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lookup_events.config import Settings
from lookup_events.errors import SetupError
from lookup_events.keys import LINK_SECRET_NAME, PRIVATE_KEY_NAME, PUBLIC_KEY_NAME
from lookup_events.services import Deployment, Services
from lookup_events.store import schema_status, upgrade_database
from lookup_events.store.sql.engine import sql_url
from tests.support.postgres import DEFAULT_POSTGRES_URL
from tests.support.servers import require_service

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of the test's own, with no schema at all."""
    server = make_url(
        sql_url(os.environ.get("DTOOL_LOOKUP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    )
    require_service("PostgreSQL", server.host or "127.0.0.1", server.port or 5432)
    name = f"dtool_lookup_services_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def server_settings(url: str, data_dir: Path, **changes: str) -> Settings:
    return dataclasses.replace(
        Settings(data_dir=data_dir, database_url=url).completed(), **changes
    )


def test_an_embedded_deployment_prepares_itself(tmp_path: Path) -> None:
    services = Services(Settings(data_dir=tmp_path).completed())
    assert services.deployment is Deployment.EMBEDDED

    services.admin.add_user("ann")  # the schema was made on first use
    settings = services.api_settings()

    assert schema_status(services.settings.database_url).up_to_date
    assert settings.jwt_public_key == (tmp_path / PUBLIC_KEY_NAME).read_text()
    assert services.signing_key() == (tmp_path / PRIVATE_KEY_NAME).read_text()
    services.close()


def test_processes_starting_together_share_one_key_pair(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path).completed()

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: Services(settings).keyed_settings.jwt_public_key, range(8)))

    assert len(keys) == 1
    assert keys == {(tmp_path / PUBLIC_KEY_NAME).read_text()}


def test_embedded_key_pair_is_generated_once(tmp_path):
    settings = Settings.from_env({"DTOOL_LOOKUP_DATA_DIR": str(tmp_path)})
    first = Services(settings).keyed_settings
    second = Services(settings).keyed_settings
    assert first.jwt_public_key.startswith("-----BEGIN PUBLIC KEY-----")
    assert first.jwt_private_key == second.jwt_private_key
    assert (tmp_path / "jwt_private_key.pem").stat().st_mode & 0o077 == 0


def test_a_configured_public_key_is_never_replaced(tmp_path):
    settings = Settings.from_env(
        {"DTOOL_LOOKUP_DATA_DIR": str(tmp_path), "JWT_PUBLIC_KEY": "ssh-rsa AAAA x"}
    )
    assert Services(settings).keyed_settings.jwt_public_key == "ssh-rsa AAAA x"
    assert not (tmp_path / "jwt_private_key.pem").exists()


@pytest.mark.postgres
def test_a_server_database_is_migrated_only_on_request(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    services = Services(server_settings(empty_postgres_url, tmp_path))
    assert services.deployment is Deployment.SERVER

    with pytest.raises(SetupError, match=r"holds no schema.*run `dtool-lookup db upgrade`"):
        services.stores  # noqa: B018 - opening the stores is the point
    assert schema_status(empty_postgres_url).current is None  # untouched

    assert services.upgrade_schema() == [empty_postgres_url]
    services.admin.add_user("ann")
    services.close()


@pytest.mark.postgres
def test_a_server_database_behind_the_code_is_refused(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    upgrade_database(empty_postgres_url, "0001")

    with pytest.raises(SetupError, match="holds revision 0001, this version needs revision"):
        Services(server_settings(empty_postgres_url, tmp_path)).ensure_schema()

    assert schema_status(empty_postgres_url).current == "0001"


def test_a_server_deployment_makes_no_keys(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/nothing"  # never connected to
    services = Services(server_settings(url, tmp_path))

    with pytest.raises(SetupError, match="no public key to verify tokens with"):
        services.api_settings()
    with pytest.raises(SetupError, match="a server deployment is given its keys"):
        services.signing_key()
    assert list(tmp_path.iterdir()) == []


def test_a_lambda_is_a_server_deployment_even_on_sqlite(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path).completed()
    services = Services(settings, deployment=Deployment.SERVER)

    with pytest.raises(SetupError, match="no public key"):
        services.api_settings()
    with pytest.raises(SetupError, match="holds no schema"):
        services.ensure_schema()
    assert list(tmp_path.iterdir()) == []


def test_disabled_authorisation_needs_no_key(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/nothing"
    settings = server_settings(url, tmp_path, default_user="ann")
    settings = dataclasses.replace(settings, disable_jwt_authorisation=True)

    assert Services(settings).api_settings().default_user == "ann"


@pytest.mark.postgres
def test_gunicorn_refuses_a_server_deployment_without_a_public_key(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    upgrade_database(empty_postgres_url)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DTOOL_LOOKUP_DATA_DIR": str(tmp_path / "data"),
        "DTOOL_LOOKUP_DATABASE_URL": empty_postgres_url,
        "DTOOL_LOOKUP_PORT": "0",
    }
    command = [sys.executable, "-m", "gunicorn", "lookup_api.wsgi:app"]
    command += ["-c", str(REPO / "infra" / "gunicorn.conf.py")]

    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode != 0
    assert "no public key to verify tokens with" in done.stderr
    assert "Booting worker" not in done.stderr  # the master stopped before any worker
    assert not (tmp_path / "data" / PRIVATE_KEY_NAME).exists()


def test_embedded_processes_share_one_signed_url_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path).completed()

    with ThreadPoolExecutor(8) as pool:
        found = set(
            pool.map(lambda _: Services(settings).api_settings().signed_url_secret, range(8))
        )

    assert len(found) == 1
    (secret,) = found
    assert len(secret) >= 32
    assert (tmp_path / LINK_SECRET_NAME).stat().st_mode & 0o077 == 0


def test_a_configured_signed_url_secret_is_kept_and_a_server_makes_none(tmp_path: Path) -> None:
    configured = Settings.from_env(
        {"DTOOL_LOOKUP_DATA_DIR": str(tmp_path), "DTOOL_LOOKUP_SIGNED_URL_SECRET": "mine"}
    )
    server = server_settings("postgresql://nowhere/db", tmp_path, jwt_public_key="ssh-rsa AAAA x")

    assert Services(configured).api_settings().signed_url_secret == "mine"
    assert Services(server).api_settings().signed_url_secret == ""
    assert not (tmp_path / LINK_SECRET_NAME).exists()

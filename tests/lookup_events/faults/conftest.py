"""Fixtures for fault tests: a RabbitMQ virtual host, fresh stores, a dataset factory."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lookup_events.store import Stores, open_stores
from tests.conftest import BACKENDS, require_service, settings_for
from tests.lookup_events.faults.support import AMQP_URL, DatasetFactory, RabbitVhost

# NOTE(dev): kombu's SQL transport uses an ORM option SQLAlchemy 2.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")


def require_rabbitmqctl() -> None:
    """Skip (fail under CI=true) when RabbitMQ or its control command is missing."""
    parts = urlsplit(AMQP_URL)
    require_service("RabbitMQ", parts.hostname or "127.0.0.1", parts.port or 5672)
    if shutil.which("rabbitmqctl") is None:
        reason = "rabbitmqctl is not on PATH"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def rabbit() -> Iterator[RabbitVhost]:
    """A RabbitMQ virtual host of the test's own, deleted afterwards."""
    require_rabbitmqctl()
    with RabbitVhost() as vhost:
        yield vhost


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[DatasetFactory]:
    """Makes frozen datasets in ``tmp_path/base``."""
    made = DatasetFactory(tmp_path / "base")
    yield made
    made.close()


def open_test_stores(url: str, data_dir: Path) -> Stores:
    """Open the stores at ``url`` (already migrated)."""
    return open_stores(settings_for(url, data_dir))


@pytest.fixture
def sqlite_url_migrated(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated, empty SQLite database."""
    return BACKENDS["sqlite"](request)


@pytest.fixture
def postgres_url_migrated(request: pytest.FixtureRequest) -> str:
    """The URL of the session's migrated PostgreSQL database, emptied."""
    return BACKENDS["postgres"](request)

"""Lambda fixtures: a moto server on 127.0.0.1, a wired bucket, the registrar's processor."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from lambdas.registrar import NotificationProcessor
from lookup_events.consumer import EventHandler
from lookup_events.registrar import Registrar
from lookup_events.store import Stores
from tests.lambdas.aws import REGION, Aws, new_bucket_name, point_dtool_s3_at


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Run a moto server (all services, in memory) on a free 127.0.0.1 port."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """boto3 clients on the moto server; the default credential chain points there too."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return Aws(moto_endpoint)


@pytest.fixture
def bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> str:
    """Create an empty bucket that dtool-s3 reads and writes on the moto server."""
    name = new_bucket_name()
    aws.client("s3").create_bucket(Bucket=name)
    point_dtool_s3_at(monkeypatch, name, aws.endpoint)
    return name


@pytest.fixture
def processor(sqlite_stores: Stores) -> NotificationProcessor:
    """The registrar Lambda's processor over empty SQLite stores."""
    registrar = Registrar(sqlite_stores.admin, sqlite_stores.datasets)
    return NotificationProcessor(EventHandler(registrar))

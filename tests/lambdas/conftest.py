"""Lambda fixtures: a bucket dtool-s3 writes to on moto, the registrar's processor."""

from __future__ import annotations

import pytest

from lambdas.registrar import NotificationProcessor
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores
from tests.support.aws import Aws, new_bucket_name, point_dtool_s3_at


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
    return NotificationProcessor(BatchHandler(registrar))

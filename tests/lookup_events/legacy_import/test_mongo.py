"""Migrating datasets from the old MongoDB collection (``--from-mongo``).

The documents are the ones the real 0.18.0 Mongo plugins wrote (see
``anchor_deployment``): UUIDs as strings for the CLI-indexed datasets and as
BSON binary subtype 4 for the one registered over HTTP, timestamps as BSON
datetimes. mongomock stands in for the old MongoDB server, which is not
available here; the documents are loaded into it from the BSON dump.
"""

from __future__ import annotations

import datetime as dt
import functools
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
import mongomock
import pytest
from bson import Binary, ObjectId
from bson.binary import UuidRepresentation

from lookup_events.errors import InvalidDataset
from lookup_events.legacy_import.importer import ImportReport, LegacyImport
from lookup_events.legacy_import.mongo import info_from_document, old_collection
from lookup_events.legacy_import.old_database import read_old_database
from lookup_events.registrar.writer import Registrar
from lookup_events.storage.brokers import read_dataset
from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest, SearchQuery
from tests.support.anchor_deployment import Anchor
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.stores import StoreBackend

OLD_URL = "mongodb://old-server.invalid:27017"
ALL = PageRequest(1, 100)


@pytest.fixture
def old_server(anchor: Anchor, mongomock_server: Any) -> Any:
    """A mongomock client factory whose ``dtool_info.datasets`` holds 0.18's documents."""
    factory = functools.partial(mongomock.MongoClient, _store=mongomock_server)
    collection = factory(OLD_URL)["dtool_info"]["datasets"]
    collection.insert_many(bson.decode_all(anchor.dump.read_bytes()))
    return factory


@pytest.fixture
def stores(backend: StoreBackend) -> Iterator[Stores]:
    """Empty stores on each dataset-store backend."""
    opened = backend.open()
    yield opened
    opened.close()


def migrate(stores: Stores, anchor: Anchor, old_server: Any) -> ImportReport:
    """Copy the admin data from the old SQL database and the datasets from Mongo."""
    migration = LegacyImport(
        stores.admin, stores.datasets, Registrar(stores.admin, stores.datasets)
    )
    migration.copy_admin(read_old_database(anchor.database_url))
    with old_collection(OLD_URL, "dtool_info", "datasets", old_server) as source:
        migration.copy_documents(source.documents, source.count, info_from_document)
    return migration.report


@pytest.mark.slow
def test_the_old_documents_become_records(stores: Stores, anchor: Anchor, old_server: Any) -> None:
    report = migrate(stores, anchor, old_server)
    assert (report.tallies["datasets"].copied, report.failures) == (4, [])
    for name in ("apples", "pears", "figs"):
        on_disk = read_dataset(anchor.uris[name])
        record = stores.datasets.get(anchor.uris[name])
        assert record is not None
        assert record.entry.uuid == on_disk["uuid"] == anchor.uuids[name]
        assert (record.readme, record.manifest) == (on_disk["readme"], on_disk["manifest"])
        assert (record.annotations, list(record.entry.tags)) == (
            on_disk["annotations"],
            on_disk["tags"],
        )
        # 0.18 kept BSON datetimes: milliseconds are all that is left.
        assert record.entry.frozen_at == pytest.approx(on_disk["frozen_at"], abs=0.001)
    gone = stores.datasets.get(anchor.uris["gone"])
    assert gone is not None and gone.entry.name == "gone"  # the documents are the source


@pytest.mark.slow
def test_uuids_of_api_and_cli_registered_datasets_are_found_alike(
    stores: Stores, anchor: Anchor, old_server: Any
) -> None:
    migrate(stores, anchor, old_server)
    bases = (anchor.archive, anchor.share)
    for name in ("apples", "figs"):  # indexed by the CLI; registered over HTTP (binary UUID)
        page = stores.datasets.search(SearchQuery(bases, uuids=(anchor.uuids[name],)), ALL)
        assert [entry.name for entry in page.items] == [name]


@pytest.mark.slow
def test_copying_again_skips_every_dataset(
    stores: Stores, anchor: Anchor, old_server: Any
) -> None:
    migrate(stores, anchor, old_server)
    again = migrate(stores, anchor, old_server)
    assert (again.tallies["datasets"].copied, again.tallies["datasets"].skipped) == (0, 4)
    assert again.tallies["users"].skipped == 4


@pytest.mark.slow
def test_documents_that_are_no_datasets_are_reported(
    stores: Stores, anchor: Anchor, old_server: Any
) -> None:
    collection = old_server(OLD_URL)["dtool_info"]["datasets"]
    apples = collection.find_one({"name": "apples"})
    collection.insert_many(
        [
            {**apples, "_id": ObjectId(), "uri": "s3://unknown/x", "base_uri": "s3://unknown"},
            {**apples, "_id": ObjectId(), "uuid": Binary(b"\x01" * 16, 0)},
            {"_id": ObjectId(), "uri": "s3://half/written", "name": "half"},
        ]
    )
    report = migrate(stores, anchor, old_server)
    reasons = {item: reason for kind, item, reason in report.failures}
    assert reasons["s3://unknown/x"] == "base URI 's3://unknown' is not registered"
    assert "neither a UUID string nor a UUID binary" in reasons[anchor.uris["apples"]]
    assert reasons["s3://half/written"].startswith("missing required keys: uuid, base_uri")
    assert report.tallies["datasets"].copied == 4


def test_info_from_document_reads_every_form_0_18_wrote() -> None:
    value = uuid.UUID("af6727bf-29c7-43dd-b42f-a5d7ede28337")
    frozen = dt.datetime(2018, 9, 6, 13, 29, 45, 881000)
    document = {
        "_id": ObjectId(),
        "uuid": Binary.from_uuid(value, UuidRepresentation.STANDARD),
        "frozen_at": frozen,
        "created_at": frozen.replace(tzinfo=dt.UTC),
        "readme": {"description": "parsed by 0.17", "date": dt.datetime(2020, 1, 2)},
        "annotations": {"source": Binary.from_uuid(value, UuidRepresentation.PYTHON_LEGACY)},
    }
    info = info_from_document(document)
    assert "_id" not in info
    assert info["uuid"] == str(value)
    assert info["frozen_at"] == info["created_at"] == 1536240585.881
    assert info["readme"] == {"description": "parsed by 0.17", "date": "2020-01-02T00:00:00"}
    assert info["annotations"] == {"source": str(value)}
    assert info_from_document({"uuid": value})["uuid"] == str(value)
    with pytest.raises(InvalidDataset):
        info_from_document({"uuid": 42})


def closed_port() -> int:
    """Return a local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.slow
def test_an_unreachable_old_mongodb_fails_the_command(anchor: Anchor, tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path / "data"))
    url = f"mongodb://127.0.0.1:{closed_port()}/?serverSelectionTimeoutMS=200"
    result = cli(
        "migrate",
        "from-dtool-lookup-server",
        "--from-sql",
        anchor.database_url,
        "--from-mongo",
        url,
    )
    assert result.exit_code == 1
    assert "cannot read the old MongoDB collection" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("dataset_backend", ["mongomock"])
def test_a_document_the_new_store_refuses_fails_alone(
    stores: Stores, anchor: Anchor, old_server: Any
) -> None:
    collection = old_server(OLD_URL)["dtool_info"]["datasets"]
    pears = collection.find_one({"name": "pears"})
    collection.update_one({"_id": pears["_id"]}, {"$set": {"readme": "x" * 17_000_000}})
    report = migrate(stores, anchor, old_server)
    [(kind, item, reason)] = report.failures
    assert (kind, item) == ("datasets", anchor.uris["pears"])
    assert "MongoDB stores at most 16,777,216 bytes" in reason
    assert report.tallies["datasets"].copied == 3

"""MongoDatasetStore beyond the shared contract: size limit, stored form, connections.

Runs on mongomock and, with ``DTOOL_LOOKUP_TEST_MONGO_URI``, on a real server.
"""

from __future__ import annotations

import dataclasses
import functools
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mongomock
import pymongo
import pytest

from lookup_events.errors import DatabaseUnavailable, DocumentTooLarge
from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores
from lookup_events.store.mongo.datasets import MAX_DOCUMENT_BYTES, MongoDatasetStore
from lookup_events.store.protocols import PageRequest, SearchQuery
from lookup_events.store.sql.admin import SqlAdminStore
from lookup_events.store.structured import StructuredQuery, parse_filter
from tests.support.api import ApiClient
from tests.support.data import BAD_APPLES_UUID, MR_MEN, SNOW_WHITE, load_anchor_data, make_info
from tests.support.stores import DATASET_BACKEND_PARAMS, MONGO_BACKENDS, StoreBackend, settings_for

MONGO_PARAMS = [param for param in DATASET_BACKEND_PARAMS if param.values[0] in MONGO_BACKENDS]
ALL = PageRequest(1, 100)


@pytest.fixture(params=MONGO_PARAMS)
def dataset_backend(request: pytest.FixtureRequest) -> str:
    """Name each MongoDB backend in turn."""
    return str(request.param)


@pytest.fixture
def stores(backend: StoreBackend) -> Iterator[Stores]:
    """Open empty stores whose dataset store is MongoDB."""
    opened = backend.open()
    yield opened
    opened.close()


@pytest.fixture
def raw(backend: StoreBackend) -> Iterator[Any]:
    """The dataset collection itself, read past the store."""
    factory = backend.mongo_client or pymongo.MongoClient
    client = factory(backend.settings.dataset_store_url)
    yield client[backend.settings.mongo_db][backend.settings.mongo_collection]
    client.close()


def big_info(readme_bytes: int) -> dict[str, Any]:
    """Return a valid dataset info whose README is ``readme_bytes`` long."""
    info = make_info(1, SNOW_WHITE)
    info["readme"] = "x" * readme_bytes
    return info


def test_documents_over_16_mib_are_refused_naming_their_size(stores: Stores) -> None:
    record = record_from_info(big_info(MAX_DOCUMENT_BYTES))
    with pytest.raises(
        DocumentTooLarge,
        match=r"is 16,7\d\d,\d{3} bytes as a MongoDB document; MongoDB stores at most 16,777,216",
    ):
        stores.datasets.upsert(record)
    assert stores.datasets.get(record.uri) is None


def test_a_batch_with_one_oversized_document_writes_nothing(stores: Stores) -> None:
    small = record_from_info(make_info(2, SNOW_WHITE))
    with pytest.raises(DocumentTooLarge):
        stores.datasets.upsert_many([small, record_from_info(big_info(MAX_DOCUMENT_BYTES))])
    assert stores.datasets.get(small.uri) is None


def test_a_readme_of_15_mib_is_stored_once(stores: Stores, raw: Any) -> None:
    record = record_from_info(big_info(15 * 1024 * 1024))
    assert stores.datasets.upsert(record) is True
    assert stores.datasets.get(record.uri) == record
    assert "x" * 100 not in raw.find_one({"uri": record.uri})["search_text"]


def test_uuids_and_timestamps_are_stored_one_way(stores: Stores, raw: Any) -> None:
    load_anchor_data(stores)
    for document in raw.find({}):
        assert isinstance(document["uuid"], str)
        assert isinstance(document["frozen_at"], float)
        assert isinstance(document["created_at"], float)
    assert raw.count_documents({"uuid": BAD_APPLES_UUID}) == 2


def test_a_field_named_language_is_stored(stores: Stores) -> None:
    info = make_info(1, SNOW_WHITE)
    info.update(language="klingon", annotations={"language": "elvish", "x": {"language": "?"}})
    record = record_from_info(info)
    stores.datasets.upsert(record)
    assert stores.datasets.get(record.uri) == record


def test_the_api_answers_from_mongodb(stores: Stores, tmp_path: Path) -> None:
    load_anchor_data(stores)
    api = ApiClient(stores, tmp_path)
    lookup = api.get(f"/dataset/lookup/{BAD_APPLES_UUID}", "grumpy")
    assert sorted(item["base_uri"] for item in lookup.json) == [MR_MEN, SNOW_WHITE]
    summary = api.get("/dataset/summary", "grumpy").json
    assert (summary["number_of_datasets"], summary["datasets_per_tag"]) == (
        3,
        {"evil": 2, "fruit": 3, "good": 1},
    )
    listed = api.get("/dataset/list", "grumpy")
    assert [item["name"] for item in listed.json] == ["bad-apples", "bad-apples", "oranges"]
    assert api.post("/dataset/search", "grumpy", {"tags": ["good"]}).json[0]["name"] == "oranges"


# --- opening and connections (mongomock and pymongo, no server needed) -----------------------


def test_open_stores_chooses_mongodb_for_a_mongodb_url(
    tmp_path: Path, mongomock_server: Any
) -> None:
    settings = dataclasses.replace(
        settings_for(f"sqlite:///{tmp_path / 'admin.db'}", tmp_path),
        dataset_store_url="mongodb+srv://cluster.example.org/?retryWrites=true",
    )
    client = functools.partial(mongomock.MongoClient, _store=mongomock_server)
    stores = open_stores(settings, client)
    try:
        assert isinstance(stores.datasets, MongoDatasetStore)
        assert isinstance(stores.admin, SqlAdminStore)
    finally:
        stores.close()


def test_the_client_is_made_on_first_use_and_again_after_close(mongomock_server: Any) -> None:
    made: list[tuple[str, dict[str, Any]]] = []

    def client(url: str, **options: Any) -> Any:
        made.append((url, options))
        return mongomock.MongoClient(url, _store=mongomock_server, **options)

    store = MongoDatasetStore.from_url("mongodb://db.invalid", "lookup", "datasets", client)
    assert made == []
    store.upsert(record_from_info(make_info(1, SNOW_WHITE)))
    assert store.search(SearchQuery((SNOW_WHITE,)), ALL).total == 1
    assert len(made) == 1
    assert made[0][1]["connect"] is False
    store.close()
    assert store.search(SearchQuery((SNOW_WHITE,)), ALL).total == 1
    assert len(made) == 2
    store.close()


def closed_port() -> int:
    """Return a local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.slow
def test_an_unreachable_server_raises_store_unavailable() -> None:
    url = f"mongodb://127.0.0.1:{closed_port()}/?serverSelectionTimeoutMS=200"
    store = MongoDatasetStore.from_url(url, "lookup", "datasets")  # no connection yet
    try:
        with pytest.raises(DatabaseUnavailable, match="MongoDB unavailable"):
            store.search(SearchQuery((SNOW_WHITE,)), ALL)
        with pytest.raises(DatabaseUnavailable):
            store.upsert(record_from_info(make_info(1, SNOW_WHITE)))
        with pytest.raises(DatabaseUnavailable):
            store.summary([SNOW_WHITE])
    finally:
        store.close()


def test_documents_without_a_parsed_readme_get_one_on_connecting(
    backend: StoreBackend, raw: Any
) -> None:
    # As written by a version before structured queries: no readme_document.
    info = make_info(1, SNOW_WHITE)
    info["readme"] = "---\nproject: old\n"
    opened = backend.open()
    opened.datasets.upsert(record_from_info(info))
    opened.close()
    raw.update_many({}, {"$unset": {"readme_document": ""}})

    reopened = backend.open()
    try:
        query = StructuredQuery((SNOW_WHITE,), parse_filter({"readme.project": "old"}))
        assert reopened.datasets.structured_search(query, ALL).total == 1
        assert raw.find_one({})["readme_document"] == {"project": "old"}
    finally:
        reopened.close()

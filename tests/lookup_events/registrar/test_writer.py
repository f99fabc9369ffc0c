"""The registrar on real datasets and real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookup_events.errors import InvalidDataset, UnknownBaseURI
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest, SearchQuery
from lookup_events.uris import normalise_uri
from tests.support.datasets import make_dataset, set_readme


@pytest.fixture
def registrar(stores: Stores) -> Registrar:
    return Registrar(stores.admin, stores.datasets)


@pytest.fixture
def base(tmp_path: Path, stores: Stores) -> Path:
    path = tmp_path / "base"
    path.mkdir()
    stores.admin.add_base_uri(normalise_uri(str(path)))
    return path


def test_register_uri_stores_what_is_on_disk(
    registrar: Registrar, stores: Stores, base: Path
) -> None:
    uri = make_dataset(base, "fruit", tags=["fruit"], annotations={"colour": "red"})

    registered = registrar.register_uri(str(base / "fruit"))

    assert registered.created
    record = stores.datasets.get(uri)
    assert record is not None
    assert record.entry.name == "fruit"
    assert record.entry.tags == ("fruit",)
    assert record.annotations == {"colour": "red"}
    assert "apples and pears" in record.readme


def test_registering_again_updates_rather_than_duplicates(
    registrar: Registrar, stores: Stores, base: Path
) -> None:
    uri = make_dataset(base, "fruit")
    registrar.register_uri(uri)
    set_readme(base, "fruit", "---\ndescription: quinces\n")

    again = registrar.register_uri(uri)

    assert not again.created
    record = stores.datasets.get(uri)
    assert record is not None
    assert record.readme == "---\ndescription: quinces\n"
    page = stores.datasets.search(
        SearchQuery(base_uris=(normalise_uri(str(base)),)), PageRequest()
    )
    assert [entry.uri for entry in page.items] == [uri]


def test_dataset_in_an_unregistered_base_uri_is_refused(
    registrar: Registrar, tmp_path: Path
) -> None:
    make_dataset(tmp_path / "elsewhere", "ds")
    with pytest.raises(UnknownBaseURI):
        registrar.register_uri(str(tmp_path / "elsewhere" / "ds"))


def test_proto_dataset_is_refused(registrar: Registrar, base: Path) -> None:
    make_dataset(base, "proto", freeze=False)
    with pytest.raises(InvalidDataset):
        registrar.register_uri(str(base / "proto"))

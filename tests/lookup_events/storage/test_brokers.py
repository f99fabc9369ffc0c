"""read_dataset and list_dataset_uris on real dtool datasets on disk."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lookup_events.errors import (
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
)
from lookup_events.model import record_from_info
from lookup_events.storage.brokers import list_dataset_uris, read_dataset
from tests.lookup_events.datasets import README, corrupt, make_dataset


def test_frozen_dataset_is_read_with_all_its_metadata(tmp_path: Path) -> None:
    base = tmp_path / "base"
    uri = make_dataset(
        base,
        "fruit",
        items={"a.txt": b"apple", "sub/b.txt": b"banana!"},
        tags=["fruit", "yellow"],
        annotations={"colour": "red", "count": 3},
    )

    info = read_dataset(str(base / "fruit"))

    assert info["uri"] == uri == f"file://{socket.gethostname()}{base / 'fruit'}"
    assert info["base_uri"] == f"file://{socket.gethostname()}{base}"
    assert info["type"] == "dataset"
    assert info["name"] == "fruit"
    assert info["creator_username"] == "grumpy"
    assert info["readme"] == README
    assert sorted(info["tags"]) == ["fruit", "yellow"]
    assert info["annotations"] == {"colour": "red", "count": 3}
    sizes = sorted(item["size_in_bytes"] for item in info["manifest"]["items"].values())
    assert sizes == [5, 7]
    record = record_from_info(info)
    assert record.entry.size_in_bytes == 12
    assert record.entry.number_of_items == 2


def test_every_spelling_of_a_local_uri_reads_as_one_uri(tmp_path: Path) -> None:
    uri = make_dataset(tmp_path, "ds")
    spellings = [str(tmp_path / "ds"), f"file://{tmp_path}/ds", f"{uri}/"]
    assert {read_dataset(spelling)["uri"] for spelling in spellings} == {uri}


def test_proto_dataset_is_not_frozen(tmp_path: Path) -> None:
    make_dataset(tmp_path, "proto", freeze=False)
    with pytest.raises(NotFrozen):
        read_dataset(str(tmp_path / "proto"))


def test_missing_dataset_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFound):
        read_dataset(str(tmp_path / "nothing-here"))


def test_directory_without_admin_metadata_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(DatasetNotFound):
        read_dataset(str(tmp_path / "plain"))


@pytest.mark.parametrize("relpath", [".dtool/manifest.json", ".dtool/dtool"])
def test_corrupt_metadata_makes_the_dataset_invalid(tmp_path: Path, relpath: str) -> None:
    make_dataset(tmp_path, "broken")
    corrupt(tmp_path, "broken", relpath)
    with pytest.raises(InvalidDataset) as caught:
        read_dataset(str(tmp_path / "broken"))
    assert not isinstance(caught.value, NotFrozen)
    assert "broken" in str(caught.value)


def test_listing_yields_every_dataset_but_nothing_else(tmp_path: Path) -> None:
    frozen = make_dataset(tmp_path, "frozen")
    proto = make_dataset(tmp_path, "proto", freeze=False)
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "a-file.txt").write_text("not a dataset")

    assert sorted(list_dataset_uris(str(tmp_path))) == sorted([frozen, proto])
    assert sorted(list_dataset_uris(f"file://{tmp_path}/")) == sorted([frozen, proto])


def test_listing_a_missing_base_uri_reports_unavailable_storage(tmp_path: Path) -> None:
    with pytest.raises(DatasetStorageUnavailable, match="cannot list"):
        list(list_dataset_uris(str(tmp_path / "gone")))


def test_listing_a_scheme_without_storage_broker_reports_unavailable_storage() -> None:
    with pytest.raises(DatasetStorageUnavailable):
        list(list_dataset_uris("nosuchscheme://bucket"))

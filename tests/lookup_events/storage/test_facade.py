"""``lookup_events.storage``: each URI goes to its reader, with one set of exceptions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lookup_events.errors import DatasetStorageUnavailable, InvalidDataset, NotFrozen
from lookup_events.storage import (
    brokers,
    list_dataset_uris,
    read_admin_metadata,
    read_dataset,
)
from tests.support.datasets import make_dataset, unstamped

REPO = Path(__file__).resolve().parents[3]


def test_every_spelling_of_a_local_uri_reads_as_the_brokers_read_it(tmp_path: Path) -> None:
    uri = make_dataset(tmp_path, "ds", tags=["a"], annotations={"n": 1})
    spellings = [uri, str(tmp_path / "ds"), f"file://{tmp_path}/ds", f"{uri}/"]

    documents = [unstamped(read_dataset(spelling)) for spelling in spellings]

    assert all(document == brokers.read_dataset(uri) for document in documents)
    assert {document["uri"] for document in documents} == {uri}


def test_local_admin_metadata_is_read_from_its_file(tmp_path: Path) -> None:
    uri = make_dataset(tmp_path, "ds")
    make_dataset(tmp_path, "proto", freeze=False)
    (tmp_path / "bad" / ".dtool").mkdir(parents=True)
    (tmp_path / "bad" / ".dtool" / "dtool").write_text("[1]")
    stored = json.loads((tmp_path / "ds" / ".dtool" / "dtool").read_text())

    assert read_admin_metadata(uri) == read_admin_metadata(str(tmp_path / "ds")) == stored
    assert read_admin_metadata(str(tmp_path / "gone")) is None
    with pytest.raises(NotFrozen):
        read_dataset(str(tmp_path / "proto"))
    with pytest.raises(InvalidDataset, match="bad"):
        read_admin_metadata(str(tmp_path / "bad"))


def test_other_schemes_go_through_the_storage_brokers(tmp_path: Path) -> None:
    make_dataset(tmp_path, "ds")

    assert list(list_dataset_uris(str(tmp_path))) == list(brokers.list_dataset_uris(str(tmp_path)))
    with pytest.raises(InvalidDataset, match="no storage broker"):
        read_dataset("nosuchscheme://bucket/uuid")
    with pytest.raises(InvalidDataset, match="no storage broker"):
        read_admin_metadata("nosuchscheme://bucket/uuid")
    with pytest.raises(DatasetStorageUnavailable, match="no storage broker"):
        list(list_dataset_uris("nosuchscheme://bucket"))


def test_reading_from_disk_needs_no_boto3() -> None:
    code = (
        "import sys, lookup_events.storage as s; s.read_admin_metadata('/nothing-here'); "
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr

"""The storage brokers' reader, on real dtool datasets on disk: our lookup, no patching."""

from __future__ import annotations

import ast
import json
import socket
from pathlib import Path

import dtoolcore
import pytest
from dtoolcore.storagebroker import DiskStorageBroker

from lookup_events.errors import (
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
)
from lookup_events.model import record_from_info
from lookup_events.storage import brokers
from lookup_events.storage.brokers import list_dataset_uris, read_admin_metadata, read_dataset
from tests.support.datasets import README, corrupt, make_dataset

PRODUCT = [
    Path(__file__).resolve().parents[3] / part
    for part in ("lookup_events", "lookup_api", "lambdas")
]
PATCHED_PACKAGES = ("dtoolcore", "dtool_s3")


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


def test_a_scheme_without_storage_broker_is_not_a_dataset() -> None:
    with pytest.raises(InvalidDataset, match="no storage broker"):
        read_dataset("nosuchscheme://bucket/uuid")
    with pytest.raises(InvalidDataset, match="no storage broker"):
        read_admin_metadata("nosuchscheme://bucket/uuid")


def test_admin_metadata_is_read_or_absent(tmp_path: Path) -> None:
    uri = make_dataset(tmp_path, "frozen")
    make_dataset(tmp_path, "proto", freeze=False)
    make_dataset(tmp_path, "broken")
    corrupt(tmp_path, "broken", ".dtool/dtool")

    assert read_admin_metadata(uri) == admin_of(tmp_path, "frozen")
    assert read_admin_metadata(str(tmp_path / "proto")) == admin_of(tmp_path, "proto")
    assert read_admin_metadata(str(tmp_path / "nothing-here")) is None
    with pytest.raises(InvalidDataset, match="broken"):
        read_admin_metadata(str(tmp_path / "broken"))


def admin_of(base: Path, name: str) -> dict[str, object]:
    """Return the admin metadata file of dataset ``name``, parsed."""
    return dict(json.loads((base / name / ".dtool" / "dtool").read_text()))


def test_the_installed_brokers_are_looked_up_once(tmp_path: Path) -> None:
    uris = [make_dataset(tmp_path, f"ds{number}") for number in range(3)]
    brokers.broker_classes.cache_clear()

    for uri in uris:
        read_dataset(uri)
    list(list_dataset_uris(str(tmp_path)))

    assert brokers.broker_classes.cache_info().misses == 1
    assert brokers.broker_classes()["file"] is DiskStorageBroker


def test_reading_leaves_dtoolcore_as_it_was(tmp_path: Path) -> None:
    before = (dtoolcore._generate_storage_broker_lookup, dtoolcore._get_storage_broker)
    uri = make_dataset(tmp_path, "ds")

    read_dataset(uri)
    read_admin_metadata(uri)
    list(list_dataset_uris(str(tmp_path)))

    assert (dtoolcore._generate_storage_broker_lookup, dtoolcore._get_storage_broker) == before


def test_no_product_module_assigns_into_dtoolcore_or_dtool_s3() -> None:
    found = [
        f"{path.relative_to(PRODUCT[0].parent)}:{line}"
        for root in PRODUCT
        for path in sorted(root.rglob("*.py"))
        for line in patched_lines(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []


def patched_lines(tree: ast.Module) -> list[int]:
    """Return the lines assigning into a name imported from dtoolcore or dtool_s3."""
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {
                (alias.asname or alias.name).split(".")[0]
                for alias in node.names
                if alias.name.startswith(PATCHED_PACKAGES)
            }
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PATCHED_PACKAGES):
            imported |= {alias.asname or alias.name for alias in node.names}
    return [
        node.lineno
        for node in ast.walk(tree)
        if any(root_name(target) in imported for target in assigned(node))
    ]


def assigned(node: ast.AST) -> list[ast.expr]:
    """Return what ``node`` assigns to (setattr's object included)."""
    if isinstance(node, ast.Assign):
        return [t for t in node.targets if isinstance(t, ast.Attribute | ast.Subscript)]
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target] if isinstance(node.target, ast.Attribute | ast.Subscript) else []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.args[:1] if node.func.id in {"setattr", "delattr"} else []
    return []


def root_name(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""

"""The disk reader agrees with the storage brokers on real datasets, good and broken."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dtoolcore
import pytest

from lookup_events.errors import DatasetNotFound, InvalidDataset, NotFrozen
from lookup_events.model import STAMP
from lookup_events.storage import brokers, disk
from tests.support.datasets import corrupt, make_dataset, set_readme


def same(uri: str) -> dict[str, Any]:
    """Read ``uri`` both ways; assert they agree and return the document."""
    fast = disk.read_dataset(uri)
    stamp = fast.pop(STAMP)  # only the fast reader stamps what it reads (storage.stamps)
    assert isinstance(stamp, str)
    assert fast == brokers.read_dataset(uri)
    return fast


def test_both_readers_agree_on_a_rich_dataset(tmp_path: Path) -> None:
    uri = make_dataset(
        tmp_path,
        "rich",
        readme="---\ndescription: pommes et poires, ünïcödé\nlist: [1, 2]\r\n",
        items={"a.txt": b"apple", "deep/down/b.bin": bytes(range(256)), "ü.txt": b"u"},
        tags=["fruit", "red", "x-1.2_y"],
        annotations={"colour": "red", "weight": 0.25, "count": 3, "ok": True, "nested": [1, {}]},
    )
    info = same(uri)
    assert info["annotations"]["nested"] == [1, {}]
    assert len(info["manifest"]["items"]) == 3


def test_both_readers_agree_on_a_bare_renamed_and_edited_dataset(tmp_path: Path) -> None:
    bare = make_dataset(tmp_path, "bare", items={})
    assert same(bare)["tags"] == []
    edited = make_dataset(tmp_path, "edited")
    set_readme(tmp_path, "edited", "---\ndescription: changed\n")  # leaves a README backup
    dtoolcore.DataSet.from_uri(edited).update_name("renamed")
    assert same(edited)["name"] == "renamed"


def remake(base: Path, freeze: bool) -> None:
    """Make dataset ``x`` again (a proto, unless ``freeze``)."""
    shutil.rmtree(base / "x")
    make_dataset(base, "x", freeze=freeze)


def rewrite_admin(base: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Replace the admin metadata of dataset ``x`` with ``change(admin)``."""
    path = base / "x" / ".dtool" / "dtool"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def raised(read: Callable[[str], Any], uri: str) -> tuple[type[Exception], str]:
    with pytest.raises(Exception) as caught:
        read(uri)
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda base: remake(base, freeze=False), NotFrozen),
        (lambda base: shutil.rmtree(base / "x"), DatasetNotFound),
        (lambda base: corrupt(base, "x", ".dtool/dtool"), InvalidDataset),
        (lambda base: corrupt(base, "x", ".dtool/manifest.json"), InvalidDataset),
        (lambda base: corrupt(base, "x", ".dtool/annotations/colour.json"), InvalidDataset),
        (lambda base: (base / "x" / "README.yml").write_bytes(b"\xff\xfe"), InvalidDataset),
        (lambda base: (base / "x" / ".dtool" / "manifest.json").unlink(), DatasetNotFound),
        (lambda base: rewrite_admin(base, lambda admin: [admin]), InvalidDataset),
        (lambda base: rewrite_admin(base, lambda admin: {**admin, "type": None}), NotFrozen),
        (lambda base: rewrite_admin(base, lambda admin: {"uuid": admin["uuid"]}), InvalidDataset),
    ],
    ids=[
        "proto",
        "gone",
        "admin",
        "manifest",
        "annotation",
        "readme",
        "no-manifest",
        "admin-list",
        "admin-type-null",
        "admin-typeless",
    ],
)
def test_both_readers_fail_alike(
    tmp_path: Path, breakage: Callable[[Path], object], expected: type[Exception]
) -> None:
    uri = make_dataset(tmp_path, "x", annotations={"colour": "red"})
    breakage(tmp_path)

    fast, slow = raised(disk.read_dataset, uri), raised(brokers.read_dataset, uri)

    assert fast[0] is slow[0] is expected
    assert uri in fast[1]
    assert fast[1].partition(uri)[0] == slow[1].partition(uri)[0]  # "cannot read", ...


def test_other_schemes_are_not_read_from_disk() -> None:
    with pytest.raises(ValueError, match="not a file:// URI"):
        disk.read_dataset("s3://bucket/0627008f-d443-460d-a7fb-7b21f8e44f95")

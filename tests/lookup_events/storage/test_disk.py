"""read_dataset_fast agrees with the dtoolcore reader on real datasets, good and broken."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dtoolcore
import pytest

from lookup_events.errors import DatasetNotFound, InvalidDataset, NotFrozen
from lookup_events.storage.brokers import read_dataset
from lookup_events.storage.disk import read_dataset_fast
from tests.aws import Aws, point_dtool_s3_at
from tests.lookup_events.datasets import corrupt, make_dataset, set_readme


def same(uri: str) -> dict[str, Any]:
    """Read ``uri`` both ways; assert they agree and return the document."""
    fast = read_dataset_fast(uri)
    assert fast == read_dataset(uri)
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


def raised(read: Callable[[str], Any], uri: str) -> tuple[type[Exception], str]:
    with pytest.raises(Exception) as caught:
        read(uri)
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda base: make_dataset(base, "x", freeze=False), NotFrozen),
        (lambda base: shutil.rmtree(base / "x"), DatasetNotFound),
        (lambda base: corrupt(base, "x", ".dtool/dtool"), InvalidDataset),
        (lambda base: corrupt(base, "x", ".dtool/manifest.json"), InvalidDataset),
        (lambda base: corrupt(base, "x", ".dtool/annotations/colour.json"), InvalidDataset),
        (lambda base: (base / "x" / "README.yml").write_bytes(b"\xff\xfe"), InvalidDataset),
        (lambda base: (base / "x" / ".dtool" / "manifest.json").unlink(), DatasetNotFound),
    ],
    ids=["proto", "gone", "admin", "manifest", "annotation", "readme", "no-manifest"],
)
def test_both_readers_fail_alike(
    tmp_path: Path, breakage: Callable[[Path], object], expected: type[Exception]
) -> None:
    uri = make_dataset(tmp_path, "x", annotations={"colour": "red"})
    if expected is NotFrozen:
        shutil.rmtree(tmp_path / "x")
    breakage(tmp_path)

    fast, slow = raised(read_dataset_fast, uri), raised(read_dataset, uri)

    assert fast[0] is slow[0] is expected
    assert fast[1].split(":")[0] == slow[1].split(":")[0]


def test_other_schemes_are_read_by_dtoolcore(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"fast-{uuid.uuid4().hex[:10]}"
    aws.client("s3").create_bucket(Bucket=bucket)
    point_dtool_s3_at(monkeypatch, bucket, aws.endpoint)
    proto = dtoolcore.create_proto_dataset("in-s3", f"s3://{bucket}", readme_content="s3")
    proto.put_annotation("where", "bucket")
    proto.freeze()

    assert same(str(proto.uri))["annotations"] == {"where": "bucket"}

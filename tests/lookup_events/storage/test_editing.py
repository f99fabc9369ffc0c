"""Writing metadata back to disk datasets: the files dtool itself writes, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import dtoolcore
import pytest

from lookup_events.errors import DatasetNotFound, DatasetStorageUnwritable, InvalidName
from lookup_events.storage.editing import DatasetEditor, check_name
from tests.support.datasets import make_dataset


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    make_dataset(tmp_path, "apples", tags=("fruit",), annotations={"colour": "red"})
    return tmp_path / "apples"


def test_the_files_are_those_dtool_writes(dataset: Path) -> None:
    editor = DatasetEditor()

    editor.set_tags(str(dataset), ["pome", "ripe"])
    editor.put_annotation(str(dataset), "count", {"n": 3})
    editor.delete_annotation(str(dataset), "colour")
    editor.put_readme(str(dataset), "---\nnew: readme\n")

    assert sorted(p.name for p in (dataset / ".dtool" / "tags").iterdir()) == ["pome", "ripe"]
    annotation = dataset / ".dtool" / "annotations" / "count.json"
    assert json.loads(annotation.read_text()) == {"n": 3}
    assert not (dataset / ".dtool" / "annotations" / "colour.json").exists()
    assert (dataset / "README.yml").read_text() == "---\nnew: readme\n"
    backups = [p.name for p in dataset.iterdir() if p.name.startswith("README.yml-")]
    assert len(backups) == 1  # the old README kept, as dtool readme write does
    assert dtoolcore.DataSet.from_uri(str(dataset)).list_tags() == ["pome", "ripe"]


def test_removing_what_is_not_there_changes_nothing(dataset: Path) -> None:
    editor = DatasetEditor()

    editor.remove_tag(str(dataset), "absent")
    editor.delete_annotation(str(dataset), "absent")

    assert dtoolcore.DataSet.from_uri(str(dataset)).list_tags() == ["fruit"]


@pytest.mark.parametrize("name", ["", "a b", "a/b", "../x", "x" * 81, "é"])
def test_dtool_names_only(name: str) -> None:
    with pytest.raises(InvalidName):
        check_name("tag", name)


def test_a_proto_dataset_is_not_curated(tmp_path: Path) -> None:
    make_dataset(tmp_path, "proto", freeze=False)

    with pytest.raises(DatasetNotFound):
        DatasetEditor().add_tag(str(tmp_path / "proto"), "x")


def test_a_write_the_storage_refuses_names_the_dataset(dataset: Path) -> None:
    (dataset / ".dtool" / "annotations").rename(dataset / "elsewhere")
    (dataset / ".dtool" / "annotations").write_text("in the way")

    with pytest.raises(DatasetStorageUnwritable, match="index is unchanged"):
        DatasetEditor().put_annotation(str(dataset), "count", 1)

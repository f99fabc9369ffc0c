"""Real dtool datasets on disk made with dtoolcore: one at a time, any content, or in bursts."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dtoolcore

from lookup_events.model import STAMP
from lookup_events.uris import normalise_uri

README = "---\ndescription: apples and pears\nproject: orchard\n"


def make_dataset(
    base: Path,
    name: str,
    *,
    readme: str = README,
    items: Mapping[str, bytes] | None = None,
    tags: Sequence[str] = (),
    annotations: Mapping[str, Any] | None = None,
    creator: str = "grumpy",
    freeze: bool = True,
) -> str:
    """Create a dataset in ``base`` and return its normalised URI."""
    base.mkdir(parents=True, exist_ok=True)
    proto = dtoolcore.create_proto_dataset(
        name, str(base), readme_content=readme, creator_username=creator
    )
    fill(proto, items, tags, annotations, freeze=freeze)
    return normalise_uri(str(base / name))


def fill(
    proto: dtoolcore.ProtoDataSet,
    items: Mapping[str, bytes] | None = None,
    tags: Sequence[str] = (),
    annotations: Mapping[str, Any] | None = None,
    *,
    freeze: bool = True,
) -> None:
    """Put ``items`` (default: one ``a.txt``), tags and annotations in ``proto``; freeze it."""
    with tempfile.TemporaryDirectory() as staging:
        for relpath, content in (items if items is not None else {"a.txt": b"apple"}).items():
            source = Path(staging) / relpath.replace("/", "_")
            source.write_bytes(content)
            proto.put_item(str(source), relpath)
    for tag in tags:
        proto.put_tag(tag)
    for key, value in (annotations or {}).items():
        proto.put_annotation(key, value)
    if freeze:
        proto.freeze()


def corrupt(base: Path, name: str, relpath: str) -> None:
    """Overwrite a metadata file of dataset ``name`` with text that is not JSON."""
    (base / name / relpath).write_text("{not json")


def set_readme(base: Path, name: str, readme: str) -> None:
    """Replace the README of a frozen dataset, as ``dtool readme write`` does."""
    dtoolcore.DataSet.from_uri(str(base / name)).put_readme(readme)


class DatasetFactory:
    """Creates and freezes small real dtool datasets in one base directory, quickly."""

    def __init__(self, base: Path, readme: str = "---\ndescription: burst of apples\n") -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.base_uri = normalise_uri(str(base))
        self.readme = readme
        self._staging = Path(tempfile.mkdtemp(prefix="dtool-items-"))
        self._item = self._staging / "item.txt"
        self._item.write_bytes(b"apple")

    def proto(self, name: str, readme: str | None = None) -> Any:
        """Create a proto dataset with one item, a tag and an annotation."""
        proto = dtoolcore.create_proto_dataset(
            name, str(self.base), readme_content=readme or self.readme, creator_username="burst"
        )
        proto.put_item(str(self._item), "item.txt")
        proto.put_tag("burst")
        proto.put_annotation("number", name)
        return proto

    def freeze(self, name: str, readme: str | None = None) -> str:
        """Create and freeze dataset ``name``; return its URI."""
        self.proto(name, readme).freeze()
        return self.uri(name)

    def uri(self, name: str) -> str:
        """Return the normalised URI of dataset ``name``."""
        return normalise_uri(str(self.base / name))

    def close(self) -> None:
        """Remove the staging directory."""
        shutil.rmtree(self._staging, ignore_errors=True)


def unstamped(document: dict[str, Any]) -> dict[str, Any]:
    """Return a document a storage reader produced, without its stamp (``storage.stamps``)."""
    return {key: value for key, value in document.items() if key != STAMP}

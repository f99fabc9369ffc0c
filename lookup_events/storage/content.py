"""A dataset's files, for download: presigned S3 URLs, or files on disk found safely.

A component is ``(kind, name)``: the admin metadata, manifest and README
(no name), an item (its identifier), an overlay or an annotation (its name).
An S3 dataset's components get presigned URLs; a disk dataset's are served
by us, and ``local_file`` only ever returns a regular file inside the
dataset's own directory, whatever the name or the manifest says.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import dtoolcore.utils

from lookup_events.errors import DatasetNotFound, DatasetStorageUnavailable
from lookup_events.uris import local_path

if TYPE_CHECKING:
    from lookup_events.storage.s3 import S3DatasetReader

SINGLE = {"admin_metadata": "dtool", "manifest": "manifest.json", "readme": "README.yml"}
NAMED = {"overlay": "overlays/", "annotation": "annotations/"}
KINDS = frozenset({*SINGLE, *NAMED, "item"})
_IDENTIFIER = re.compile(r"[0-9a-f]{40}")
_JSON = "application/json"
_MEDIA = {"readme": "text/plain; charset=utf-8", "item": "application/octet-stream"}


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A regular file of a dataset on disk, ready to be streamed."""

    path: str
    size: int
    filename: str
    media_type: str


def check_component(kind: str, name: str) -> None:
    """Refuse a component no dataset can have (before any file is looked at).

    Raises:
        DatasetNotFound: an unknown kind, or a name dtool would never write.
    """
    if kind not in KINDS:
        raise DatasetNotFound(f"a dataset has no {kind!r}")
    if kind in SINGLE:
        valid = name == ""
    elif kind == "item":
        valid = bool(_IDENTIFIER.fullmatch(name))
    else:
        valid = dtoolcore.utils.name_is_valid(name)
    if not valid:
        raise DatasetNotFound(f"a dataset has no {kind} {name!r}")


class DatasetContent:
    """Finds the downloadable components of datasets on disk and in S3."""

    def __init__(self, s3: S3DatasetReader | None = None) -> None:
        self._s3_reader = s3

    def overlay_names(self, uri: str) -> list[str]:
        """Return the names of the dataset's overlays."""
        if _is_s3(uri):
            return [n.removesuffix(".json") for n in self._s3().names_under(uri, "overlays/")]
        directory = os.path.join(local_path(uri), ".dtool", "overlays")
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        except OSError as ex:
            raise DatasetStorageUnavailable(f"cannot list the overlays of {uri}: {ex}") from ex
        return sorted(n.removesuffix(".json") for n in names if n.endswith(".json"))

    def presigned_urls(
        self, uri: str, components: list[tuple[str, str]], expiry: int
    ) -> list[str] | None:
        """Return presigned URLs of the components, or None where storage cannot presign."""
        if not _is_s3(uri):
            return None
        for kind, name in components:
            check_component(kind, name)
        names = [_s3_name(kind, name) for kind, name in components]
        return self._s3().presigned_urls(uri, names, expiry)

    def local_file(self, uri: str, kind: str, name: str) -> LocalFile:
        """Return the component's file, if it is a regular file inside the dataset.

        Raises:
            DatasetNotFound: no such component, or one that leads out of the dataset.
        """
        check_component(kind, name)
        root = os.path.realpath(local_path(uri))
        relative, filename = self._disk_name(root, kind, name)
        path = os.path.realpath(os.path.join(root, relative))
        inside = root if kind != "item" else os.path.join(root, "data")
        if os.path.commonpath([inside, path]) != inside or path == inside:
            raise DatasetNotFound(f"{kind} {name!r} is not inside the dataset {uri}")
        try:
            status = os.stat(path)
        except OSError as ex:
            raise DatasetNotFound(f"the {kind} {name!r} of {uri} is missing") from ex
        if not stat.S_ISREG(status.st_mode):
            raise DatasetNotFound(f"the {kind} {name!r} of {uri} is not a file")
        return LocalFile(path, status.st_size, filename, _MEDIA.get(kind, _JSON))

    def _disk_name(self, root: str, kind: str, name: str) -> tuple[str, str]:
        """Return the component's path relative to the dataset, and a file name for it."""
        if kind in SINGLE:
            relative = SINGLE[kind] if kind == "readme" else f".dtool/{SINGLE[kind]}"
            return relative, os.path.basename(relative)
        if kind in NAMED:
            return f".dtool/{NAMED[kind]}{name}.json", f"{name}.json"
        relpath = _manifest_relpath(root, name)
        return os.path.join("data", *relpath.split("/")), relpath.rsplit("/", 1)[-1]

    def _s3(self) -> S3DatasetReader:
        if self._s3_reader is None:
            # NOTE(dev): boto3 is the optional s3 extra and slow to import.
            from lookup_events.storage.s3 import shared_reader  # noqa: PLC0415

            self._s3_reader = shared_reader()
        return self._s3_reader


def _is_s3(uri: str) -> bool:
    return urlsplit(uri).scheme == "s3"


def _s3_name(kind: str, name: str) -> str:
    if kind in SINGLE:
        return SINGLE[kind]
    if kind in NAMED:
        return f"{NAMED[kind]}{name}.json"
    return f"data/{name}"


def _manifest_relpath(root: str, identifier: str) -> str:
    """Return the relpath the dataset's own manifest gives the item ``identifier``."""
    try:
        with open(os.path.join(root, ".dtool", "manifest.json"), "rb") as handle:
            items: dict[str, Any] = json.load(handle).get("items", {})
    except (OSError, ValueError, AttributeError) as ex:
        raise DatasetNotFound(f"cannot read the manifest of {root}: {ex}") from ex
    item = items.get(identifier)
    relpath = item.get("relpath") if isinstance(item, dict) else None
    if not isinstance(relpath, str) or not relpath:
        raise DatasetNotFound(f"no item {identifier} in the dataset at {root}")
    return relpath

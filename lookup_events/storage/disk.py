"""Read datasets on disk straight from their files (dtoolcore's layout).

The file layout is dtoolcore's own ``_STRUCTURE_PARAMETERS``, and failures
are classified exactly as ``brokers.read_dataset`` classifies dtoolcore's;
a test checks both readers agree on real datasets, good and broken.
"""

from __future__ import annotations

import json
import os
from typing import Any

from dtoolcore.storagebroker import _STRUCTURE_PARAMETERS

from lookup_events.errors import DatasetNotFound, InvalidDataset
from lookup_events.model import STAMP
from lookup_events.storage.layout import check_frozen
from lookup_events.storage.stamps import DiskListing, disk_listing
from lookup_events.uris import base_uri_of, is_local, local_path, normalise_uri

# NOTE(dev): dtoolcore.DataSet spends most of a small disk dataset's read
# parsing URIs, building storage brokers (four per dataset) and formatting
# debug log lines; reading the same files directly skips all of that.
_ADMIN = os.path.join(*_STRUCTURE_PARAMETERS["admin_metadata_relpath"])
_README = os.path.join(*_STRUCTURE_PARAMETERS["dataset_readme_relpath"])
_MANIFEST = os.path.join(*_STRUCTURE_PARAMETERS["manifest_relpath"])
_ANNOTATIONS = os.path.join(*_STRUCTURE_PARAMETERS["annotations_directory"])
_TAGS = os.path.join(*_STRUCTURE_PARAMETERS["tags_directory"])
_MISSING = (FileNotFoundError, NotADirectoryError)
_CHUNK = 1 << 16


def read_dataset(uri: str) -> dict[str, Any]:
    """Return the dataset-info document of the frozen dataset at ``uri``.

    Raises:
        DatasetNotFound, NotFrozen, InvalidDataset: as ``brokers.read_dataset`` does.
        ValueError: ``uri`` is not on a local file system.
    """
    path = _normalised_path(uri)
    if path is None:
        uri = normalise_uri(uri)
        if not is_local(uri):
            raise ValueError(f"{uri} is not a file:// URI")
        path = local_path(uri)
    listing = disk_listing(path)  # before reading: see ``storage.stamps``
    admin = _admin(uri, path)
    try:
        readme, manifest, annotations, tags = _parts(path, listing)
    except _MISSING as ex:  # as brokers.read_dataset reads dtoolcore's FileNotFoundError
        raise DatasetNotFound(f"no dataset at {uri}") from ex
    except (OSError, ValueError) as ex:
        raise _invalid(uri, ex) from ex
    info = dict(admin)
    info.update(
        uri=uri,
        base_uri=base_uri_of(uri),
        readme=readme,
        manifest=manifest,
        annotations=annotations,
        tags=tags,
    )
    if listing is not None:
        info[STAMP] = listing.stamp
    return info


def _normalised_path(uri: str) -> str | None:
    """Return the path of a ``file://`` URI already in normal form, else None.

    NOTE(dev): events carry normalised URIs; recognising one by its spelling
    skips ``normalise_uri`` (a ``gethostname`` call and two ``urlsplit``).
    """
    plain = uri.isprintable() and "?" not in uri and "#" not in uri
    if not plain or not uri.startswith("file://") or uri.endswith("/"):
        return None
    host, slash, path = uri[7:].partition("/")
    return "/" + path if host and slash else None


def _admin(uri: str, path: str) -> dict[str, Any]:
    """Return the admin metadata of a frozen dataset, or say why it is not."""
    try:
        admin = _json(os.path.join(path, _ADMIN))
    except _MISSING as ex:
        raise DatasetNotFound(f"no dataset at {uri}") from ex
    except (OSError, ValueError) as ex:
        raise _invalid(uri, ex) from ex
    return check_frozen(uri, admin)


def _parts(path: str, listing: DiskListing | None) -> tuple[str, Any, dict[str, Any], list[str]]:
    """Read the README, manifest, annotations and tags at ``path``.

    NOTE(dev): the annotation and tag names come from the listing the stamp
    was made of, when there is one (two directory listings a dataset fewer).
    """
    annotations = f"{path}/{_ANNOTATIONS}"
    if listing is None:
        annotation_names = _names(annotations, strip=True)
        tags = _names(f"{path}/{_TAGS}")
    else:
        annotation_names = [os.path.splitext(name)[0] for name in listing.annotation_files]
        tags = list(listing.tags)
    return (
        _text(f"{path}/{_README}"),
        _json(f"{path}/{_MANIFEST}"),
        {name: _json(f"{annotations}/{name}.json") for name in annotation_names},
        tags,
    )


def _bytes(file_path: str) -> bytes:
    """Return a file's content."""
    # NOTE(dev): os.open and os.read skip what open() adds: building a
    # buffered reader and asking whether the file is a tty.
    fd = os.open(file_path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _text(file_path: str) -> str:
    """Return a UTF-8 text file's content with universal newlines, as ``open()`` would."""
    text = _bytes(file_path).decode("utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _json(file_path: str) -> Any:
    return json.loads(_bytes(file_path))


def _names(directory: str, strip: bool = False) -> list[str]:
    """List a directory as dtoolcore does (annotation names lose their extension)."""
    try:
        names = os.listdir(directory)
    except _MISSING:
        return []
    return [os.path.splitext(name)[0] for name in names] if strip else names


def _invalid(uri: str, ex: Exception) -> InvalidDataset:
    return InvalidDataset(f"cannot read {uri}: {type(ex).__name__}: {ex}")

"""Stamps: what a storage listing says about a dataset's indexed files, in one string.

A dataset's stamp changes whenever a file the index holds changes: the admin
metadata, the README, an annotation, the set of tags (the manifest changes
only with the admin metadata, at a freeze). The registrar takes the stamp
just before it reads a dataset and stores it with the record; a rescan
lists the stamps again and reads only the datasets whose stamps differ
(``sources.scan``). Taken before the read, a stamp can be older than what
was read, never newer: a change during the read shows at the next scan.

On disk a stamp is built from ``stat`` (modification time in nanoseconds and
size) of the admin metadata, the README and each annotation file, and the
tag names: a few system calls, no file opened. On S3 it is built from the
ETags of the same objects (``storage.s3``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from dtoolcore.storagebroker import _STRUCTURE_PARAMETERS

from lookup_events.uris import normalise_uri

_ADMIN = os.path.join(*_STRUCTURE_PARAMETERS["admin_metadata_relpath"])
_README = os.path.join(*_STRUCTURE_PARAMETERS["dataset_readme_relpath"])
_ANNOTATIONS = os.path.join(*_STRUCTURE_PARAMETERS["annotations_directory"])
_TAGS = os.path.join(*_STRUCTURE_PARAMETERS["tags_directory"])
# dtool-s3's names, relative to a dataset's root (``storage.s3``).
_S3_FILES = frozenset({"dtool", "README.yml"})
_S3_DIRS = ("annotations/", "tags/")


def digest(parts: object) -> str:
    """Return the stamp of a listing's description of one dataset."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class DiskListing:
    """What listing a dataset directory gave: its stamp and the names it saw.

    ``annotation_files`` and ``tags`` are in directory order, as
    ``os.listdir`` gives them; a reader taking them reads what the stamp
    describes instead of listing both directories again.
    """

    stamp: str
    annotation_files: list[str]
    tags: list[str]


def disk_stamp(path: str) -> str | None:
    """Return the stamp of the dataset directory ``path``; None: no admin metadata."""
    listing = disk_listing(path)
    return None if listing is None else listing.stamp


def disk_listing(path: str) -> DiskListing | None:
    """List the dataset directory ``path`` for its stamp; None: no admin metadata."""
    try:
        admin = os.stat(os.path.join(path, _ADMIN))
    except OSError:
        return None
    annotations = list(_annotation_stats(os.path.join(path, _ANNOTATIONS)))
    tags = _names(os.path.join(path, _TAGS))
    stamp = digest(
        (
            (admin.st_mtime_ns, admin.st_size),
            _stat(os.path.join(path, _README)),
            sorted(annotations),
            sorted(tags),
        )
    )
    return DiskListing(stamp, [name for name, _, _ in annotations], tags)


def s3_stamp(etags: Mapping[str, str]) -> str:
    """Return the stamp of an S3 dataset from its objects' ETags, by name under its root."""
    return digest(sorted((name, etag) for name, etag in etags.items() if stamped_s3_name(name)))


def stamped_s3_name(name: str) -> bool:
    """Tell whether an object (named under its dataset's root) counts in the stamp."""
    return name in _S3_FILES or name.startswith(_S3_DIRS)


def list_disk_stamps(base_uri: str, base_path: str) -> Iterator[tuple[str, str]]:
    """Yield ``(uri, stamp)`` of every dataset (with admin metadata) under ``base_path``.

    As dtoolcore's disk broker lists: each directory holding admin metadata.

    Raises:
        OSError: ``base_path`` cannot be listed.
    """
    with os.scandir(base_path) as entries:
        found = [(entry.name, entry.path) for entry in entries if entry.is_dir()]
    for name, path in sorted(found):
        stamp = disk_stamp(path)
        if stamp is not None:
            yield _child_uri(base_uri, name, path), stamp


def _child_uri(base_uri: str, name: str, path: str) -> str:
    """Return the normalised URI of ``name`` in ``base_uri`` (also normalised)."""
    # NOTE(dev): the common spelling is built without normalise_uri (a
    # gethostname call and two urlsplit); anything unusual takes the long way.
    if name.isascii() and (name.replace("-", "").replace("_", "").replace(".", "")).isalnum():
        return f"{base_uri}/{name}"
    return normalise_uri(path)


def _stat(path: str) -> tuple[int, int]:
    try:
        status = os.stat(path)
    except OSError:
        return (-1, -1)
    return (status.st_mtime_ns, status.st_size)


def _annotation_stats(directory: str) -> Iterator[tuple[str, int, int]]:
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                status = entry.stat()
                yield entry.name, status.st_mtime_ns, status.st_size
    except (FileNotFoundError, NotADirectoryError):
        return


def _names(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []

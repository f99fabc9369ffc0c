"""Reading datasets where they live: disk, S3, any dtoolcore broker.

``file://`` URIs (and paths) are read from their files by ``disk``,
``s3://`` URIs by ``s3`` with clients of our own, anything else through
dtoolcore's storage brokers (``brokers``, also the reference the others are
tested against). All three raise the same project exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lookup_events.errors import DatasetStorageUnavailable, InvalidDataset
from lookup_events.storage import brokers, disk
from lookup_events.storage.layout import AdminMetadata, Unsettled, read_admin_file
from lookup_events.storage.stamps import list_disk_stamps
from lookup_events.uris import local_path, normalise_uri

if TYPE_CHECKING:
    from lookup_events.storage.s3 import S3DatasetReader

__all__ = [
    "AdminMetadata",
    "list_dataset_stamps",
    "list_dataset_uris",
    "read_admin_metadata",
    "read_dataset",
]


def read_dataset(uri: str) -> dict[str, Any]:
    """Return the dataset-info document of the frozen dataset at ``uri``.

    Raises:
        DatasetNotFound: nothing (no admin metadata) is at ``uri``.
        NotFrozen: it is a proto dataset.
        InvalidDataset: its metadata is unreadable.
        DatasetStorageUnavailable: the storage could not be reached; try again later.
    """
    if uri.startswith("file://"):  # the registrar's hot path: no parsing
        return disk.read_dataset(uri)
    scheme = _scheme(uri)
    if scheme == "file":
        return disk.read_dataset(uri)
    if scheme == "s3":
        return _s3().read_dataset(uri)
    return brokers.read_dataset(uri)


def read_admin_metadata(uri: str) -> AdminMetadata | None:
    """Return the admin metadata at ``uri``, or None if there is none.

    Raises:
        DatasetStorageUnavailable: the storage could not be reached.
        InvalidDataset: the admin metadata cannot be read or parsed.
    """
    scheme = _scheme(uri)
    if scheme == "s3":
        return _s3().read_admin_metadata(uri)
    if scheme != "file":
        return brokers.read_admin_metadata(uri)
    uri = normalise_uri(uri)
    try:
        return read_admin_file(local_path(uri))
    except (Unsettled, OSError) as ex:
        raise InvalidDataset(f"cannot read the admin metadata of {uri}: {ex}") from ex


def list_dataset_uris(base_uri: str) -> Iterator[str]:
    """Yield the URI of every dataset (frozen or not) in ``base_uri``.

    Raises:
        DatasetStorageUnavailable: the base URI cannot be listed (missing directory,
            unreachable or unknown bucket, no storage broker for its scheme).
    """
    if _scheme(base_uri) == "s3":
        return _s3().list_dataset_uris(normalise_uri(base_uri))
    return brokers.list_dataset_uris(base_uri)


def list_dataset_stamps(base_uri: str) -> Iterator[tuple[str, str | None]]:
    """Yield ``(uri, stamp)`` of every dataset (frozen or not) in ``base_uri``.

    The stamp (``storage.stamps``) comes from the listing alone, no dataset
    is read; None where the storage gives none (brokers other than disk and S3).

    Raises:
        DatasetStorageUnavailable: the base URI cannot be listed.
    """
    scheme = _scheme(base_uri)
    if scheme == "s3":
        return _s3().list_dataset_stamps(normalise_uri(base_uri))
    if scheme != "file":
        return ((uri, None) for uri in list_dataset_uris(base_uri))
    base_uri = normalise_uri(base_uri)
    try:
        return iter(list(list_disk_stamps(base_uri, local_path(base_uri))))
    except OSError as ex:
        raise DatasetStorageUnavailable(f"cannot list {base_uri}: {ex}") from ex


def _scheme(uri: str) -> str:
    """Return the URI's scheme; a path (or a Windows drive) is ``file``."""
    scheme = urlsplit(uri).scheme
    return "file" if len(scheme) <= 1 else scheme


def _s3() -> S3DatasetReader:
    """Return the process's S3 reader, imported when an S3 URI is first read."""
    # NOTE(dev): boto3 is the optional s3 extra and slow to import; disk-only
    # deployments never need it.
    from lookup_events.storage.s3 import shared_reader  # noqa: PLC0415

    return shared_reader()

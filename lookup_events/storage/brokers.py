"""Read datasets through dtoolcore's storage brokers, looked up by us.

This is the reference reader (the registrar's ``--reader dtoolcore``): any
URI scheme a ``dtool.storage_brokers`` entry point provides, read through
the brokers' public methods only. ``storage.read_dataset`` reads disk and
S3 datasets faster and classifies failures the same way; tests compare them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, TypeVar
from urllib.parse import urlsplit

from dtoolcore import DtoolCoreKeyError
from dtoolcore.utils import DEFAULT_CONFIG_PATH

from lookup_events.errors import (
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
)
from lookup_events.storage.layout import AdminMetadata, check_frozen
from lookup_events.uris import base_uri_of, normalise_uri

log = logging.getLogger(__name__)

BROKER_GROUP = "dtool.storage_brokers"
_TRANSIENT = (ConnectionError, TimeoutError)
_TRANSIENT_CLASSES = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"}
_TRANSIENT_CODES = {"SlowDown", "Throttling", "RequestTimeout"}

T = TypeVar("T")


@functools.cache
def broker_classes() -> dict[str, type[Any]]:
    """Return the storage broker class of each URI scheme, looked up once.

    NOTE(dev): dtoolcore scans every installed entry point each time it
    needs a broker, three times per ``DataSet.from_uri``; the installed
    brokers cannot change while we run, so one scan serves the process.
    """
    classes: dict[str, type[Any]] = {}
    for entry_point in entry_points(group=BROKER_GROUP):
        try:
            loaded = entry_point.load()
        except ImportError as ex:  # a plugin whose own dependencies are missing
            log.warning("storage broker %s cannot be loaded: %s", entry_point.name, ex)
            continue
        classes[str(loaded.key)] = loaded
    return classes


def broker_class(uri: str) -> type[Any] | None:
    """Return the broker class of ``uri``'s scheme, or None."""
    return broker_classes().get(urlsplit(uri).scheme)


def read_dataset(uri: str) -> dict[str, Any]:
    """Return the dataset-info document of the frozen dataset at ``uri``.

    Raises:
        DatasetNotFound: nothing (no admin metadata) is at ``uri``.
        NotFrozen: it is a proto dataset.
        InvalidDataset: its metadata is unreadable, or no broker reads its scheme.
        DatasetStorageUnavailable: the storage could not be reached; try again later.
    """
    uri = normalise_uri(uri)
    found = broker_class(uri)
    if found is None:
        raise InvalidDataset(f"cannot read {uri}: no storage broker reads it")
    broker = _guarded(uri, found, lambda: found(uri, DEFAULT_CONFIG_PATH))
    admin = _guarded(uri, found, lambda: _admin_metadata(broker))
    if admin is None:
        raise DatasetNotFound(f"no dataset at {uri}")
    check_frozen(uri, admin)
    parts = _guarded(uri, found, lambda: _parts(broker))
    info = dict(admin)
    info.update(uri=uri, base_uri=base_uri_of(uri), **parts)
    return info


def read_admin_metadata(uri: str) -> AdminMetadata | None:
    """Return the admin metadata at ``uri``, or None if there is none.

    Raises:
        DatasetStorageUnavailable: the storage could not be reached.
        InvalidDataset: the admin metadata cannot be read or parsed, or no
            broker reads its scheme.
    """
    uri = normalise_uri(uri)
    found = broker_class(uri)
    if found is None:
        raise InvalidDataset(f"cannot read {uri}: no storage broker reads it")
    try:
        admin = _admin_metadata(found(uri, DEFAULT_CONFIG_PATH))
    except Exception as ex:  # NOTE(dev): only broker code runs here; see _guarded
        if _is_transient(ex):
            raise DatasetStorageUnavailable(f"cannot read {uri}: {ex}") from ex
        raise InvalidDataset(f"cannot read the admin metadata of {uri}: {ex}") from ex
    if admin is None:
        return None
    if not isinstance(admin, dict):
        raise InvalidDataset(f"the admin metadata of {uri} is not a JSON object")
    return dict(admin)


def list_dataset_uris(base_uri: str) -> Iterator[str]:
    """Yield the URI of every dataset (frozen or not) in ``base_uri``.

    Raises:
        DatasetStorageUnavailable: the base URI cannot be listed (missing directory,
            unreachable or unknown bucket, no storage broker for its scheme).
    """
    base_uri = normalise_uri(base_uri)
    found = broker_class(base_uri)
    if found is None:
        raise DatasetStorageUnavailable(f"cannot list {base_uri}: no storage broker reads it")
    try:
        uris = list(found.list_dataset_uris(base_uri, DEFAULT_CONFIG_PATH))
    except Exception as ex:  # NOTE(dev): only broker code runs here; see _guarded
        # NOTE(dev): a base URI that cannot be listed says nothing about its
        # datasets; callers must not read it as "empty" (and delete records).
        raise DatasetStorageUnavailable(
            f"cannot list {base_uri}: {type(ex).__name__}: {ex}"
        ) from ex
    for uri in uris:
        yield normalise_uri(uri)


def _admin_metadata(broker: Any) -> Any:
    """Return the broker's admin metadata, or None if it holds none."""
    return broker.get_admin_metadata() if broker.has_admin_metadata() else None


def _parts(broker: Any) -> dict[str, Any]:
    """Read the README, manifest, annotations and tags, as ``DataSet`` does."""
    return {
        "readme": broker.get_readme_content(),
        "manifest": broker.get_manifest(),
        "annotations": {
            name: broker.get_annotation(name) for name in sorted(broker.list_annotation_names())
        },
        "tags": list(broker.list_tags()),
    }


def _guarded(uri: str, broker_type: type[Any], read: Callable[[], T]) -> T:
    """Run broker code; turn what it raises into a project exception.

    NOTE(dev): brokers raise whatever their storage gives them on a corrupt
    dataset (OSError, ValueError, KeyError, botocore's errors, ...), so all
    of it is caught; that is why ``read`` must hold broker calls only, never
    our own logic, whose bugs would otherwise pass for broken datasets.
    """
    try:
        return read()
    except Exception as ex:
        raise _classify(uri, broker_type, ex) from ex


def _classify(uri: str, broker_type: type[Any], ex: Exception) -> Exception:
    if _is_transient(ex):
        return DatasetStorageUnavailable(f"cannot read {uri}: {ex}")
    # NOTE(dev): asked only after a failure, as it is one more storage request:
    # a dataset deleted while it was read is gone, not broken.
    if not _still_there(uri, broker_type):
        return DatasetNotFound(f"no dataset at {uri}")
    if isinstance(ex, FileNotFoundError | DtoolCoreKeyError):
        return DatasetNotFound(f"no dataset at {uri}")
    return InvalidDataset(f"cannot read {uri}: {type(ex).__name__}: {ex}")


def _still_there(uri: str, broker_type: type[Any]) -> bool:
    """Tell whether the admin metadata at ``uri`` exists (True when unsure)."""
    try:
        return bool(broker_type(uri, DEFAULT_CONFIG_PATH).has_admin_metadata())
    except Exception as ex:  # NOTE(dev): only broker code runs here; see _guarded
        if _is_transient(ex):
            raise DatasetStorageUnavailable(f"cannot read {uri}: {ex}") from ex
        return True


def _is_transient(ex: Exception) -> bool:
    """Tell whether a read failed for a passing reason (network, throttling)."""
    if isinstance(ex, _TRANSIENT):
        return True
    if {cls.__name__ for cls in type(ex).__mro__} & _TRANSIENT_CLASSES:
        return True
    response = getattr(ex, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = response.get("Error", {}).get("Code", "")
        return bool(status >= 500 or code in _TRANSIENT_CODES)
    return False

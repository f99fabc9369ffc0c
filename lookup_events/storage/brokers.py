"""Read a dataset's current state from its storage (dtoolcore, any storage broker)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import dtoolcore

from lookup_events.errors import (
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
)
from lookup_events.storage.layout import AdminMetadata, Unsettled, read_admin_file
from lookup_events.uris import base_uri_of, is_local, local_path, normalise_uri

_TRANSIENT = (ConnectionError, TimeoutError)


def memoize_broker_lookup() -> None:
    """Cache dtoolcore's storage-broker lookup (idempotent).

    NOTE(dev): ``DataSet.from_uri`` scans every installed entry point three
    times per dataset, about 95% of its run time; the set of installed
    brokers cannot change while we run, so one scan serves them all.
    """
    lookup = dtoolcore._generate_storage_broker_lookup
    if not hasattr(lookup, "cache_info"):
        dtoolcore._generate_storage_broker_lookup = functools.lru_cache(maxsize=1)(lookup)
    _memoize_s3_clients()


def _memoize_s3_clients() -> None:
    """Reuse dtool-s3's boto3 clients per bucket and thread (idempotent).

    NOTE(dev): dtool-s3 builds three boto3 clients every time it opens a
    dataset (about 0.5 s each); they depend only on the bucket's endpoint
    and credentials, so they are cached on those. boto3 resources are not
    thread-safe, hence one set per thread.
    """
    try:
        from dtool_s3.storagebroker import (  # noqa: PLC0415 (the s3 extra is optional)
            S3StorageBroker,
            get_config_value,
        )
    except ImportError:
        return
    original: Callable[..., Any] = S3StorageBroker.__dict__["_get_resource_and_client"].__func__
    if getattr(original, "_memoized", False):
        return
    cache: dict[tuple[Any, ...], Any] = {}

    def cached(cls: type, bucket_name: str) -> Any:
        config = tuple(
            get_config_value(f"DTOOL_S3_{name}_{bucket_name}")
            for name in ("ENDPOINT", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY")
        )
        key = (bucket_name, config, threading.get_ident())
        if key not in cache:
            cache[key] = original(cls, bucket_name)
        return cache[key]

    cached._memoized = True  # type: ignore[attr-defined]
    S3StorageBroker._get_resource_and_client = classmethod(cached)


def read_dataset(uri: str) -> dict[str, Any]:
    """Return the dataset-info document of the frozen dataset at ``uri``.

    Raises:
        DatasetNotFound: nothing (no admin metadata) is at ``uri``.
        NotFrozen: it is a proto dataset.
        InvalidDataset: its metadata is unreadable.
        DatasetStorageUnavailable: the storage could not be reached; try again later.
    """
    memoize_broker_lookup()
    uri = normalise_uri(uri)
    try:
        dataset = dtoolcore.DataSet.from_uri(uri)
        info: dict[str, Any] = dict(dataset._admin_metadata)
        info.update(
            uri=uri,
            base_uri=base_uri_of(uri),
            readme=dataset.get_readme_content(),
            manifest=dataset._manifest,
            annotations={
                name: dataset.get_annotation(name) for name in dataset.list_annotation_names()
            },
            tags=list(dataset.list_tags()),
        )
    except Exception as ex:
        if _is_transient(ex):
            raise DatasetStorageUnavailable(f"cannot read {uri}: {ex}") from ex
        # NOTE(dev): asked only after a failure: it costs a fifth of a read.
        if not _has_admin_metadata(uri):
            raise DatasetNotFound(f"no dataset at {uri}") from ex
        raise _classify(uri, ex) from ex
    return info


def _has_admin_metadata(uri: str) -> bool:
    """Tell whether the admin metadata at ``uri`` exists (True when unsure)."""
    try:
        return bool(dtoolcore._is_dataset(uri, None))
    except Exception as ex:
        if _is_transient(ex):
            raise DatasetStorageUnavailable(f"cannot read {uri}: {ex}") from ex
        return True


def _classify(uri: str, ex: Exception) -> Exception:
    if isinstance(ex, dtoolcore.DtoolCoreTypeError):
        return NotFrozen(f"{uri} is not a frozen dataset")
    if isinstance(ex, FileNotFoundError | dtoolcore.DtoolCoreKeyError):
        return DatasetNotFound(f"no dataset at {uri}")
    return InvalidDataset(f"cannot read {uri}: {type(ex).__name__}: {ex}")


def _is_transient(ex: Exception) -> bool:
    """Tell whether a read failed for a reason that may go away (network, throttling)."""
    if isinstance(ex, _TRANSIENT):
        return True
    names = {cls.__name__ for cls in type(ex).__mro__}
    if names & {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"}:
        return True
    response = getattr(ex, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = response.get("Error", {}).get("Code", "")
        return bool(status >= 500 or code in {"SlowDown", "Throttling", "RequestTimeout"})
    return False


def list_dataset_uris(base_uri: str) -> Iterator[str]:
    """Yield the URI of every dataset (frozen or not) in ``base_uri``.

    Raises:
        DatasetStorageUnavailable: the base URI cannot be listed (missing directory,
            unreachable or unknown bucket, no storage broker for its scheme).
    """
    memoize_broker_lookup()
    base_uri = normalise_uri(base_uri)
    config_path = dtoolcore.utils.DEFAULT_CONFIG_PATH
    try:
        broker = dtoolcore._get_storage_broker(base_uri, config_path)
        uris = broker.list_dataset_uris(base_uri, config_path)
    except Exception as ex:
        # NOTE(dev): a base URI that cannot be listed says nothing about its
        # datasets; callers must not read it as "empty" (and delete records).
        raise DatasetStorageUnavailable(
            f"cannot list {base_uri}: {type(ex).__name__}: {ex}"
        ) from ex
    for uri in uris:
        yield normalise_uri(uri)


def read_admin_metadata(uri: str) -> AdminMetadata | None:
    """Return the admin metadata at ``uri`` (one read or request), or None if absent.

    Raises:
        DatasetStorageUnavailable: the storage could not be reached.
        InvalidDataset: the admin metadata cannot be read or parsed.
    """
    if is_local(uri):
        try:
            return read_admin_file(local_path(uri))
        except (Unsettled, OSError) as ex:
            raise InvalidDataset(f"cannot read the admin metadata of {uri}: {ex}") from ex
    memoize_broker_lookup()
    try:
        broker = dtoolcore._get_storage_broker(uri, dtoolcore.utils.DEFAULT_CONFIG_PATH)
        if not broker.has_admin_metadata():
            return None
        return dict(broker.get_admin_metadata())
    except (ConnectionError, TimeoutError) as ex:
        raise DatasetStorageUnavailable(f"cannot read {uri}: {ex}") from ex
    except Exception as ex:
        raise InvalidDataset(f"cannot read the admin metadata of {uri}: {ex}") from ex

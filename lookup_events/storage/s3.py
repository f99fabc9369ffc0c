"""Read dtool datasets in S3 (dtool-s3's layout) with clients of our own.

A dataset ``s3://<bucket>/<uuid>`` keeps its keys under ``<prefix><uuid>/``,
the prefix being the body of the bucket's ``dtool-<uuid>`` registration key
(``reference/events.md`` §2.1). Its admin metadata is the user metadata of
``<prefix><uuid>/dtool``, read as dtool-s3's ``get_admin_metadata`` reads it.
A bucket's endpoint and credentials are dtool-s3's own settings
(``DTOOL_S3_ENDPOINT_<bucket>`` ...), else the default AWS chain.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from dtoolcore.utils import get_config_value

from lookup_events.errors import DatasetNotFound, DatasetStorageUnavailable, InvalidDataset
from lookup_events.model import STAMP
from lookup_events.storage.layout import AdminMetadata, check_frozen
from lookup_events.storage.s3_walk import bucket_stamps
from lookup_events.storage.stamps import s3_stamp
from lookup_events.uris import base_uri_of, strip_trailing_slash

REGISTRATION_KEY = "dtool-"
ADMIN_KEY = "dtool"
README_KEY = "README.yml"
MANIFEST_KEY = "manifest.json"
ANNOTATIONS_KEY = "annotations/"
TAGS_KEY = "tags/"
_ANNOTATION_SUFFIX = ".json"
_FLOATS = ("created_at", "frozen_at")  # dtool-s3 stores user metadata as text
_MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})

T = TypeVar("T")
ConfigValue = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and as whom a bucket is reached; all None means the AWS chain."""

    url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


ClientFactory = Callable[[Endpoint], Any]


def dtool_config_value(key: str) -> Any:
    """Return a dtool setting: the environment, else dtool's config file."""
    return get_config_value(key)


def new_client(endpoint: Endpoint) -> Any:
    """Return a new boto3 S3 client for ``endpoint``."""
    session = boto3.session.Session(
        aws_access_key_id=endpoint.access_key_id,
        aws_secret_access_key=endpoint.secret_access_key,
    )
    return session.client("s3", endpoint_url=endpoint.url)


class S3Clients:
    """boto3 S3 clients, one per bucket endpoint, shared by every thread.

    NOTE(dev): a client is slow to make and depends only on the endpoint
    and credentials, so it is made once per such setting: the cache is as
    large as the configuration, whatever the buckets and threads. boto3
    clients are thread-safe; its resources are not, and are never used.
    """

    def __init__(
        self, factory: ClientFactory = new_client, config: ConfigValue = dtool_config_value
    ) -> None:
        self._factory = factory
        self._config = config
        self._clients: dict[Endpoint, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, bucket: str) -> Any:
        """Return the client for ``bucket``.

        Raises:
            DatasetStorageUnavailable: the bucket's settings are incomplete.
        """
        endpoint = self.endpoint(bucket)
        client = self._clients.get(endpoint)
        if client is None:
            with self._lock:  # one client per setting, even if threads ask at once
                client = self._clients.get(endpoint)
                if client is None:
                    client = self._clients[endpoint] = self._factory(endpoint)
        return client

    def endpoint(self, bucket: str) -> Endpoint:
        """Return the bucket's endpoint settings, as dtool-s3 reads them."""
        endpoint = Endpoint(
            self._config(f"DTOOL_S3_ENDPOINT_{bucket}"),
            self._config(f"DTOOL_S3_ACCESS_KEY_ID_{bucket}"),
            self._config(f"DTOOL_S3_SECRET_ACCESS_KEY_{bucket}"),
        )
        values = (endpoint.url, endpoint.access_key_id, endpoint.secret_access_key)
        if any(value is not None for value in values) and not all(values):
            raise DatasetStorageUnavailable(
                f"bucket {bucket} is half configured: set all of DTOOL_S3_ENDPOINT_{bucket}, "
                f"DTOOL_S3_ACCESS_KEY_ID_{bucket} and DTOOL_S3_SECRET_ACCESS_KEY_{bucket}"
            )
        return endpoint

    def configured_prefix(self, bucket: str) -> str:
        """Return the bucket's configured dataset prefix (dtool-s3's fallback)."""
        return str(self._config(f"DTOOL_S3_DATASET_PREFIX_{bucket}") or "")


class _Missing(LookupError):
    """The object asked for does not exist."""


class _Undecodable(ValueError):
    """An object's content is not what dtool-s3 writes there."""


class S3DatasetReader:
    """Reads dtool datasets, their admin metadata and bucket listings."""

    def __init__(self, clients: S3Clients) -> None:
        self._clients = clients

    def read_dataset(self, uri: str) -> dict[str, Any]:
        """Return the dataset-info document of the frozen dataset at ``uri``.

        Raises:
            DatasetNotFound, NotFrozen, InvalidDataset, DatasetStorageUnavailable:
                as ``brokers.read_dataset`` does.
        """
        uri = strip_trailing_slash(uri)
        try:
            dataset = self._locate(uri)
            admin = dataset.admin()
        except _Undecodable as ex:
            raise InvalidDataset(f"cannot read {uri}: {ex}") from ex
        if admin is None:
            raise DatasetNotFound(f"no dataset at {uri}")
        check_frozen(uri, admin)
        try:
            readme, manifest, annotations, tags = dataset.parts()
        except (_Missing, _Undecodable) as ex:
            raise self._broken(dataset, ex) from ex
        info = dict(admin)
        info.update(uri=uri, base_uri=base_uri_of(uri), readme=readme, manifest=manifest)
        info.update(annotations=annotations, tags=tags)
        info[STAMP] = s3_stamp(dataset.etags)
        return info

    def read_admin_metadata(self, uri: str) -> AdminMetadata | None:
        """Return the admin metadata at ``uri``, or None if there is none.

        Raises:
            DatasetStorageUnavailable: the bucket could not be reached.
            InvalidDataset: the admin metadata cannot be read.
        """
        uri = strip_trailing_slash(uri)
        try:
            return self._locate(uri).admin()
        except _Undecodable as ex:
            raise InvalidDataset(f"cannot read the admin metadata of {uri}: {ex}") from ex

    def list_dataset_uris(self, base_uri: str) -> Iterator[str]:
        """Yield the URI of every dataset (frozen or not) in the bucket.

        Raises:
            DatasetStorageUnavailable: the bucket cannot be listed.
        """
        bucket = urlsplit(base_uri).netloc
        client = self._clients(bucket)
        found = []
        try:
            for key, size in list(_keys(client, bucket, REGISTRATION_KEY)):
                uuid = key.removeprefix(REGISTRATION_KEY)
                if "/" not in uuid and self._is_dataset(bucket, uuid, size):
                    found.append(f"s3://{bucket}/{uuid}")
        except _Missing as ex:
            raise DatasetStorageUnavailable(f"cannot list {base_uri}: {ex}") from ex
        yield from found

    def list_dataset_stamps(self, base_uri: str) -> Iterator[tuple[str, str | None]]:
        """Yield ``(uri, stamp)`` of every dataset in the bucket, from one listing walk.

        Raises:
            DatasetStorageUnavailable: the bucket cannot be listed.
        """
        bucket = urlsplit(base_uri).netloc
        client = self._clients(bucket)

        def page(start_after: str) -> dict[str, Any]:
            options = {"Bucket": bucket, "StartAfter": start_after}
            return _request(base_uri, lambda: client.list_objects_v2(**options))

        try:
            found = bucket_stamps(page, functools.partial(self._prefix_of, bucket))
            return iter([(f"s3://{bucket}/{uuid}", stamp) for uuid, stamp in found])
        except _Missing as ex:
            raise DatasetStorageUnavailable(f"cannot list {base_uri}: {ex}") from ex

    def _prefix_of(self, bucket: str, uuid: str) -> str:
        """Return the prefix a (non-empty) registration key names."""
        key = REGISTRATION_KEY + uuid
        client = self._clients(bucket)
        try:
            return _text(key, _request(key, lambda: _get(client, bucket, key)))
        except _Missing:
            return self._clients.configured_prefix(bucket)

    def presigned_urls(self, uri: str, names: list[str], expiry: int) -> list[str]:
        """Return a presigned GET URL for each object ``names`` (relative to the dataset).

        Presigning is computed locally; only finding the dataset's prefix asks S3.
        """
        dataset = self._locate(strip_trailing_slash(uri))
        return [dataset.presigned_url(name, expiry) for name in names]

    def names_under(self, uri: str, infix: str) -> list[str]:
        """Return the object names under ``infix`` (``overlays/``), relative to it."""
        dataset = self._locate(strip_trailing_slash(uri))
        return sorted(_name(key) for key in dataset.keys(infix))

    def _is_dataset(self, bucket: str, uuid: str, size: int) -> bool:
        """Tell whether a registered UUID has admin metadata (unreadable: yes)."""
        uri = f"s3://{bucket}/{uuid}"
        try:
            # NOTE(dev): an empty registration key means no prefix: no need to GET it.
            dataset = self._locate(uri) if size else _Dataset(self._clients(bucket), uri, "")
            return dataset.admin() is not None
        except _Undecodable:
            return True  # unreadable is not absent: the reader will say why

    def _locate(self, uri: str) -> _Dataset:
        """Find the dataset's keys: the prefix its registration key holds."""
        bucket, uuid = _bucket_and_uuid(uri)
        client = self._clients(bucket)
        key = REGISTRATION_KEY + uuid
        try:
            body = _request(uri, lambda: _get(client, bucket, key))
        except _Missing:  # as dtool-s3, fall back on the configured prefix
            return _Dataset(client, uri, self._clients.configured_prefix(bucket))
        return _Dataset(client, uri, _text(key, body))

    def _broken(self, dataset: _Dataset, ex: Exception) -> Exception:
        """Classify a failed read: the dataset is gone, or broken."""
        # NOTE(dev): asked only after a failure, as it is one more request:
        # a dataset deleted while it was read is gone, not broken.
        try:
            gone = dataset.admin() is None
        except _Undecodable:
            gone = False
        if gone:
            return DatasetNotFound(f"no dataset at {dataset.uri}")
        return InvalidDataset(f"cannot read {dataset.uri}: {type(ex).__name__}: {ex}")


class _Dataset:
    """One dataset's place in its bucket, and reading its objects."""

    def __init__(self, client: Any, uri: str, prefix: str) -> None:
        self.client = client
        self.uri = uri
        self.bucket, uuid = _bucket_and_uuid(uri)
        self._root = f"{prefix}{uuid}/"
        # The ETag of every object read or listed, by name (``storage.stamps``).
        self.etags: dict[str, str] = {}

    def admin(self) -> AdminMetadata | None:
        """Return the admin metadata (its object's user metadata), or None."""
        key = self._root + ADMIN_KEY
        try:
            head = _request(self.uri, lambda: self.client.head_object(Bucket=self.bucket, Key=key))
        except _Missing:
            return None
        self.etags[ADMIN_KEY] = str(head.get("ETag", ""))
        admin: AdminMetadata = dict(head.get("Metadata") or {})
        for name in _FLOATS:
            if name in admin:
                admin[name] = _float(key, name, admin[name])
        return admin

    def parts(self) -> tuple[str, Any, dict[str, Any], list[str]]:
        """Read the README, manifest, annotations and tags."""
        names = sorted(
            _name(key).removesuffix(_ANNOTATION_SUFFIX) for key in self._keys(ANNOTATIONS_KEY)
        )
        return (
            _text(README_KEY, self._get(README_KEY)),
            _json(MANIFEST_KEY, self._get(MANIFEST_KEY)),
            {name: _json(name, self._get(_annotation_key(name))) for name in names},
            [_name(key) for key in self._keys(TAGS_KEY)],
        )

    def presigned_url(self, name: str, expiry: int) -> str:
        """Return a presigned GET URL of the object ``name`` (relative to the dataset)."""
        params = {"Bucket": self.bucket, "Key": self._root + name}
        return str(
            self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expiry)
        )

    def keys(self, infix: str) -> list[str]:
        """Return the keys under ``infix`` of the dataset."""
        return self._keys(infix)

    def _get(self, name: str) -> bytes:
        key = self._root + name
        response = _request(self.uri, lambda: self.client.get_object(Bucket=self.bucket, Key=key))
        self.etags[name] = str(response.get("ETag", ""))
        return bytes(response["Body"].read())

    def _keys(self, infix: str) -> list[str]:
        keys = []
        for entry in listing(self.client, self.bucket, {"Prefix": self._root + infix}):
            keys.append(key := str(entry["Key"]))
            self.etags[key.removeprefix(self._root)] = str(entry.get("ETag", ""))
        return keys


def _bucket_and_uuid(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.netloc, parts.path[1:]


def _request(what: str, send: Callable[[], T]) -> T:
    """Send one S3 request; turn botocore's errors into ours.

    NOTE(dev): only a missing key means a missing object. A missing bucket,
    a refusal (403) or an expired credential is storage out of reach: read
    as "gone", it would make the registrar delete records.
    """
    try:
        return send()
    except ClientError as ex:
        if str(ex.response.get("Error", {}).get("Code", "")) in _MISSING_CODES:
            raise _Missing(f"{what}: {ex}") from ex
        raise DatasetStorageUnavailable(f"cannot read {what}: {ex}") from ex
    except ParamValidationError:
        raise  # a request botocore will not send: our bug, or a bucket name S3 refuses
    except BotoCoreError as ex:  # network, credentials, a response cut short
        raise DatasetStorageUnavailable(f"cannot read {what}: {ex}") from ex


def _get(client: Any, bucket: str, key: str) -> bytes:
    return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def _keys(client: Any, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """Yield the key and size of every object under ``prefix``."""
    for entry in listing(client, bucket, {"Prefix": prefix}):
        yield str(entry["Key"]), int(entry.get("Size", 0))


def listing(client: Any, bucket: str, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the listed objects (``Contents`` entries) ``options`` select, every page."""
    what = f"s3://{bucket}/{options.get('Prefix', '')}"
    options = {"Bucket": bucket, **options}
    while True:
        page = _request(what, lambda: client.list_objects_v2(**options))
        yield from page.get("Contents", [])
        if not page.get("IsTruncated"):
            return
        options["ContinuationToken"] = page["NextContinuationToken"]


def _name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _annotation_key(name: str) -> str:
    """Return where dtool-s3 puts an annotation (a listed key can differ)."""
    return ANNOTATIONS_KEY + name + _ANNOTATION_SUFFIX


def _text(what: str, body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise _Undecodable(f"{what} is not UTF-8 text: {ex}") from ex


def _json(what: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as ex:
        raise _Undecodable(f"{what} is not JSON: {ex}") from ex


def _float(key: str, name: str, value: object) -> float:
    try:
        return float(str(value))
    except ValueError as ex:
        raise _Undecodable(f"{key}: {name} is not a number: {value!r}") from ex


@functools.cache
def shared_clients() -> S3Clients:
    """Return the process's S3 clients (each made when first needed)."""
    return S3Clients()


@functools.cache
def shared_reader() -> S3DatasetReader:
    """Return the process's S3 reader, on the shared clients."""
    return S3DatasetReader(shared_clients())


def read_dataset(uri: str) -> dict[str, Any]:
    """Return the dataset-info document at ``uri`` (the shared reader)."""
    return shared_reader().read_dataset(uri)


def read_admin_metadata(uri: str) -> AdminMetadata | None:
    """Return the admin metadata at ``uri`` (the shared reader)."""
    return shared_reader().read_admin_metadata(uri)


def list_dataset_uris(base_uri: str) -> Iterator[str]:
    """Yield the dataset URIs of a bucket (the shared reader)."""
    return shared_reader().list_dataset_uris(base_uri)

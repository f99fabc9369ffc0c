"""Our S3 reader against dtool-s3's own, on datasets dtool-s3 wrote to a moto server.

Every case is read twice: by ``storage.read_dataset`` (our reader, our
clients) and through dtool-s3's storage broker (``brokers.read_dataset``);
both give the same document or the same error class. Good datasets are
also compared with what ``dtoolcore.DataSet`` itself returns.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
import dtoolcore
import pytest
from botocore.config import Config

from lookup_events.errors import (
    DatasetNotFound,
    DatasetStorageUnavailable,
    InvalidDataset,
    NotFrozen,
)
from lookup_events.storage import brokers, list_dataset_uris, read_admin_metadata, read_dataset
from lookup_events.storage.s3 import Endpoint, S3Clients, S3DatasetReader, new_client
from lookup_events.uris import base_uri_of
from tests.support.aws import CREDENTIALS, Aws, new_bucket_name, point_dtool_s3_at
from tests.support.datasets import fill, unstamped

pytestmark = pytest.mark.slow  # every case writes datasets to moto with dtool-s3

README = "---\ndescription: pommes et poires, ünïcödé\r\nlist: [1, 2]\n"
PREFIX = "u/alice/"


@dataclass
class Bucket:
    """A moto bucket dtool-s3 writes to, and a plain client to break things with."""

    name: str
    s3: Any
    monkeypatch: pytest.MonkeyPatch
    uris: list[str] = field(default_factory=list)

    def write(
        self,
        name: str = "fruit",
        *,
        prefix: str = "",
        freeze: bool = True,
        items: dict[str, bytes] | None = None,
        tags: tuple[str, ...] = ("fruit", "red"),
        annotations: dict[str, Any] | None = None,
    ) -> str:
        """Write a dataset with dtool-s3 (under ``prefix``); return its URI."""
        with self.monkeypatch.context() as context:
            if prefix:
                context.setenv(f"DTOOL_S3_DATASET_PREFIX_{self.name}", prefix)
            proto = dtoolcore.create_proto_dataset(
                name, f"s3://{self.name}", readme_content=README, creator_username="ann"
            )
            fill(proto, items, tags, annotations, freeze=freeze)
        return str(proto.uri)

    def key(self, uri: str, name: str) -> str:
        """Return the key of one of the dataset's objects."""
        uuid = uri.rsplit("/", 1)[1]
        prefix = self.s3.get_object(Bucket=self.name, Key=f"dtool-{uuid}")["Body"].read()
        return f"{prefix.decode()}{uuid}/{name}"

    def put(self, uri: str, name: str, body: bytes) -> None:
        """Overwrite one of the dataset's objects."""
        self.s3.put_object(Bucket=self.name, Key=self.key(uri, name), Body=body)

    def delete(self, *keys: str) -> None:
        """Delete objects by key."""
        for key in keys:
            self.s3.delete_object(Bucket=self.name, Key=key)

    def set_admin(self, uri: str, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
        """Rewrite the admin metadata object's user metadata with ``change``."""
        key = self.key(uri, "dtool")
        metadata = self.s3.head_object(Bucket=self.name, Key=key)["Metadata"]
        body = self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()
        self.s3.put_object(Bucket=self.name, Key=key, Body=body, Metadata=change(metadata))


@pytest.fixture
def bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A fresh bucket, configured for dtool-s3 (and so for us) on the moto server."""
    name = new_bucket_name()
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name)
    point_dtool_s3_at(monkeypatch, name, aws.endpoint)
    return Bucket(name, s3, monkeypatch)


def dataset_document(uri: str) -> dict[str, Any]:
    """Read ``uri`` with ``dtoolcore.DataSet`` into the document the registrar stores."""
    dataset = dtoolcore.DataSet.from_uri(uri)
    info = dict(dataset.admin_metadata)
    info.update(
        uri=uri,
        base_uri=base_uri_of(uri),
        readme=dataset.get_readme_content(),
        manifest=dataset._manifest,
        annotations={
            name: dataset.get_annotation(name) for name in dataset.list_annotation_names()
        },
        tags=dataset.list_tags(),
    )
    return info


def raised(read: Callable[[str], Any], uri: str) -> tuple[type[Exception], str]:
    with pytest.raises(Exception) as caught:
        read(uri)
    return type(caught.value), str(caught.value)


def test_a_rich_dataset_reads_as_dtool_s3_reads_it(bucket: Bucket) -> None:
    uri = bucket.write(
        items={"a.txt": b"apple", "deep/ü b+c.txt": b"u"},
        annotations={"colour": "red", "weight": 0.25, "count": 3, "ok": True, "nested": [1, {}]},
    )

    ours = unstamped(read_dataset(uri))

    assert ours == brokers.read_dataset(uri) == dataset_document(uri)
    assert ours["readme"] == README  # S3 keeps the \r\n a disk read would turn into \n
    assert isinstance(ours["frozen_at"], float)
    assert isinstance(ours["created_at"], float)
    assert (ours["type"], ours["creator_username"]) == ("dataset", "ann")
    assert ours["annotations"]["nested"] == [1, {}]
    assert len(ours["manifest"]["items"]) == 2


def test_a_prefixed_dataset_is_found_by_its_registration_key(bucket: Bucket) -> None:
    uri = bucket.write(prefix=PREFIX)
    assert bucket.key(uri, "dtool").startswith(PREFIX)  # and the prefix is no longer configured

    assert unstamped(read_dataset(uri)) == brokers.read_dataset(uri) == dataset_document(uri)
    assert read_admin_metadata(uri) == brokers.read_admin_metadata(uri)


def test_bare_and_edited_datasets_read_alike(bucket: Bucket) -> None:
    bare = bucket.write("bare", items={}, tags=())
    edited = bucket.write("edited", annotations={"colour": "red"})
    dataset = dtoolcore.DataSet.from_uri(edited)
    dataset.put_readme("---\ndescription: changed\n")  # leaves a README backup
    dataset.update_name("renamed")
    dataset.put_tag("late")
    dataset.put_annotation("colour", "green")

    for uri in (bare, edited):
        assert unstamped(read_dataset(uri)) == brokers.read_dataset(uri) == dataset_document(uri)
    assert read_dataset(edited)["name"] == "renamed"
    assert read_dataset(bare)["tags"] == []


def gone(bucket: Bucket, uri: str) -> None:
    keys = bucket.s3.list_objects_v2(Bucket=bucket.name)["Contents"]
    bucket.delete(*(entry["Key"] for entry in keys if uri.rsplit("/", 1)[1] in entry["Key"]))


BREAKAGES: dict[str, tuple[Callable[[Bucket, str], object], type[Exception]]] = {
    "gone": (gone, DatasetNotFound),
    "admin-deleted": (lambda b, uri: b.delete(b.key(uri, "dtool")), DatasetNotFound),
    "manifest": (lambda b, uri: b.put(uri, "manifest.json", b"{not json"), InvalidDataset),
    "annotation": (lambda b, uri: b.put(uri, "annotations/colour.json", b"{"), InvalidDataset),
    "readme": (lambda b, uri: b.put(uri, "README.yml", b"\xff\xfe"), InvalidDataset),
    "no-manifest": (lambda b, uri: b.delete(b.key(uri, "manifest.json")), InvalidDataset),
    "no-readme": (lambda b, uri: b.delete(b.key(uri, "README.yml")), InvalidDataset),
    "frozen-at": (
        lambda b, uri: b.set_admin(uri, lambda m: {**m, "frozen_at": "soon"}),
        InvalidDataset,
    ),
    "typeless": (
        lambda b, uri: b.set_admin(uri, lambda m: {k: v for k, v in m.items() if k != "type"}),
        InvalidDataset,
    ),
    "registration-key-lost": (
        lambda b, uri: b.delete(f"dtool-{uri.rsplit('/', 1)[1]}"),
        DatasetNotFound,
    ),
}


@pytest.mark.parametrize("prefix", ["", PREFIX], ids=["plain", "prefixed"])
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_both_readers_fail_alike(bucket: Bucket, breakage: str, prefix: str) -> None:
    uri = bucket.write(prefix=prefix, annotations={"colour": "red"})
    breaks, expected = BREAKAGES[breakage]
    if breakage == "registration-key-lost" and not prefix:
        expected = type(None)  # without a prefix, losing the key loses nothing
    breaks(bucket, uri)

    if expected is type(None):
        assert unstamped(read_dataset(uri)) == brokers.read_dataset(uri)
        return
    ours, theirs = raised(read_dataset, uri), raised(brokers.read_dataset, uri)
    assert ours[0] is theirs[0] is expected
    assert uri in ours[1]
    assert ours[1].partition(uri)[0] == theirs[1].partition(uri)[0]


def test_a_proto_dataset_is_not_frozen_for_either(bucket: Bucket) -> None:
    uri = bucket.write(freeze=False)

    assert raised(read_dataset, uri)[0] is raised(brokers.read_dataset, uri)[0] is NotFrozen
    admin = read_admin_metadata(uri)
    assert admin == brokers.read_admin_metadata(uri)
    assert admin is not None
    assert admin["type"] == "protodataset"


def test_a_lost_registration_key_falls_back_on_the_configured_prefix(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = bucket.write(prefix=PREFIX)
    bucket.delete(f"dtool-{uri.rsplit('/', 1)[1]}")
    monkeypatch.setenv(f"DTOOL_S3_DATASET_PREFIX_{bucket.name}", PREFIX)

    assert unstamped(read_dataset(uri)) == brokers.read_dataset(uri)
    assert read_admin_metadata(uri) == brokers.read_admin_metadata(uri)


def test_listing_a_bucket_finds_what_dtool_s3_finds(bucket: Bucket) -> None:
    frozen = bucket.write("frozen")
    proto = bucket.write("proto", freeze=False)
    prefixed = bucket.write("prefixed", prefix=PREFIX)
    leftover = bucket.write("leftover")
    bucket.delete(bucket.key(leftover, "dtool"))  # its dtool-<uuid> key stays
    base_uri = f"s3://{bucket.name}/"

    listed = sorted(list_dataset_uris(base_uri))

    assert listed == sorted([frozen, proto, prefixed])
    assert listed == sorted(brokers.list_dataset_uris(base_uri))
    assert read_admin_metadata(leftover) is None


def test_a_missing_bucket_is_storage_out_of_reach(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = new_bucket_name()  # never created: absent storage says nothing of its datasets
    point_dtool_s3_at(monkeypatch, name, aws.endpoint)
    uri = f"s3://{name}/0627008f-d443-460d-a7fb-7b21f8e44f95"

    with pytest.raises(DatasetStorageUnavailable, match="NoSuchBucket"):
        read_dataset(uri)
    with pytest.raises(DatasetStorageUnavailable, match="NoSuchBucket"):
        read_admin_metadata(uri)
    with pytest.raises(DatasetStorageUnavailable, match="NoSuchBucket"):
        list(list_dataset_uris(f"s3://{name}"))


class CountingFactory:
    """Makes real clients (or what ``make`` returns) and counts them, per endpoint."""

    def __init__(self, make: Callable[[Endpoint], Any] = new_client) -> None:
        self.made: list[Endpoint] = []
        self._make = make
        self._lock = threading.Lock()

    def __call__(self, endpoint: Endpoint) -> Any:
        with self._lock:
            self.made.append(endpoint)
        return self._make(endpoint)


def test_clients_are_made_once_per_endpoint_setting_for_every_thread(
    bucket: Bucket, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = new_bucket_name()
    aws.client("s3").create_bucket(Bucket=other)
    point_dtool_s3_at(monkeypatch, other, aws.endpoint)
    uris = [bucket.write(f"ds{number}") for number in range(3)]
    factory = CountingFactory()
    reader = S3DatasetReader(S3Clients(factory))

    with ThreadPoolExecutor(4) as pool:
        documents = list(pool.map(reader.read_dataset, uris * 4))
    listed = list(reader.list_dataset_uris(f"s3://{other}"))
    assert [d["uri"] for d in documents] == uris * 4
    assert listed == []
    assert factory.made == [Endpoint(aws.endpoint, *CREDENTIALS.values())]

    monkeypatch.setenv(f"DTOOL_S3_ACCESS_KEY_ID_{other}", "rotated")
    list(reader.list_dataset_uris(f"s3://{other}"))
    assert len(factory.made) == 2  # a new setting, a new client; the old one serves the rest
    reader.read_dataset(uris[0])
    assert len(factory.made) == 2


def test_a_half_configured_bucket_is_storage_out_of_reach(bucket: Bucket) -> None:
    uri = bucket.write()
    settings = {f"DTOOL_S3_ENDPOINT_{bucket.name}": "http://127.0.0.1:1"}
    clients = S3Clients(CountingFactory(), config=settings.get)

    with pytest.raises(DatasetStorageUnavailable, match="half configured"):
        clients(bucket.name)
    with pytest.raises(DatasetStorageUnavailable, match="half configured"):
        S3DatasetReader(clients).read_dataset(uri)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    yield port


def test_an_unreachable_endpoint_is_storage_out_of_reach(bucket: Bucket, closed_port: int) -> None:
    uri = bucket.write()
    settings = {
        f"DTOOL_S3_ENDPOINT_{bucket.name}": f"http://127.0.0.1:{closed_port}",
        f"DTOOL_S3_ACCESS_KEY_ID_{bucket.name}": "testing",
        f"DTOOL_S3_SECRET_ACCESS_KEY_{bucket.name}": "testing",
    }
    reader = S3DatasetReader(S3Clients(impatient_client, config=settings.get))

    for read in (reader.read_dataset, reader.read_admin_metadata):
        with pytest.raises(DatasetStorageUnavailable, match="Could not connect"):
            read(uri)
    with pytest.raises(DatasetStorageUnavailable):
        list(reader.list_dataset_uris(f"s3://{bucket.name}"))


def impatient_client(endpoint: Endpoint) -> Any:
    """Return a client that tries once and waits a second at most."""
    config = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)
    return boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        aws_access_key_id=endpoint.access_key_id,
        aws_secret_access_key=endpoint.secret_access_key,
        config=config,
    )


def test_a_bug_of_ours_is_raised_not_taken_for_a_broken_dataset(bucket: Bucket) -> None:
    uri = bucket.write()
    reader = S3DatasetReader(S3Clients(lambda endpoint: object()))  # not a client at all

    with pytest.raises(AttributeError):
        reader.read_dataset(uri)
    with pytest.raises(AttributeError):
        list(reader.list_dataset_uris(f"s3://{bucket.name}"))


def test_admin_metadata_is_the_user_metadata_with_its_times_as_numbers(bucket: Bucket) -> None:
    uri = bucket.write()
    key = bucket.key(uri, "dtool")
    stored = json.loads(bucket.s3.get_object(Bucket=bucket.name, Key=key)["Body"].read())

    admin = read_admin_metadata(uri)

    assert admin == {
        name: value if name.endswith("_at") else str(value) for name, value in stored.items()
    }
    assert admin == brokers.read_admin_metadata(uri)
    assert read_admin_metadata(f"s3://{bucket.name}/0627008f-d443-460d-a7fb-7b21f8e44f95") is None

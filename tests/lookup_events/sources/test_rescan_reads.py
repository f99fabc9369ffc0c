"""A restart's rescan reads only the datasets that changed: on disk and on S3 (moto server).

What is read is counted below our code: on disk every file the process opens
(Python's ``open`` audit event, raised by ``open`` and ``os.open`` alike), on
S3 every request the real botocore client sends. The rescan starts with
nothing remembered (``seen`` empty), as after a restart: only the store's
stamps tell it what it saw before.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dtoolcore
import pytest

from lookup_events.events import DatasetEvent
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.writer import Registrar
from lookup_events.sources.scan import RescanCounts, rescan
from lookup_events.storage.s3 import Endpoint, S3Clients, S3DatasetReader, new_client
from lookup_events.store import Stores
from lookup_events.uris import normalise_uri
from tests.support.aws import Aws, new_bucket_name, point_dtool_s3_at
from tests.support.datasets import fill, make_dataset, set_readme

_opened: list[str] | None = None
_lock = threading.Lock()
_hooked = False


def _on_audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _opened is not None and args and isinstance(args[0], str | bytes):
        _opened.append(str(args[0], "utf-8") if isinstance(args[0], bytes) else args[0])


@contextmanager
def opened_files() -> Iterator[list[str]]:
    """Record the path of every file this process opens in the block."""
    global _opened, _hooked  # noqa: PLW0603 (an audit hook cannot be removed: one, switched)
    with _lock:
        if not _hooked:
            sys.addaudithook(_on_audit)
            _hooked = True
        found: list[str] = []
        _opened = found
    try:
        yield found
    finally:
        _opened = None


def under(paths: list[str], directory: Path) -> set[str]:
    """Return the names of the datasets in ``directory`` whose files were opened."""
    prefix = f"{directory}/"
    return {path[len(prefix) :].split("/", 1)[0] for path in paths if path.startswith(prefix)}


def kinds(events: list[DatasetEvent]) -> list[tuple[str, str]]:
    """Return each event's kind and dataset name, sorted."""
    return sorted((event.kind, event.uri.rsplit("/", 1)[1]) for event in events)


def test_a_restart_rescan_on_disk_reads_only_what_changed(
    tmp_path: Path, sqlite_stores: Stores
) -> None:
    base = tmp_path / "base"
    names = ["apple", "cherry", "pear", "plum"]
    for name in names:
        make_dataset(base, name, tags=["fruit"], annotations={"colour": "red"})
    base_uri = normalise_uri(str(base))
    sqlite_stores.admin.add_base_uri(base_uri)
    handler = BatchHandler(Registrar(sqlite_stores.admin, sqlite_stores.datasets))
    stamps = sqlite_stores.datasets.stamps_by_uri
    handler.handle_batch([DatasetEvent.create("frozen", f"{base_uri}/{n}", "test") for n in names])

    published: list[DatasetEvent] = []
    with opened_files() as paths:
        counts = rescan([base_uri], stamps, published.append, seen={})
    assert (published, counts.unchanged) == ([], 4)
    assert under(paths, base) == set()  # not one file of an unchanged dataset opened

    set_readme(base, "cherry", "---\ndescription: sour\n")
    dtoolcore.DataSet.from_uri(str(base / "pear")).put_annotation("colour", "green")
    dtoolcore.DataSet.from_uri(str(base / "plum")).put_tag("ripe")
    with opened_files() as paths:
        rescan([base_uri], stamps, published.append, seen={})
    assert kinds(published) == [("updated", "cherry"), ("updated", "pear"), ("updated", "plum")]
    assert under(paths, base) == {"cherry", "pear", "plum"}

    handler.handle_batch(published)
    record = sqlite_stores.datasets.get(f"{base_uri}/pear")
    assert record is not None and record.annotations == {"colour": "green"}
    again: list[DatasetEvent] = []
    with opened_files() as paths:
        rescan([base_uri], stamps, again.append, seen={})
    assert (again, under(paths, base)) == ([], set())


class CountingClients:
    """Makes real S3 clients and records every request they send: (operation, key)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, endpoint: Endpoint) -> Any:
        client = new_client(endpoint)
        client.meta.events.register("before-call.s3", self._record)
        return client

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.requests.append((model.name, str(params.get("url_path", ""))))

    def reads(self) -> list[tuple[str, str]]:
        """Return and forget the requests that read or HEAD one object."""
        found = [r for r in self.requests if r[0] in ("GetObject", "HeadObject")]
        self.requests.clear()
        return found


def _uuid_of(path: str) -> str:
    """Return the UUID of the dataset an object path names (``/<uuid>/...``, ``/dtool-<uuid>``)."""
    return path.lstrip("/").split("/", 1)[0].removeprefix("dtool-")


@pytest.fixture
def bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> str:
    name = new_bucket_name()
    aws.client("s3").create_bucket(Bucket=name)
    point_dtool_s3_at(monkeypatch, name, aws.endpoint)
    return name


def _write(bucket: str, name: str) -> str:
    proto = dtoolcore.create_proto_dataset(name, f"s3://{bucket}", readme_content="---\n")
    fill(proto, {"a.txt": b"apple", "b.txt": b"pear"}, ["fruit"], {"colour": "red"})
    return str(proto.uri)


def test_a_restart_rescan_on_s3_reads_only_what_changed(
    bucket: str, sqlite_stores: Stores
) -> None:
    uris = [_write(bucket, name) for name in ("apple", "cherry", "pear")]
    base_uri = f"s3://{bucket}"
    sqlite_stores.admin.add_base_uri(base_uri)
    clients = CountingClients()
    reader = S3DatasetReader(S3Clients(clients))
    registrar = Registrar(sqlite_stores.admin, sqlite_stores.datasets, reader.read_dataset)
    handler = BatchHandler(registrar)
    handler.handle_batch([DatasetEvent.create("frozen", uri, "test") for uri in uris])
    stamps = sqlite_stores.datasets.stamps_by_uri

    def scan(publish: Callable[[DatasetEvent], None]) -> RescanCounts:
        lister, read_admin = reader.list_dataset_stamps, reader.read_admin_metadata
        return rescan([base_uri], stamps, publish, lister=lister, read_admin=read_admin, seen={})

    clients.reads()

    published: list[DatasetEvent] = []
    counts = scan(published.append)
    assert (published, counts.unchanged) == ([], 3)
    assert {operation for operation, _ in clients.requests} == {"ListObjectsV2"}
    assert clients.reads() == []  # listed only: not one object read

    dtoolcore.DataSet.from_uri(uris[1]).put_readme("---\ndescription: sour\n")
    dtoolcore.DataSet.from_uri(uris[2]).put_tag("ripe")
    clients.reads()
    scan(published.append)
    assert kinds(published) == sorted(("updated", uri.rsplit("/", 1)[1]) for uri in uris[1:])
    read_uuids = {_uuid_of(path) for _, path in clients.reads()}
    assert read_uuids == {uri.rsplit("/", 1)[1] for uri in uris[1:]}

    handler.handle_batch(published)
    again: list[DatasetEvent] = []
    clients.reads()
    scan(again.append)
    assert (again, clients.reads()) == ([], [])

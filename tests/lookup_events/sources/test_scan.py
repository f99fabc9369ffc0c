"""rescan and Rescanner against a real SQLite store and real dtool datasets."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import dtoolcore
import pytest
from moto import mock_aws

from lookup_events.errors import QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.writer import Registrar
from lookup_events.sources.scan import Rescanner, rescan
from lookup_events.storage.brokers import read_dataset
from lookup_events.store import Stores
from lookup_events.uris import normalise_uri
from tests.support.datasets import corrupt, make_dataset, set_readme

TIMEOUT = 10.0


class Published(list[DatasetEvent]):
    """The events a rescan published, by kind and dataset name."""

    def names(self, kind: str) -> list[str]:
        """Return the names of the datasets with a ``kind`` event, sorted."""
        return sorted(e.uri.rsplit("/", 1)[1] for e in self if e.kind == kind)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    path = tmp_path / "base"
    path.mkdir()
    return path


@pytest.fixture
def registrar(sqlite_stores: Stores, base: Path) -> Registrar:
    sqlite_stores.admin.add_base_uri(normalise_uri(str(base)))
    return Registrar(sqlite_stores.admin, sqlite_stores.datasets)


def apply(registrar: Registrar, events: list[DatasetEvent]) -> None:
    """Do what the registrar does with the events."""
    BatchHandler(registrar).handle_batch(events)


def test_rescans_publish_what_is_missing_changed_or_gone(
    base: Path, sqlite_stores: Stores, registrar: Registrar
) -> None:
    for name in ("kept", "edited", "gone", "stale"):
        registrar.register_uri(make_dataset(base, name))
    # The record of "stale" says it was frozen at another time than its files do.
    registrar.register_info({**read_dataset(str(base / "stale")), "frozen_at": 1.0})
    make_dataset(base, "new")
    make_dataset(base, "draft", freeze=False)
    shutil.rmtree(base / "gone")
    seen: dict[str, str] = {}

    first = Published()
    counts = rescan([str(base)], sqlite_stores.datasets.stamps_by_uri, first.append, seen=seen)

    assert first.names("frozen") == ["new"]
    # Read by the registrar, "kept" and "edited" were stamped and are unchanged;
    # registered from a document, "stale" has no stamp and counts as changed.
    assert first.names("updated") == ["stale"]
    assert first.names("removed") == ["gone"]
    assert (counts.frozen, counts.updated, counts.removed, counts.skipped) == (1, 1, 1, 1)
    assert {e.source for e in first} == {"scan"}
    assert {e.base_uri for e in first} == {normalise_uri(str(base))}

    apply(registrar, first)
    second = Published()
    counts = rescan([str(base)], sqlite_stores.datasets.stamps_by_uri, second.append, seen=seen)
    assert second == []
    assert counts.unchanged == 4

    set_readme(base, "edited", "---\ndescription: pears after all\n")
    dtoolcore.DataSet.from_uri(str(base / "kept")).put_tag("late-tag")
    shutil.rmtree(base / "new")
    third = Published()
    rescan([str(base)], sqlite_stores.datasets.stamps_by_uri, third.append, seen=seen)
    assert third.names("updated") == ["edited", "kept"]
    assert third.names("removed") == ["new"]
    assert third.names("frozen") == []

    apply(registrar, third)
    record = sqlite_stores.datasets.get(normalise_uri(str(base / "edited")))
    assert record is not None and "pears after all" in record.readme
    assert sqlite_stores.datasets.frozen_at_by_uri(normalise_uri(str(base))).keys() == {
        normalise_uri(str(base / name)) for name in ("kept", "edited", "stale")
    }


def test_a_base_uri_that_cannot_be_listed_publishes_nothing(
    base: Path, sqlite_stores: Stores, registrar: Registrar, caplog: pytest.LogCaptureFixture
) -> None:
    registrar.register_uri(make_dataset(base, "fruit"))
    base.rename(base.with_name("unmounted"))
    published = Published()

    counts = rescan([str(base)], sqlite_stores.datasets.stamps_by_uri, published.append)

    assert published == []
    assert counts.failed == [normalise_uri(str(base))]
    assert "rescan skipped" in caplog.text


def test_unreadable_admin_metadata_is_not_taken_for_a_removal(
    base: Path, sqlite_stores: Stores, registrar: Registrar
) -> None:
    registrar.register_uri(make_dataset(base, "fruit"))
    corrupt(base, "fruit", ".dtool/dtool")
    published = Published()

    counts = rescan([str(base)], sqlite_stores.datasets.stamps_by_uri, published.append)

    assert published == []
    assert counts.skipped == 1


def test_a_frozen_dataset_replaced_by_a_proto_is_removed(
    base: Path, sqlite_stores: Stores, registrar: Registrar
) -> None:
    registrar.register_uri(make_dataset(base, "fruit"))
    shutil.rmtree(base / "fruit")
    make_dataset(base, "fruit", freeze=False)
    published = Published()

    rescan([str(base)], sqlite_stores.datasets.stamps_by_uri, published.append)

    assert published.names("removed") == ["fruit"]


def test_s3_base_uris_are_listed_with_dtool_s3(
    sqlite_stores: Stores, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for key in ("ENDPOINT", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY"):  # in-process moto, not a server
        monkeypatch.delenv(f"DTOOL_S3_{key}_rescan-bucket", raising=False)
    item = tmp_path / "item.txt"
    item.write_text("apple")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="rescan-bucket")
        frozen = dtoolcore.create_proto_dataset("s3-ds", "s3://rescan-bucket", "---\n")
        frozen.put_item(str(item), "a.txt")
        frozen.freeze()
        dtoolcore.create_proto_dataset("s3-draft", "s3://rescan-bucket", "---\n")
        published = Published()

        counts = rescan(
            ["s3://rescan-bucket"], sqlite_stores.datasets.stamps_by_uri, published.append
        )

    assert [(e.kind, e.uri) for e in published] == [("frozen", frozen.uri)]
    assert counts.skipped == 1


class _Gate:
    """A publish that fails once, then records; with a condition to wait on."""

    def __init__(self) -> None:
        self.published = Published()
        self.failed = False
        self._cond = threading.Condition()

    def __call__(self, event: DatasetEvent) -> None:
        with self._cond:
            if not self.failed:
                self.failed = True
                raise QueueUnavailable("queue is down")
            self.published.append(event)
            self._cond.notify_all()

    def wait_for(self, name: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        with self._cond:
            while name not in {e.uri.rsplit("/", 1)[1] for e in self.published}:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no event for {name}: {self.published}")
                self._cond.wait(left)


@pytest.fixture
def quiet_rescanner_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.CRITICAL, logger="lookup_events.sources.scan")
    yield


def test_the_rescanner_runs_at_start_and_on_its_interval(
    base: Path, sqlite_stores: Stores, quiet_rescanner_logs: None
) -> None:
    make_dataset(base, "first")
    gate = _Gate()
    base_uris = [str(base)]

    with Rescanner(
        lambda: base_uris, sqlite_stores.datasets.stamps_by_uri, gate, interval=0.1
    ) as rescanner:
        gate.wait_for("first")  # the first attempt failed to publish; the next one did
        other = Path(tempfile.mkdtemp(dir=base.parent))
        make_dataset(other, "elsewhere")
        base_uris.append(str(other))
        gate.wait_for("elsewhere")

    assert gate.failed
    assert rescanner.scans >= 2  # the failed scan is not counted


def test_stopping_does_not_wait_out_the_interval(base: Path, sqlite_stores: Stores) -> None:
    make_dataset(base, "fruit")
    published = Published()
    rescanner = Rescanner(
        [str(base)], sqlite_stores.datasets.stamps_by_uri, published.append, interval=600
    )
    rescanner.start()
    deadline = time.monotonic() + TIMEOUT
    while rescanner.scans == 0 and time.monotonic() < deadline:
        time.sleep(0.01)

    started = time.monotonic()
    rescanner.stop()

    assert time.monotonic() - started < 2.0
    assert published.names("frozen") == ["fruit"]


def test_a_rescanner_without_interval_scans_once(base: Path, sqlite_stores: Stores) -> None:
    make_dataset(base, "fruit")
    published = Published()
    rescanner = Rescanner([str(base)], sqlite_stores.datasets.stamps_by_uri, published.append)

    rescanner.start()
    rescanner.stop()

    assert rescanner.scans == 1
    assert published.names("frozen") == ["fruit"]
    assert rescanner.last is not None and rescanner.last.frozen == 1

"""RegistrarWorker over the embedded queue and RabbitMQ, with real datasets.

Poison (unreadable messages, broken datasets, unregistered base URIs) is
dead-lettered with a readable reason while the good events behind it are
registered; transient failures are retried with backoff.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from lookup_events.errors import DatabaseUnavailable, DatasetStorageUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import Backoff, QueueCounts
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.worker import RegistrarWorker
from lookup_events.registrar.writer import Registrar
from lookup_events.storage.brokers import read_dataset
from lookup_events.store import Stores, open_stores
from lookup_events.uris import normalise_uri
from tests.support.datasets import corrupt, make_dataset
from tests.support.queues import server_broker
from tests.support.rabbitmq import AMQP_URL, broker_in_use
from tests.support.stores import settings_for

pytestmark = [
    pytest.mark.slow,  # the worker loop on real queues, with backoffs
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]

QUICK = Backoff(initial=0.2, factor=2.0, maximum=1.0)
CLOSED_PORT = 1  # nothing listens on 127.0.0.1:1


@pytest.fixture(
    params=[
        pytest.param("embedded", id="embedded"),
        pytest.param("rabbitmq", id="rabbitmq", marks=pytest.mark.rabbitmq),
    ]
)
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventQueue]:
    """A queue with quick backoff and 3 attempts, on each transport."""
    with ExitStack() as held:
        if request.param == "embedded":
            url = f"sqla+sqlite:///{tmp_path / 'queue.db'}"
        else:
            held.enter_context(broker_in_use())
            url = server_broker("rabbitmq", AMQP_URL, {}).url  # the port, tried under the lock
        opened = EventQueue(
            url, name=f"test-worker-{uuid.uuid4().hex[:8]}", max_attempts=3, backoff=QUICK
        )
        yield opened
        opened.delete()


@pytest.fixture
def base(tmp_path: Path, sqlite_stores: Stores) -> Path:
    """A registered base directory."""
    path = tmp_path / "base"
    path.mkdir()
    sqlite_stores.admin.add_base_uri(normalise_uri(str(path)))
    return path


def worker_for(
    queue: EventQueue, stores: Stores, reader: Callable[[str], dict[str, Any]] = read_dataset
) -> RegistrarWorker:
    """Return a worker writing to ``stores``."""
    registrar = Registrar(stores.admin, stores.datasets, reader=reader)
    probe = lambda: stores.admin.get_base_uri("")  # noqa: E731
    return RegistrarWorker(queue, BatchHandler(registrar), probe, reconnect=QUICK)


def drain(worker: RegistrarWorker, idle: float = 1.5) -> dict[str, int]:
    """Consume until the queue has been idle for ``idle`` seconds; return the counts."""
    return dict(worker.run(threading.Event(), idle_timeout=idle))


def frozen(uri: str) -> DatasetEvent:
    return DatasetEvent.create("frozen", uri, "watch")


def test_frozen_datasets_are_registered_and_acked(
    queue: EventQueue, sqlite_stores: Stores, base: Path
) -> None:
    uris = [make_dataset(base, f"ds-{n}") for n in range(5)]
    queue.publish_many([frozen(uri) for uri in uris])

    counts = drain(worker_for(queue, sqlite_stores))

    assert counts == {"registered": 5}
    assert all(sqlite_stores.datasets.get(uri) is not None for uri in uris)
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)


def test_poison_is_dead_lettered_with_a_reason_and_good_events_go_through(
    queue: EventQueue, sqlite_stores: Stores, base: Path, tmp_path: Path
) -> None:
    good = [make_dataset(base, "good-1"), make_dataset(base, "good-2")]
    broken_manifest = make_dataset(base, "broken-manifest")
    corrupt(base, "broken-manifest", ".dtool/manifest.json")
    broken_readme = make_dataset(base, "broken-readme")
    (base / "broken-readme" / "README.yml").write_bytes(b"\xff\xfe not utf-8 \xc3\x28")
    proto = make_dataset(base, "unfinished", freeze=False)
    stranger = make_dataset(tmp_path / "nobody-registered-this", "ds")
    queue.send("this is not JSON", "work", {})
    queue.publish(frozen(good[0]))
    queue.send('{"version": 1, "kind": "frozen"}', "work", {})
    queue.publish_many([frozen(u) for u in (broken_manifest, broken_readme, proto, stranger)])
    queue.publish(frozen(good[1]))

    counts = drain(worker_for(queue, sqlite_stores))

    assert counts == {"registered": 2, "skipped": 1, "dead": 3}
    assert all(sqlite_stores.datasets.get(uri) is not None for uri in good)
    for uri in (broken_manifest, broken_readme, proto, stranger):
        assert sqlite_stores.datasets.get(uri) is None
    letters = queue.dead_letters(20)
    reasons = {(letter.event.uri if letter.event else letter.body): letter for letter in letters}
    assert "event is not JSON" in reasons["this is not JSON"].reason
    assert "lacks field(s)" in reasons['{"version": 1, "kind": "frozen"}'].reason
    assert "JSONDecodeError" in reasons[broken_manifest].reason
    assert "UnicodeDecodeError" in reasons[broken_readme].reason
    assert "is not registered" in reasons[stranger].reason
    assert all(letter.attempts == 1 for letter in letters)
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=5)


def test_unreachable_storage_is_retried_with_backoff(
    queue: EventQueue, sqlite_stores: Stores, base: Path
) -> None:
    uri = make_dataset(base, "far-away")
    failures = [DatasetStorageUnavailable("the share is not mounted right now")]

    def flaky(where: str) -> dict[str, Any]:
        if failures:
            raise failures.pop()
        return read_dataset(where)

    queue.publish(frozen(uri))
    counts = drain(worker_for(queue, sqlite_stores, reader=flaky))

    assert counts == {"retry": 1, "registered": 1}
    assert sqlite_stores.datasets.get(uri) is not None
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)


def test_a_handler_that_keeps_failing_ends_in_the_dead_letters(
    queue: EventQueue, sqlite_stores: Stores, base: Path
) -> None:
    uri = make_dataset(base, "cursed")

    def broken(where: str) -> dict[str, Any]:
        raise RuntimeError("a bug in the reader")

    queue.publish(frozen(uri))
    counts = drain(worker_for(queue, sqlite_stores, reader=broken))

    assert counts == {"retry": 3}
    (letter,) = queue.dead_letters()
    assert letter.reason == "RuntimeError: a bug in the reader (gave up after 3 attempts)"
    assert letter.attempts == 3


def test_a_removed_dataset_is_deleted_once_storage_confirms(
    queue: EventQueue, sqlite_stores: Stores, base: Path
) -> None:
    uri = make_dataset(base, "short-lived")
    queue.publish(frozen(uri))
    drain(worker_for(queue, sqlite_stores), idle=1)
    shutil.rmtree(base / "short-lived")

    queue.publish(DatasetEvent.create("removed", uri, "watch"))
    counts = drain(worker_for(queue, sqlite_stores), idle=1)

    assert counts == {"removed": 1}
    assert sqlite_stores.datasets.get(uri) is None


def test_an_unreachable_database_is_waited_for_or_given_up_on(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{CLOSED_PORT}/nothing"
    stores = open_stores(settings_for(url, tmp_path))
    queue = EventQueue(f"sqla+sqlite:///{tmp_path / 'queue.db'}")
    patient = worker_for(queue, stores)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    patient.wait_for_store(stop)  # returns once stopped
    assert stop.is_set()

    impatient = RegistrarWorker(
        queue,
        BatchHandler(Registrar(stores.admin, stores.datasets)),
        lambda: stores.admin.get_base_uri(""),
        store_wait=0,
    )
    with pytest.raises(DatabaseUnavailable):
        impatient.wait_for_store(threading.Event())
    stores.close()
    queue.close()

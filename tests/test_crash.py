"""A registrar killed with SIGKILL mid-burst: every dataset still ends up registered once.

The messages the dead registrar held go to its successor (no rescan
involved: it runs with --no-rescan): on RabbitMQ at once, on the embedded
queue when their lease ends (3 s here).
"""

from __future__ import annotations

import ast
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.publisher import Publisher
from lookup_events.queue.topology import QueueCounts
from tests.support.checks import count, frozen, open_test_stores, registered, started
from tests.support.datasets import DatasetFactory
from tests.support.processes import LookupProcess, process_env, wait_until
from tests.support.rabbitmq import RabbitVhost

pytestmark = pytest.mark.slow

BURST = 1000
EXTRAS = 50  # published around the kill


@pytest.fixture(params=[pytest.param("rabbitmq", marks=pytest.mark.rabbitmq), "embedded"])
def broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return a RabbitMQ virtual host of the test's own, or an embedded queue with short leases."""
    if request.param == "rabbitmq":
        rabbit: RabbitVhost = request.getfixturevalue("rabbit")
        return rabbit.url
    return f"sqlite:///{tmp_path / 'data' / 'queue.db'}?lease=3"


def test_a_killed_registrar_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, sqlite_url_migrated: str, broker_url: str, factory: DatasetFactory
) -> None:
    stores = open_test_stores(sqlite_url_migrated, tmp_path)
    stores.admin.add_base_uri(factory.base_uri)
    env = process_env(
        tmp_path / "data",
        DTOOL_LOOKUP_DATABASE_URL=sqlite_url_migrated,
        DTOOL_LOOKUP_BROKER_URL=broker_url,
    )
    queue = EventQueue(broker_url)
    publisher = Publisher(queue, patience=30)
    uris: list[str] = []
    registrar = LookupProcess(["registrar", "--no-rescan"], env, tmp_path / "registrar.log")
    with registrar:
        assert wait_until(lambda: started(registrar), 30), registrar.log()
        at_kill = None
        for number in range(BURST):
            uris.append(factory.freeze(f"ds-{number:04d}"))
            publisher.publish(frozen(uris[-1]))
            if at_kill is None and number % 25 == 0 and count(stores, factory.base_uri) >= 200:
                extras = [frozen(factory.freeze(f"extra-{n}")) for n in range(EXTRAS)]
                _stop_with_messages_in_flight(registrar, publisher, extras, broker_url)
                registrar.kill()
                at_kill = number + 1
        assert at_kill is not None and at_kill < BURST, "the registrar was not killed mid-burst"
        uris += [factory.uri(f"extra-{n}") for n in range(EXTRAS)]

        registrar.start()
        assert wait_until(lambda: count(stores, factory.base_uri) == len(uris), 120), (
            count(stores, factory.base_uri),
            registrar.log()[-3000:],
        )
        assert wait_until(lambda: queue.counts() == QueueCounts(0, 0, 0), 10), queue.counts()
        assert registrar.stop() == 0

    assert sorted(registered(stores, factory.base_uri)) == sorted(uris)
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)
    stopped = registrar.log().rsplit("registrar stopped: ", 1)[1].splitlines()[0]
    assert ast.literal_eval(stopped)["redelivered"] > 0  # what the dead one held came back
    assert "Traceback" not in registrar.log()
    queue.close()
    stores.close()


def _stop_with_messages_in_flight(
    registrar: LookupProcess, publisher: Publisher, extras: list[DatasetEvent], broker_url: str
) -> None:
    """Stop ``registrar`` (SIGSTOP) at a moment it holds ``extras`` it has not settled.

    RabbitMQ keeps pushing events to a stopped consumer, up to its prefetch:
    stop it, then publish. The embedded queue is pulled: publish first, then
    stop the registrar again and again until it is caught holding leases.
    """
    if not broker_url.startswith("sqlite"):
        registrar.pause()
        publisher.publish_many(extras)
        time.sleep(0.5)
        return
    publisher.publish_many(extras)
    for _ in range(1000):
        registrar.pause()
        if _leased(broker_url) > 0:
            return
        registrar.resume()
        time.sleep(0.001)
    raise AssertionError("the registrar was never caught holding an embedded queue lease")


def _leased(broker_url: str) -> int:
    """Return how many messages of the embedded queue at ``broker_url`` are leased right now."""
    path = broker_url.removeprefix("sqlite:///").split("?", 1)[0]
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        (leased,) = db.execute(
            "SELECT count(*) FROM messages WHERE lease IS NOT NULL AND visible_at > ?",
            (time.time(),),
        ).fetchone()
    return int(leased)

"""A registrar killed with SIGKILL mid-burst: every dataset still ends up registered once.

On RabbitMQ the broker hands the messages the dead registrar held to its
successor (no rescan involved: it runs with --no-rescan). On the embedded
queue those messages are lost with the process; the rescan at the next
start finds the datasets the store lacks and publishes them again.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from lookup_events.queue.event_queue import EventQueue, QueueCounts
from lookup_events.queue.publisher import Publisher
from tests.lookup_events.faults.checks import count, frozen, open_test_stores, registered, started
from tests.lookup_events.faults.support import (
    DatasetFactory,
    LookupProcess,
    RabbitVhost,
    process_env,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]

BURST = 1000
EMBEDDED_BURST = 300


@pytest.mark.rabbitmq
def test_killed_registrar_on_rabbitmq_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, sqlite_url_migrated: str, rabbit: RabbitVhost, factory: DatasetFactory
) -> None:
    stores = open_test_stores(sqlite_url_migrated, tmp_path)
    stores.admin.add_base_uri(factory.base_uri)
    env = process_env(
        tmp_path / "data",
        DTOOL_LOOKUP_DATABASE_URL=sqlite_url_migrated,
        DTOOL_LOOKUP_BROKER_URL=rabbit.url,
    )
    queue = EventQueue(rabbit.url)
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
                # Frozen, it is still handed events it will never settle: the kill
                # always catches some in flight.
                registrar.pause()
                publisher.publish_many([frozen(factory.freeze(f"extra-{n}")) for n in range(20)])
                time.sleep(0.5)
                registrar.kill()
                at_kill = number + 1
        assert at_kill is not None and at_kill < BURST, "the registrar was not killed mid-burst"
        uris += [factory.uri(f"extra-{n}") for n in range(20)]

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


def test_events_lost_by_a_killed_embedded_registrar_come_back_with_the_rescan(
    tmp_path: Path, sqlite_url_migrated: str, factory: DatasetFactory
) -> None:
    stores = open_test_stores(sqlite_url_migrated, tmp_path)
    stores.admin.add_base_uri(factory.base_uri)
    data_dir = tmp_path / "data"
    env = process_env(data_dir, DTOOL_LOOKUP_DATABASE_URL=sqlite_url_migrated)
    queue = EventQueue(f"sqla+sqlite:///{data_dir / 'queue.db'}")
    uris = [factory.freeze(f"ds-{number:03d}") for number in range(EMBEDDED_BURST)]
    queue.publish_many([frozen(uri) for uri in uris])
    first = LookupProcess(["registrar", "--no-rescan"], env, tmp_path / "first.log")
    lost = 0
    for _ in range(10):  # until a kill catches events in flight (it nearly always does)
        with first:
            progress = count(stores, factory.base_uri) + 30
            assert wait_until(lambda p=progress: count(stores, factory.base_uri) >= p, 60)
            first.kill()
        done, waiting = count(stores, factory.base_uri), queue.counts()
        lost = EMBEDDED_BURST - done - waiting.ready - waiting.delayed
        if lost:
            break
    assert lost > 0, (done, waiting)  # the in-flight events died with the process

    registrar = LookupProcess(["registrar"], env, tmp_path / "registrar.log")
    with registrar:
        assert wait_until(lambda: count(stores, factory.base_uri) == EMBEDDED_BURST, 60), (
            count(stores, factory.base_uri),
            registrar.log()[-3000:],
        )
        assert wait_until(lambda: queue.counts() == QueueCounts(0, 0, 0), 20), queue.counts()
        assert registrar.stop() == 0

    assert sorted(registered(stores, factory.base_uri)) == sorted(uris)
    assert "rescan: RescanCounts(frozen=" in registrar.log()
    queue.close()
    stores.close()

"""The broker or the database goes away mid-burst; the registrar waits and catches up.

RabbitMQ is restarted with ``rabbitmqctl stop_app``/``start_app`` (always
started again, whatever happens: other tests use it next), holding the broker
exclusively (``broker_to_stop``): tests in the other pytest-xdist processes
wait until it is back rather than lose their connection. PostgreSQL is
never touched: the registrar reaches it through a TCP proxy in this test
process, which drops every connection and refuses new ones for a while.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.publisher import Publisher
from lookup_events.queue.topology import QueueCounts
from lookup_events.store.sql.engine import sql_url
from tests.support.checks import count, frozen, open_test_stores, registered, started
from tests.support.datasets import DatasetFactory
from tests.support.network import TcpProxy
from tests.support.processes import LookupProcess, process_env, wait_until
from tests.support.rabbitmq import (
    RabbitVhost,
    broker_to_stop,
    rabbitmqctl,
    require_rabbitmqctl,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]

BURST = 1000
OUTAGE = 3.0


def restart_rabbitmq(pause: float) -> threading.Thread:
    """Stop RabbitMQ's application now and start it again after ``pause`` seconds."""
    rabbitmqctl("stop_app")

    def start_again() -> None:
        time.sleep(pause)
        rabbitmqctl("start_app")

    thread = threading.Thread(target=start_again, name="rabbitmq-start", daemon=True)
    thread.start()
    return thread


@pytest.fixture
def rabbit_to_stop() -> Iterator[RabbitVhost]:
    """A virtual host of the test's own on a broker no other test uses meanwhile."""
    require_rabbitmqctl()
    with broker_to_stop(), RabbitVhost(hold=False) as vhost:
        yield vhost


@pytest.mark.rabbitmq
def test_a_test_needing_the_broker_waits_while_another_holds_it_stopped() -> None:
    require_rabbitmqctl()
    stopped, restart = threading.Event(), threading.Event()

    def hold_stopped() -> None:
        with broker_to_stop():  # what stops the broker holds this until it is back
            stopped.set()
            restart.wait(10)

    holder = threading.Thread(target=hold_stopped, name="broker-stopper")
    holder.start()
    assert stopped.wait(60)
    checked = threading.Event()
    checker = threading.Thread(target=lambda: (require_rabbitmqctl(), checked.set()))
    checker.start()
    try:
        assert not checked.wait(0.5)  # it waits rather than find the port closed
    finally:
        restart.set()
        holder.join(10)
    assert checked.wait(10)
    checker.join(10)


@pytest.mark.rabbitmq
def test_a_rabbitmq_restart_mid_burst_loses_nothing(
    tmp_path: Path,
    sqlite_url_migrated: str,
    rabbit_to_stop: RabbitVhost,
    factory: DatasetFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rabbit = rabbit_to_stop
    stores = open_test_stores(sqlite_url_migrated, tmp_path)
    stores.admin.add_base_uri(factory.base_uri)
    env = process_env(
        tmp_path / "data",
        DTOOL_LOOKUP_DATABASE_URL=sqlite_url_migrated,
        DTOOL_LOOKUP_BROKER_URL=rabbit.url,
    )
    queue = EventQueue(rabbit.url)
    publisher = Publisher(queue, patience=120)
    uris: list[str] = []
    restarter: threading.Thread | None = None
    caplog.set_level(logging.WARNING, logger="lookup_events.registrar.worker")
    registrar = LookupProcess(["registrar", "--no-rescan"], env, tmp_path / "registrar.log")
    try:
        with registrar:
            assert wait_until(lambda: started(registrar), 30), registrar.log()
            for number in range(BURST):
                uris.append(factory.freeze(f"ds-{number:04d}"))
                publisher.publish(frozen(uris[-1]))
                if number == BURST // 3:
                    restarter = restart_rabbitmq(OUTAGE)
            assert wait_until(lambda: count(stores, factory.base_uri) == BURST, 120), (
                count(stores, factory.base_uri),
                registrar.log()[-3000:],
            )
            assert wait_until(lambda: queue.counts() == QueueCounts(0, 0, 0), 20)
            assert registrar.stop() == 0
    finally:
        if restarter is not None:
            restarter.join(timeout=120)
        rabbitmqctl("start_app")  # a no-op when it runs; never leave RabbitMQ stopped
        rabbitmqctl("await_startup")

    assert sorted(registered(stores, factory.base_uri)) == sorted(uris)
    log = registrar.log()
    assert "event queue unavailable" in log  # the registrar saw the outage...
    assert log.count("connected to the event queue") >= 2  # ...and reconnected
    assert any("cannot publish" in record.message for record in caplog.records)
    assert "Traceback" not in log
    queue.close()
    stores.close()


@pytest.mark.postgres
def test_a_database_outage_returns_work_to_the_queue_until_it_is_back(
    tmp_path: Path, postgres_url_migrated: str, factory: DatasetFactory
) -> None:
    stores = open_test_stores(postgres_url_migrated, tmp_path)
    stores.admin.add_base_uri(factory.base_uri)
    direct = make_url(sql_url(postgres_url_migrated))
    proxy = TcpProxy((direct.host or "127.0.0.1", direct.port or 5432))
    proxy.open()
    proxied = direct.set(port=proxy.port).render_as_string(hide_password=False)
    data_dir = tmp_path / "data"
    env = process_env(data_dir, DTOOL_LOOKUP_DATABASE_URL=proxied)
    queue = EventQueue(f"sqla+sqlite:///{data_dir / 'queue.db'}")
    uris = [factory.freeze(f"ds-{number:03d}") for number in range(300)]
    registrar = LookupProcess(["registrar", "--no-rescan"], env, tmp_path / "registrar.log")
    try:
        with registrar:
            assert wait_until(lambda: started(registrar), 30), registrar.log()
            queue.publish_many([frozen(uri) for uri in uris])
            assert wait_until(lambda: count(stores, factory.base_uri) >= 30, 60)
            proxy.cut()
            cut_at = count(stores, factory.base_uri)
            time.sleep(OUTAGE)
            assert count(stores, factory.base_uri) == cut_at  # nothing got through
            proxy.open()
            assert wait_until(lambda: count(stores, factory.base_uri) == len(uris), 90), (
                count(stores, factory.base_uri),
                registrar.log()[-3000:],
            )
            assert wait_until(lambda: queue.counts() == QueueCounts(0, 0, 0), 20)
            assert registrar.stop() == 0
    finally:
        proxy.cut()

    assert cut_at < len(uris)
    assert sorted(registered(stores, factory.base_uri)) == sorted(uris)
    assert queue.dead_letters() == []
    log = registrar.log()
    assert "consumption paused: database unavailable" in log
    assert "database reachable again" in log
    queue.close()
    stores.close()

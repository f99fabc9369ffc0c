"""The publisher of the event sources waits out broker outages."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lookup_events.errors import QueueUnavailable
from lookup_events.queue.consumer import Delivery
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.publisher import Publisher
from lookup_events.queue.topology import Backoff
from tests.support.queues import consume, event

QUICK = Backoff(initial=0.2, factor=2.0, maximum=1.0)
CLOSED_PORT = 1  # nothing listens on 127.0.0.1:1


@pytest.mark.slow
def test_the_publisher_waits_for_the_broker_within_its_patience() -> None:
    down = EventQueue(f"amqp://guest:guest@127.0.0.1:{CLOSED_PORT}//")
    with pytest.raises(QueueUnavailable):
        Publisher(down, patience=0.5, backoff=QUICK).publish(event(1))
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(QueueUnavailable):
        Publisher(down, stop, backoff=QUICK).publish(event(1))  # until stopped
    assert stop.is_set()


def test_the_publisher_publishes_once_the_broker_is_back(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the queue's directory belongs")
    queue = EventQueue(f"sqlite:///{blocker / 'queue.db'}")
    threading.Timer(0.5, blocker.unlink).start()

    assert Publisher(queue, patience=10, backoff=QUICK).publish_many([event(2), event(3)]) == 2

    seen = consume(queue, Delivery.ack, expect=2, idle=1)
    assert [d.event for d, _ in seen] == [event(2), event(3)]
    queue.close()


def test_the_publisher_parks_a_dead_letter(tmp_path: Path) -> None:
    queue = EventQueue(f"sqlite:///{tmp_path / 'queue.db'}")

    Publisher(queue, patience=0).dead_letter(b"<xml/>", "not an S3 notification")

    assert [(d.body, d.reason) for d in queue.dead_letters()] == [
        ("<xml/>", "not an S3 notification")
    ]
    queue.close()

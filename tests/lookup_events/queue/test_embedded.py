"""The embedded queue: leases, a file that does not grow, several processes at once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection

from lookup_events.queue import embedded
from lookup_events.queue.consumer import Delivery
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import QueueCounts
from tests.support.processes import REPO
from tests.support.queues import consume, event

# Takes a batch of events, prints their ids and dies (SIGKILL) without acking.
GREEDY = r"""
import os, signal, sys
from lookup_events.queue.event_queue import EventQueue
with EventQueue(sys.argv[1]).consumer(prefetch=5) as consumer:
    batch = next(consumer.batches(max_size=5, max_wait=2))
    print(" ".join(delivery.event.event_id for delivery in batch), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""

# Publishes events COUNT..., one publish each, when GO exists.
PUBLISHER = r"""
import os, sys, time
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
url, go, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
while not os.path.exists(go):
    time.sleep(0.01)
with EventQueue(url) as queue:
    for number in range(first, first + count):
        uri = f"s3://bucket/{number}"
        queue.publish(DatasetEvent.create("frozen", uri, "s3", event_id=str(number)))
"""

# Acks events until idle, then prints their ids.
CONSUMER = r"""
import os, sys, time
from lookup_events.queue.event_queue import EventQueue
url, go = sys.argv[1], sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.01)
seen = []
with EventQueue(url).consumer(prefetch=20) as consumer:
    for batch in consumer.batches(max_size=20, max_wait=0.1, idle_timeout=4):
        for delivery in batch:
            seen.append(delivery.event.event_id)
            delivery.ack()
print(" ".join(seen))
"""


def rows(path: Path, table: str = "messages") -> int:
    """Return how many rows ``table`` of the queue file holds."""
    with sqlite3.connect(path) as db:
        (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


def python(script: str, *args: Any) -> subprocess.Popen[str]:
    """Start ``script`` in a new Python process."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_consumer_killed_with_sigkill_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}?lease=4"
    queue = EventQueue(url)
    queue.publish_many([event(n) for n in range(8)])

    greedy = python(GREEDY, url)
    held, errors = greedy.communicate(timeout=60)
    assert greedy.returncode == -9, errors

    held_ids = set(held.split())
    assert len(held_ids) == 5
    assert queue.counts() == QueueCounts(ready=3, delayed=0, dead=0)
    early = consume(queue, Delivery.ack, expect=8, idle=1)  # while the leases last
    assert {d.event.event_id for d, _ in early} == {str(n) for n in range(8)} - held_ids
    time.sleep(4)
    late = consume(queue, Delivery.ack, expect=5, idle=2)
    assert [(d.event.event_id in held_ids, d.redelivered) for d, _ in late] == [(True, True)] * 5
    assert rows(tmp_path / "queue.db") == 0
    queue.close()


def test_settled_messages_leave_the_file(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    queue = EventQueue(f"sqlite:///{path}", max_attempts=1)
    queue.publish_many([event(n) for n in range(10)])

    consume(queue, lambda d: d.ack() if d.event.event_id < "5" else d.retry("bad"), expect=10)

    assert rows(path) == 5  # the dead letters
    assert queue.replay() == 5
    consume(queue, Delivery.ack, expect=5)
    assert rows(path) == 0
    queue.close()


def test_a_requeued_message_comes_back_first_and_a_rejected_one_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    with Connection(f"sqlite:///{path}", transport=embedded.Transport) as connection:
        simple = connection.SimpleQueue("plain")
        for text in ("first", "second", "third"):
            simple.put(text)

        taken = simple.get(timeout=1)
        taken.requeue()
        again = simple.get(timeout=1)
        again.reject()
        left = [simple.get(timeout=1) for _ in range(2)]
        for message in left:
            message.ack()
        simple.close()

    assert (taken.payload, taken.delivery_info["redelivered"]) == ("first", False)
    assert (again.payload, again.delivery_info["redelivered"]) == ("first", True)
    assert [message.payload for message in left] == ["second", "third"]
    assert rows(path) == 0


@pytest.mark.slow
def test_a_lease_that_ran_out_is_not_given_back_by_its_late_holder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}?lease=2"
    with Connection(url, transport=embedded.Transport) as slow:
        slow.SimpleQueue("plain").put("work")
        stalled = slow.SimpleQueue("plain").get(timeout=1)
        time.sleep(2.1)
        with Connection(url, transport=embedded.Transport) as other:
            taken = other.SimpleQueue("plain").get(timeout=1)
            stalled.requeue()  # too late: the lease is the other's now
            with Connection(url, transport=embedded.Transport) as third, pytest.raises(Empty):
                third.SimpleQueue("plain").get(timeout=0.3)
            taken.ack()

    assert (stalled.payload, taken.payload) == ("work", "work")
    assert rows(tmp_path / "queue.db") == 0


@pytest.mark.slow
def test_processes_create_publish_and_consume_at_once(tmp_path: Path) -> None:
    # NOTE(dev): none of them finds the file: they create it at once, too.
    url, go = f"sqlite:///{tmp_path / 'data' / 'queue.db'}", tmp_path / "go"
    publishers = [python(PUBLISHER, url, go, 1000 * n, 200) for n in range(3)]
    consumers = [python(CONSUMER, url, go) for _ in range(3)]
    time.sleep(1.5)  # all of them imported and waiting
    go.touch()

    outputs = [process.communicate(timeout=120) for process in publishers + consumers]

    assert [process.returncode for process in publishers + consumers] == [0] * 6, outputs
    taken = Counter(id_ for out, _ in outputs[3:] for id_ in out.split())
    published = {str(1000 * n + i) for n in range(3) for i in range(200)}
    assert set(taken) == published
    assert max(taken.values()) == 1  # a lease keeps a message from every other consumer
    assert sum(1 for out, _ in outputs[3:] if out.split()) >= 2  # they really shared
    assert rows(tmp_path / "data" / "queue.db") == 0


@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")  # kombu's SQL transport
def test_a_queue_file_of_kombus_sql_transport_is_opened_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    with Connection(f"sqla+sqlite:///{path}") as kombu_sql:
        kombu_sql.SimpleQueue("dtool-lookup").put(json.loads(event(1).to_json()))

    with EventQueue(f"sqla+sqlite:///{path}") as queue:
        assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)
        queue.publish(event(2))
        seen = consume(queue, Delivery.ack, expect=1, idle=1)

    assert [d.event for d, _ in seen] == [event(2)]
    assert rows(path, "kombu_message") == 1
    assert rows(path) == 0

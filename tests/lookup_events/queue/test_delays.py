"""Where a retry waits out its backoff, per transport (``delays.py``).

How long it waits, on every transport, is in ``test_consumer.py``.
"""

from __future__ import annotations

import time
import uuid

import pytest

from lookup_events.queue.consumer import Delivery
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import Backoff, QueueCounts
from tests.support.queues import EMBEDDED, MEMORY, RABBITMQ, REDIS, SQS, Broker, consume, event

pytestmark = pytest.mark.slow  # real brokers, waiting out backoffs


def slow_queue(broker: Broker) -> EventQueue:
    """Open a queue whose one retry waits 3 s.

    NOTE(dev): long enough for a busy machine to look at the queue before the
    retry is due; SQS delays in whole seconds anyway.
    """
    return EventQueue(
        broker.url,
        name=f"test-{uuid.uuid4().hex[:10]}",
        max_attempts=2,
        backoff=Backoff(initial=3.0),
        transport_options=broker.options,
    )


def retry_once(queue: EventQueue) -> None:
    """Take the one waiting event and retry it."""
    with queue.consumer() as consumer:
        for batch in consumer.batches(max_size=1, idle_timeout=2):
            batch[0].retry("database is down")
            break


@pytest.mark.parametrize("broker", [RABBITMQ], indirect=True)
def test_rabbitmq_holds_retries_in_ttl_queues_without_a_consumer(broker: Broker) -> None:
    queue = slow_queue(broker)
    queue.publish(event(12))
    retry_once(queue)

    assert queue.counts() == QueueCounts(ready=0, delayed=1, dead=0)
    time.sleep(3.5)  # the TTL of the delay queue is 3 s
    assert queue.counts() == QueueCounts(ready=1, delayed=0, dead=0)
    queue.delete()


@pytest.mark.parametrize("broker", [REDIS, MEMORY], indirect=True)
def test_elsewhere_a_consumer_moves_a_due_retry_to_the_work_queue(queue: EventQueue) -> None:
    queue.publish(event(13))
    retry_once(queue)
    time.sleep(1)  # due after 0.5 s, but nobody moved it

    assert queue.counts() == QueueCounts(ready=0, delayed=1, dead=0)
    seen = consume(queue, Delivery.ack, expect=1, idle=2)
    assert [(d.event, d.attempts) for d, _ in seen] == [(event(13), 1)]


@pytest.mark.parametrize("broker", [SQS, EMBEDDED], indirect=True)
def test_sqs_and_the_embedded_queue_hide_a_retry_in_the_work_queue(broker: Broker) -> None:
    queue = slow_queue(broker)
    assert queue.topology.delay_queues == {}
    queue.publish(event(14))
    retry_once(queue)
    retried_at = time.monotonic()

    with queue.consumer() as consumer:
        assert next(consumer.batches(idle_timeout=0.5), None) is None
    seen = consume(queue, Delivery.ack, expect=1, idle=6)
    assert [(d.event, d.attempts) for d, _ in seen] == [(event(14), 1)]
    assert seen[0][1] - retried_at >= 2.5
    queue.delete()

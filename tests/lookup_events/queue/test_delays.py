"""Where a retry waits out its backoff, per transport (``delays.py``).

How long it waits, on every transport, is in ``test_consumer.py``.
"""

from __future__ import annotations

import time

import pytest

from lookup_events.queue.consumer import Delivery
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import QueueCounts
from tests.lookup_events.queue.conftest import EMBEDDED, MEMORY, RABBITMQ, REDIS, SQS
from tests.lookup_events.queue.support import consume, event


def retry_once(queue: EventQueue) -> None:
    """Take the one waiting event and retry it."""
    with queue.consumer() as consumer:
        for batch in consumer.batches(max_size=1, idle_timeout=2):
            batch[0].retry("database is down")
            break


@pytest.mark.parametrize("broker", [RABBITMQ], indirect=True)
def test_rabbitmq_holds_retries_in_ttl_queues_without_a_consumer(queue: EventQueue) -> None:
    queue.publish(event(12))
    retry_once(queue)

    assert queue.counts() == QueueCounts(ready=0, delayed=1, dead=0)
    time.sleep(1)  # the TTL of the first delay queue is 0.5 s
    assert queue.counts() == QueueCounts(ready=1, delayed=0, dead=0)


@pytest.mark.parametrize("broker", [REDIS, MEMORY], indirect=True)
def test_elsewhere_a_consumer_moves_a_due_retry_to_the_work_queue(queue: EventQueue) -> None:
    queue.publish(event(13))
    retry_once(queue)
    time.sleep(1)  # due after 0.5 s, but nobody moved it

    assert queue.counts() == QueueCounts(ready=0, delayed=1, dead=0)
    seen = consume(queue, Delivery.ack, expect=1, idle=2)
    assert [(d.event, d.attempts) for d, _ in seen] == [(event(13), 1)]


@pytest.mark.parametrize("broker", [SQS, EMBEDDED], indirect=True)
def test_sqs_and_the_embedded_queue_hide_a_retry_in_the_work_queue(queue: EventQueue) -> None:
    assert queue.topology.delay_queues == {}
    queue.publish(event(14))
    retry_once(queue)

    with queue.consumer() as consumer:
        assert next(consumer.batches(idle_timeout=0.3), None) is None
    time.sleep(0.7)  # SQS delays in whole seconds: 1 s
    seen = consume(queue, Delivery.ack, expect=1, idle=3)
    assert [(d.event, d.attempts) for d, _ in seen] == [(event(14), 1)]

"""Consuming on every transport: batches, retries, poison, and consumers that go away."""

from __future__ import annotations

import pytest

from lookup_events.queue.consumer import Delivery, ack_all
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import QueueCounts
from tests.support.queues import MEMORY, RABBITMQ, TRANSPORTS, Broker, consume, event, run_child

pytestmark = pytest.mark.slow  # real brokers, waiting out backoffs and leases


def test_events_are_consumed_in_batches_and_acked(queue: EventQueue) -> None:
    published = [event(n) for n in range(25)]
    assert queue.publish_many(published) == 25
    batches: list[int] = []

    with queue.consumer(prefetch=10) as consumer:
        for batch in consumer.batches(max_size=10, max_wait=0.3, idle_timeout=2):
            batches.append(len(batch))
            for delivery in batch:
                delivery.ack()
                assert delivery.attempts == 0
            if sum(batches) == 25:
                break

    assert sum(batches) == 25
    assert max(batches) <= 10
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)


@pytest.mark.parametrize("broker", [*TRANSPORTS, MEMORY], indirect=True)
def test_a_transient_failure_is_retried_after_a_backoff(queue: EventQueue) -> None:
    queue.publish(event(1))

    def flaky(delivery: Delivery) -> None:
        if delivery.attempts == 0:
            delivery.retry("database is down")
        else:
            delivery.ack()

    seen = consume(queue, flaky, expect=2)

    assert [(d.event, d.attempts) for d, _ in seen] == [(event(1), 0), (event(1), 1)]
    assert seen[1][1] - seen[0][1] >= 0.45  # the first backoff is 0.5 s
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)


def test_a_poison_message_never_reaches_the_handler(queue: EventQueue) -> None:
    queue.send("{this is not an event", "work", {})
    queue.publish(event(4))

    seen = consume(queue, Delivery.ack, expect=1)

    assert [d.event for d, _ in seen] == [event(4)]
    (letter,) = queue.dead_letters()
    assert letter.body == "{this is not an event"
    assert letter.reason.startswith("event is not JSON")
    assert letter.event is None
    assert queue.replay(where=lambda letter: letter.event is not None) == 0
    assert len(queue.dead_letters()) == 1


def test_an_unsettled_delivery_is_retried(queue: EventQueue) -> None:
    queue.publish(event(7))

    seen = consume(queue, lambda d: d.ack() if d.attempts else None, expect=2)

    assert [d.attempts for d, _ in seen] == [0, 1]


def test_a_delivery_is_settled_once(queue: EventQueue) -> None:
    queue.publish(event(5))

    def twice(delivery: Delivery) -> None:
        delivery.ack()
        with pytest.raises(RuntimeError, match="was acked already"):
            delivery.retry("again")

    assert len(consume(queue, twice, expect=1)) == 1
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)


def test_ack_all_settles_what_is_left_of_a_batch(queue: EventQueue) -> None:
    queue.publish_many([event(n) for n in range(30, 36)])

    with queue.consumer(prefetch=10) as consumer:
        batch = next(consumer.batches(max_size=6, max_wait=1.0))
        batch[2].retry("storage unreachable")  # settled first, as ack_all asks
        ack_all([delivery for delivery in batch if not delivery.settled])
        assert {delivery.settled for delivery in batch} == {"acked", "retried"}

    (retried,) = [d for d, _ in consume(queue, Delivery.ack, expect=1, idle=3)]
    assert (retried.event, retried.attempts) == (batch[2].event, 1)
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)


def test_an_event_taken_by_a_consumer_that_dies_is_delivered_again(
    broker: Broker, queue: EventQueue
) -> None:
    queue.publish(event(8))

    assert run_child(broker, queue, "crash") == event(8).uri

    # After 2 s: the lease (embedded), the visibility timeout (SQS, Redis; the
    # latter's given back when a consumer next restores, up to 10 s later).
    seen = consume(queue, Delivery.ack, expect=1, idle=15)
    assert [d.event for d, _ in seen] == [event(8)]


@pytest.mark.parametrize("broker", [TRANSPORTS[0], RABBITMQ], indirect=True)
def test_a_redelivered_event_says_so(broker: Broker, queue: EventQueue) -> None:
    queue.publish(event(9))

    assert run_child(broker, queue, "crash") == event(9).uri

    seen = consume(queue, Delivery.ack, expect=1, idle=15)
    assert [(d.event, d.redelivered) for d, _ in seen] == [(event(9), True)]


def test_a_consumer_that_leaves_gives_its_events_back(broker: Broker, queue: EventQueue) -> None:
    run_child(broker, queue, "publish", events=[event(10).to_json(), event(11).to_json()])
    assert queue.counts().ready == 2

    assert run_child(broker, queue, "leave") == event(10).uri

    assert queue.counts().ready == 2  # at once, not when a lease or timeout ends
    seen = consume(queue, Delivery.ack, expect=2)
    assert sorted(d.event.uri for d, _ in seen) == [event(10).uri, event(11).uri]

"""The event queue on every transport: dead letters, replay, counts, purge, failures."""

from __future__ import annotations

import re
import time

import pytest

from lookup_events.errors import QueueUnavailable
from lookup_events.queue.consumer import Delivery
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.topology import QueueCounts
from tests.support.queues import EMBEDDED, RABBITMQ, REDIS, consume, event


@pytest.mark.slow
def test_exhausted_retries_end_as_a_dead_letter_that_can_be_replayed(queue: EventQueue) -> None:
    queue.publish(event(2))
    before = time.time()

    seen = consume(queue, lambda delivery: delivery.retry("storage unreachable"), expect=3)

    assert [d.attempts for d, _ in seen] == [0, 1, 2]
    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=1)
    (letter,) = queue.dead_letters(10)
    assert letter.reason == "storage unreachable (gave up after 3 attempts)"
    assert (letter.event, letter.attempts) == (event(2), 3)
    assert before <= letter.failed_at <= time.time()
    assert queue.dead_letters(10) == [letter]  # listing leaves them queued

    assert queue.replay() == 1
    again = consume(queue, Delivery.ack, expect=1)
    assert [(d.event, d.attempts) for d, _ in again] == [(event(2), 0)]
    assert queue.dead_letters() == []


def test_a_permanent_failure_is_dead_lettered_at_once(queue: EventQueue) -> None:
    queue.publish(event(3))

    seen = consume(queue, lambda delivery: delivery.dead_letter("README is not YAML"), expect=1)

    assert len(seen) == 1
    assert [(d.reason, d.attempts, d.event) for d in queue.dead_letters()] == [
        ("README is not YAML", 1, event(3))
    ]


@pytest.mark.slow
def test_dead_letters_are_listed_oldest_first_however_often(queue: EventQueue) -> None:
    for number in range(3):
        queue.dead_letter(event(number).to_json(), f"reason {number}")

    first = [queue.dead_letters(1) for _ in range(3)]
    everything = queue.dead_letters()

    assert [[letter.reason for letter in listing] for listing in first] == [["reason 0"]] * 3
    assert [letter.reason for letter in everything] == ["reason 0", "reason 1", "reason 2"]
    assert queue.replay(limit=1) == 1
    assert [letter.reason for letter in queue.dead_letters()] == ["reason 1", "reason 2"]


@pytest.mark.slow
@pytest.mark.parametrize("broker", [EMBEDDED, RABBITMQ, REDIS], indirect=True)
def test_a_retry_waiting_for_its_backoff_is_counted_and_purged(queue: EventQueue) -> None:
    # NOTE(dev): SQS hides a delayed message from the counts we read.
    queue.publish_many([event(20), event(21)])

    consume(queue, lambda d: d.retry("down") if d.event == event(20) else d.ack(), expect=2)

    assert queue.counts() == QueueCounts(ready=0, delayed=1, dead=0)
    assert queue.purge() == 1
    assert consume(queue, Delivery.ack, expect=1, idle=1.5) == []


def test_purge_drops_every_waiting_message(queue: EventQueue) -> None:
    queue.publish_many([event(13), event(14)])
    queue.dead_letter(b"\xffnot text", "unreadable notification")

    assert queue.purge() == 3

    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=0)


def test_purge_can_keep_the_dead_letters(queue: EventQueue) -> None:
    queue.publish(event(16))
    queue.dead_letter("{}", "kept")

    assert queue.purge(dead=False) == 1

    assert queue.counts() == QueueCounts(ready=0, delayed=0, dead=1)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("amqp://guest:secret@127.0.0.1:1//", "amqp://guest:**@127.0.0.1:1//: [Errno 111]"),
        ("sqlite:////proc/no/queue.db", "No such file or directory: '/proc/no'"),
    ],
)
def test_an_unreachable_queue_says_so_without_the_password(url: str, reason: str) -> None:
    with pytest.raises(QueueUnavailable, match=re.escape(reason)):
        EventQueue(url).publish(event(15))

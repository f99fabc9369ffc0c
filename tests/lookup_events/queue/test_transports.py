"""Choosing the transport from the broker URL, and what each refuses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lookup_events.queue.consumer import Delivery
from lookup_events.queue.event_queue import EventQueue
from tests.support.queues import REDIS_URL, consume, event


def test_a_kombu_sqla_sqlite_url_opens_the_embedded_queue(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    with EventQueue(f"sqla+sqlite:///{path}") as old_spelling:
        old_spelling.publish(event(1))

    with EventQueue(f"sqlite:///{path}") as queue:
        seen = consume(queue, Delivery.ack, expect=1, idle=1)

    assert [d.event for d, _ in seen] == [event(1)]
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert "kombu_message" not in tables


def test_any_other_kombu_url_gets_a_working_queue() -> None:
    with EventQueue("memory://", name="test-memory") as queue:
        queue.publish(event(2))
        seen = consume(queue, Delivery.ack, expect=1, idle=1)

    assert [d.event for d, _ in seen] == [event(2)]


def test_redis_must_not_give_back_a_retry_before_it_is_due() -> None:
    with pytest.raises(ValueError, match=r"visibility_timeout 60 s must exceed 128\.0 s"):
        EventQueue(REDIS_URL, transport_options={"visibility_timeout": 60})


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite://", "the embedded queue needs a file"),
        ("sqlite:///:memory:", "the embedded queue needs a file"),
        ("sqlite:///queue.db?lease=0", "the lease of the embedded queue must be positive"),
        ("sqlite:///queue.db?timeout=5", "unknown parameter of the embedded queue: ['timeout']"),
    ],
)
def test_an_embedded_queue_url_that_cannot_work_is_refused(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        EventQueue(url)

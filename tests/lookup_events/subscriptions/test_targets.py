"""Targets: admin-named RabbitMQ and SQS queues, and the webhook sender's limits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kombu import Connection

from lookup_events.subscriptions.addresses import AddressPolicy
from lookup_events.subscriptions.targets import DeliveryFailed, QueueSender, WebhookSender
from tests.support.aws import Aws
from tests.support.rabbitmq import RabbitVhost
from tests.support.subscriptions import Subscribed
from tests.support.webhooks import webhook_receiver

LOOPBACK = AddressPolicy(networks=("127.0.0.0/8",), allow_http=True)


def _notify_one(subscribed: Subscribed, queue: str) -> str:
    subscribed.subscribe({}, queue=queue)
    uri = subscribed.freeze("crop")
    subscribed.deliverer.run_once()
    return uri


def test_notifications_reach_a_rabbitmq_queue_the_admin_named(
    rabbit: RabbitVhost, sqlite_url_migrated: str, tmp_path: Path
) -> None:
    queues = (("results", f"{rabbit.url}#dataset-results"),)
    subscribed = Subscribed(sqlite_url_migrated, tmp_path, subscription_queues=queues)
    try:
        uri = _notify_one(subscribed, "results")
    finally:
        subscribed.close()
    with Connection(rabbit.url) as connection:
        queue = connection.SimpleQueue("dataset-results")
        message = queue.get(timeout=5)
        body = json.loads(message.body)
        message.ack()
        queue.close()
    assert body["event"] == "registered"
    assert body["dataset"]["uri"] == uri


def test_notifications_reach_an_sqs_queue_the_admin_named(
    aws: Aws, sqlite_url_migrated: str, tmp_path: Path
) -> None:
    queue_url = aws.new_queue("subscriptions")
    queues = (("drop", f"sqs+{queue_url}"),)
    subscribed = Subscribed(sqlite_url_migrated, tmp_path, subscription_queues=queues)
    try:
        uri = _notify_one(subscribed, "drop")
    finally:
        subscribed.close()
    answer = aws.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
    [message] = answer["Messages"]
    assert json.loads(message["Body"])["dataset"]["uri"] == uri


def test_an_unreachable_queue_is_a_failed_try_with_the_reason() -> None:
    sender = QueueSender({"gone": "amqp://guest:guest@127.0.0.1:1//#q"})
    with pytest.raises(DeliveryFailed, match="Error"):
        sender.send("gone", b"{}", "file:///d")
    with pytest.raises(DeliveryFailed, match="no queue named 'other'"):
        sender.send("other", b"{}", "file:///d")


def test_a_slow_webhook_times_out_quickly() -> None:
    sender = WebhookSender(LOOPBACK, timeout=0.3)
    with webhook_receiver() as receiver:
        receiver.delay = 2.0
        started = time.monotonic()
        with pytest.raises(DeliveryFailed, match=r"timed out|Timeout"):
            sender.send(receiver.url, "secret", 1, b"{}")
        assert time.monotonic() - started < 1.5


def test_a_closed_port_is_a_failed_try() -> None:
    sender = WebhookSender(LOOPBACK, timeout=1.0)
    with pytest.raises(DeliveryFailed, match=r"NewConnectionError|refused"):
        sender.send("http://127.0.0.1:1/hook", "secret", 1, b"{}")

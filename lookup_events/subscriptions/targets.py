"""Sending a notification: signed webhook POSTs, or messages on admin-named queues.

A webhook body is signed with HMAC-SHA256 under the subscription's secret
(``X-Dtool-Lookup-Signature: sha256=<hex>``). The request goes to the
address ``AddressPolicy`` checked, with the URL's host in ``Host`` and, for
HTTPS, in SNI and the certificate check; redirects are not followed (a 3xx
is a failure) and both connecting and answering are bounded by a timeout.
Queues are named by the admin (``DTOOL_LOOKUP_SUBSCRIPTION_QUEUES``): an
``amqp://...#queue`` URL publishes with kombu, ``sqs+https://...`` sends to
that SQS queue URL with boto3.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import urllib3

from lookup_events.store.feeds import Subscription
from lookup_events.subscriptions.addresses import AddressPolicy, AddressRefused, Destination

SIGNATURE_HEADER = "X-Dtool-Lookup-Signature"
DELIVERY_HEADER = "X-Dtool-Lookup-Delivery"
SQS_PREFIX = "sqs+"
SqsClientFactory = Callable[[str], Any]


class DeliveryFailed(Exception):
    """A notification did not reach its target; the reason is the message."""


def signature(secret: str, body: bytes) -> str:
    """Return the signature header's value for ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: Mapping[str, Any]) -> bytes:
    """Return the JSON body of a notification (the bytes that are signed)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class WebhookSender:
    """POSTs signed notifications to checked addresses, without redirects."""

    def __init__(self, policy: AddressPolicy, timeout: float) -> None:
        self._policy = policy
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)

    def send(self, url: str, secret: str, delivery_id: int, body: bytes) -> None:
        """POST ``body`` to ``url``.

        Raises:
            DeliveryFailed: refused address, no connection, timeout, or a non-2xx answer.
        """
        try:
            destination = self._policy.destination(url)
        except AddressRefused as ex:
            raise DeliveryFailed(str(ex)) from ex
        headers = {
            "Host": _host_header(destination),
            "Content-Type": "application/json",
            "User-Agent": "dtool-lookup-subscriptions",
            SIGNATURE_HEADER: signature(secret, body),
            DELIVERY_HEADER: str(delivery_id),
        }
        pool = self._pool(destination)
        try:
            response = pool.urlopen(
                "POST",
                destination.target,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                release_conn=True,
            )
        except urllib3.exceptions.HTTPError as ex:
            raise DeliveryFailed(f"{type(ex).__name__}: {ex}") from ex
        finally:
            pool.close()
        if not 200 <= response.status < 300:
            raise DeliveryFailed(f"the webhook answered {response.status}")

    def _pool(self, destination: Destination) -> urllib3.HTTPConnectionPool:
        """Return a pool connecting to the checked address, never re-resolving the host."""
        if destination.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                destination.address,
                destination.port,
                timeout=self._timeout,
                maxsize=1,
                server_hostname=destination.host,
                assert_hostname=destination.host,
                cert_reqs="CERT_REQUIRED",
            )
        return urllib3.HTTPConnectionPool(
            destination.address, destination.port, timeout=self._timeout, maxsize=1
        )


def _host_header(destination: Destination) -> str:
    default = 443 if destination.scheme == "https" else 80
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    return host if destination.port == default else f"{host}:{destination.port}"


class QueueSender:
    """Publishes notifications to the queues the admin named."""

    def __init__(
        self, queues: Mapping[str, str], sqs_client: SqsClientFactory | None = None
    ) -> None:
        self._queues = dict(queues)
        self._sqs_client = sqs_client or _boto3_sqs
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def names(self) -> frozenset[str]:
        """Return the names subscriptions may use."""
        return frozenset(self._queues)

    def send(self, name: str, body: bytes, group: str) -> None:
        """Publish ``body`` to the queue named ``name`` (``group``: the dataset URI).

        Raises:
            DeliveryFailed: no such queue, or the broker refused or was unreachable.
        """
        url = self._queues.get(name)
        if url is None:
            raise DeliveryFailed(f"no queue named {name!r} is configured")
        try:
            if url.startswith(SQS_PREFIX):
                self._send_sqs(url.removeprefix(SQS_PREFIX), body, group)
            else:
                _publish_amqp(url, body)
        except DeliveryFailed:
            raise
        except Exception as ex:  # kombu and botocore raise many kinds; each is a failed try
            raise DeliveryFailed(f"{type(ex).__name__}: {ex}") from ex

    def _send_sqs(self, queue_url: str, body: bytes, group: str) -> None:
        with self._lock:
            client = self._clients.get(queue_url)
            if client is None:
                client = self._clients[queue_url] = self._sqs_client(queue_url)
        message: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body.decode()}
        if queue_url.endswith(".fifo"):
            # Ordered per dataset; a content hash dedupes retries of one notification.
            message["MessageGroupId"] = hashlib.sha256(group.encode()).hexdigest()
            message["MessageDeduplicationId"] = hashlib.sha256(body).hexdigest()
        client.send_message(**message)


def _publish_amqp(url: str, body: bytes) -> None:
    """Publish ``body`` to the queue the URL's fragment names (declared durable)."""
    from kombu import connection, entity  # noqa: PLC0415 - the API process never needs it

    make_connection: Any = connection.Connection
    make_queue: Any = entity.Queue
    broker, _, queue_name = url.partition("#")
    if not queue_name:
        raise DeliveryFailed("the queue URL names no queue after '#'")
    with make_connection(broker, connect_timeout=5) as conn:
        queue = make_queue(queue_name, durable=True)
        producer = conn.Producer()
        producer.publish(
            body,
            routing_key=queue_name,
            declare=[queue],
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            retry=False,
        )


def _boto3_sqs(queue_url: str) -> Any:
    import boto3  # noqa: PLC0415 - the s3 extra is optional

    parts = urlsplit(queue_url)
    region = _sqs_region(parts.hostname or "")
    return boto3.client("sqs", endpoint_url=f"{parts.scheme}://{parts.netloc}", region_name=region)


def _sqs_region(host: str) -> str | None:
    labels = host.split(".")
    return labels[1] if len(labels) > 3 and labels[0] == "sqs" else None


def describe(subscription: Subscription) -> str:
    """Return where a subscription's notifications go, for messages."""
    return subscription.webhook or f"queue {subscription.queue!r}"

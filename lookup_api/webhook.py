"""The S3 webhook: bucket notifications POSTed by MinIO, StorageGRID or an SNS-style sender.

``POST /webhook/notify`` (and ``/webhook/notify/<anything>``, the path the
0.18 notification plugin used) takes any envelope ``events_from_notification``
reads: S3 event records, SNS notifications, StorageGRID's form posts,
EventBridge events. It only turns them into dataset events and publishes
them to the queue (202); the registrar does the rest, with retries and dead
letters, so a slow or failing registration never holds the sender.

Authentication is a shared secret (``DTOOL_LOOKUP_WEBHOOK_SECRET``) in the
``Authorization`` header: ``Bearer <secret>``, the bare secret (MinIO sends
its ``auth_token`` verbatim), or Basic with the secret as the password.
Without a configured secret the routes do not exist (404).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from typing import Protocol

import falcon

from lookup_api.errors import APIError
from lookup_events.errors import InvalidEvent, QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.sources.s3 import events_from_notification

MAX_BODY = 1024 * 1024
RETRY_AFTER = "5"


class EventPublisher(Protocol):
    """Whatever puts dataset events on the queue (an ``EventQueue``)."""

    def publish_many(self, events: Sequence[DatasetEvent]) -> int:
        """Publish events; return how many."""
        ...


def presented_secrets(authorization: str | None) -> list[str]:
    """Return the secrets an ``Authorization`` header may carry."""
    if not authorization:
        return []
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return [value.strip()]
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return []
        return [decoded.partition(":")[2]]
    return [authorization.strip()]


class WebhookResource:
    """Receives bucket notifications and publishes their dataset events."""

    def __init__(self, secret: str, publisher: EventPublisher) -> None:
        self._secret = secret.encode("utf-8")
        self._publisher = publisher

    def on_head(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        """Answer the reachability probe MinIO sends (without credentials)."""
        resp.status = falcon.HTTP_200

    def on_post(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        """Publish the events of one notification; 202 with their number."""
        self._authenticate(req)
        try:
            events = events_from_notification(_body(req), source="webhook")
        except InvalidEvent as ex:
            raise APIError(400, message=f"unreadable notification: {ex}") from ex
        try:
            if events:
                self._publisher.publish_many(events)
        except QueueUnavailable as ex:
            message = f"the event queue is unavailable, send again later: {ex}"
            raise APIError(503, message=message, headers={"Retry-After": RETRY_AFTER}) from ex
        resp.status = falcon.HTTP_202
        resp.media = {"events": len(events)}

    def _authenticate(self, req: falcon.Request) -> None:
        offered = presented_secrets(req.get_header("Authorization"))
        if not any(hmac.compare_digest(s.encode("utf-8"), self._secret) for s in offered):
            raise APIError(
                401,
                message="the webhook secret is missing or wrong",
                headers={"WWW-Authenticate": 'Bearer realm="webhook"'},
            )


def _body(req: falcon.Request) -> bytes:
    if (req.content_length or 0) > MAX_BODY:
        raise APIError(413, message=f"a notification is at most {MAX_BODY} bytes")
    body: bytes = req.bounded_stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise APIError(413, message=f"a notification is at most {MAX_BODY} bytes")
    return body


def routes(secret: str, publisher: EventPublisher | None) -> list[tuple[str, object]]:
    """Return the webhook's routes: none unless a secret and a publisher are given."""
    if not secret or publisher is None:
        return []
    resource = WebhookResource(secret, publisher)
    return [("/webhook/notify", resource), ("/webhook/notify/{path:path}", resource)]

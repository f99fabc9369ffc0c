"""Lambda handler of the registrar: S3 notifications from SQS, or from S3 directly.

With an SQS trigger (``ReportBatchItemFailures`` on the event-source mapping)
every message of a batch is processed and only the failed ones are named in
``batchItemFailures``, so only they return to the queue; the queue's redrive
policy moves one that keeps failing to the dead-letter queue. A message fails
when its body is no notification we understand, or when one of its events
must be retried (storage or database unreachable) or is dead (unregistered
base URI, unreadable dataset); each failure is logged as one line of JSON
with its reason. Redelivery is harmless: the registrar re-reads the dataset
from S3 and upserts, or confirms it gone and deletes.

Invoked by S3 directly, the handler raises when an event failed, so that
Lambda's asynchronous retries and on-failure destination take over.

Invoked with ``{"dtool_lookup": "db upgrade"}`` (``aws lambda invoke``), it
brings the database schema up to date: the one explicit step that migrates
a deployment on AWS, whose functions never migrate when they start.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lambdas.settings import lambda_settings
from lookup_events.errors import DatabaseUnavailable, DatasetStorageUnavailable, InvalidEvent
from lookup_events.events import DatasetEvent
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.outcomes import Outcome, Status
from lookup_events.services import Deployment, Services
from lookup_events.sources.s3 import events_from_notification

logger = logging.getLogger(__name__)


#: The status of a message whose body is no notification we understand.
UNREADABLE = "unreadable"


class EventsFailed(RuntimeError):
    """Some events of a direct S3 invocation failed; Lambda should retry it."""


@dataclass
class _Message:
    """One SQS message of a batch, its dataset events and its problems."""

    record: Mapping[str, Any]
    events: list[DatasetEvent] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def message_id(self) -> str:
        return str(self.record.get("messageId", ""))

    def fail(self, status: str, reason: str, event: DatasetEvent | None = None) -> None:
        problem = {"status": status, "reason": reason}
        if event is not None:
            problem.update(uri=event.uri, event_id=event.event_id)
        self.problems.append(problem)


def is_sqs_batch(event: Mapping[str, Any]) -> bool:
    """Tell whether a Lambda event is a batch of SQS messages."""
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records)
    )


class NotificationProcessor:
    """Applies the S3 notifications of one Lambda invocation to the stores."""

    def __init__(self, handler: BatchHandler) -> None:
        self._handler = handler

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Process an SQS batch, or an S3 notification sent to Lambda directly."""
        if is_sqs_batch(event):
            return self.sqs_batch(event["Records"])
        return self.notification(event)

    def sqs_batch(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Process every message; return the failed ones as ``batchItemFailures``."""
        messages = [_parse(record) for record in records]
        actions = self._apply([message for message in messages if not message.problems])
        failed = [message for message in messages if message.problems]
        for message in failed:
            _log_failure(message)
        _log(
            {"event": "batch processed", "messages": len(messages), "failed": len(failed)}, actions
        )
        return {"batchItemFailures": [{"itemIdentifier": m.message_id} for m in failed]}

    def notification(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Process one S3 notification; raise ``EventsFailed`` if any event failed."""
        message = _Message(record={"messageId": "", "body": event})
        try:
            message.events = events_from_notification(event, source="s3")
        except InvalidEvent as ex:
            message.fail(UNREADABLE, f"unreadable S3 notification: {ex}")
        actions = self._apply([message]) if not message.problems else Counter()
        if message.problems:
            _log_failure(message)
            raise EventsFailed(f"{len(message.problems)} event(s) failed, see the log")
        _log({"event": "notification processed", "events": len(message.events)}, actions)
        return {"events": len(message.events), "actions": dict(actions)}

    def _apply(self, messages: Sequence[_Message]) -> Counter[str]:
        """Apply the messages' events in one batch, isolating a message that breaks it."""
        events = [event for message in messages for event in message.events]
        if not events:
            return Counter()
        try:
            outcomes = self._handler.handle_batch(events)
        except (DatabaseUnavailable, DatasetStorageUnavailable) as ex:
            for message in messages:
                for event in message.events:
                    message.fail(Status.RETRY, f"{type(ex).__name__}: {ex}", event)
            return Counter()
        except Exception:
            logger.exception(
                "a batch of %d events failed; applying them message by message", len(events)
            )
            return sum((self._apply_alone(message) for message in messages), Counter())
        return _settle(messages, outcomes)

    def _apply_alone(self, message: _Message) -> Counter[str]:
        if not message.events:
            return Counter()
        try:
            outcomes = self._handler.handle_batch(message.events)
        except Exception as ex:
            message.fail(Status.RETRY, f"{type(ex).__name__}: {ex}")
            return Counter()
        return _settle([message], outcomes)


def _parse(record: Mapping[str, Any]) -> _Message:
    message = _Message(record)
    try:
        message.events = events_from_notification(record.get("body", ""), source="sqs")
    except InvalidEvent as ex:
        message.fail(UNREADABLE, f"unreadable S3 notification: {ex}")
    return message


def _settle(messages: Sequence[_Message], outcomes: Sequence[Outcome]) -> Counter[str]:
    """Record each message's failed outcomes; count the actions of the rest."""
    actions: Counter[str] = Counter()
    position = 0
    for message in messages:
        for outcome in outcomes[position : position + len(message.events)]:
            if outcome.status is Status.DONE:
                actions[outcome.tally] += 1
            else:
                message.fail(outcome.status, outcome.reason, outcome.event)
        position += len(message.events)
    return actions


def _log_failure(message: _Message) -> None:
    """Log why a message failed, as one line of JSON."""
    attributes = message.record.get("attributes") or {}
    document = {
        "event": "message failed",
        "messageId": message.message_id,
        "receiveCount": attributes.get("ApproximateReceiveCount", ""),
        "queue": message.record.get("eventSourceARN", ""),
        "problems": message.problems,
    }
    retry_only = all(problem["status"] == Status.RETRY for problem in message.problems)
    logger.log(logging.WARNING if retry_only else logging.ERROR, json.dumps(document))


def _log(document: dict[str, Any], actions: Counter[str]) -> None:
    logger.info(json.dumps({**document, "actions": dict(actions)}))


#: The invocation that migrates the database schema.
DB_UPGRADE = {"dtool_lookup": "db upgrade"}


@functools.cache
def _services() -> Services:
    """Build the services once per container: warm invocations reuse its stores."""
    return Services(lambda_settings(), deployment=Deployment.SERVER)


@functools.cache
def _processor() -> NotificationProcessor:
    """Build the processor once per container."""
    return NotificationProcessor(_services().batch_handler())


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point: process an SQS batch or an S3 notification, or upgrade the schema."""
    if event == DB_UPGRADE:
        upgraded = _services().upgrade_schema()
        logger.info(json.dumps({"event": "schema upgraded", "databases": len(upgraded)}))
        return {"upgraded": len(upgraded)}
    return _processor()(event)

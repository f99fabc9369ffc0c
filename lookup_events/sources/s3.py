"""S3 bucket notifications, in every envelope they arrive in, as dataset events.

Only the admin metadata object ``<prefix><uuid>/dtool`` counts: dtool-s3
writes it last when it freezes a dataset (and first, as a proto, when it
creates one), and deleting it is what makes a dataset disappear. The
dataset URI is ``s3://<bucket>/<uuid>`` whatever the prefix (dtool-s3 finds
the prefix again from the ``dtool-<uuid>`` registration key).

Accepted envelopes: S3 event records (AWS, MinIO, StorageGRID), the same
inside an SQS message or a Lambda SQS batch, SNS notifications (raw delivery
or not, JSON or StorageGRID's form-encoded posts), EventBridge "Object
Created"/"Object Deleted" events, and ``s3:TestEvent`` (no events).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from lookup_events.errors import DatasetStorageUnavailable, InvalidEvent
from lookup_events.events import DatasetEvent, EventKind

log = logging.getLogger(__name__)

ADMIN_KEY = "dtool"
_UUID_AT_END = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HEX = re.compile(r"[0-9A-Fa-f]{1,64}")
_MAX_DEPTH = 5
_CREATED = ("ObjectCreated:",)
_REMOVED = ("ObjectRemoved:", "LifecycleExpiration:")
_EVENTBRIDGE = {"Object Created": "frozen", "Object Deleted": "removed"}
_SNS_CONTROL = {"SubscriptionConfirmation", "UnsubscribeConfirmation"}


@dataclass(frozen=True, slots=True)
class AdminChange:
    """A write or delete of a dataset's admin metadata object in a bucket."""

    kind: EventKind
    bucket: str
    key: str
    uuid: str
    etag: str = ""
    sequencer: str = ""
    occurred_at: float = 0.0

    @property
    def uri(self) -> str:
        """The dataset URI, ``s3://<bucket>/<uuid>``."""
        return f"s3://{self.bucket}/{self.uuid}"

    def event(self, source: str = "s3") -> DatasetEvent:
        """Return the dataset event; its id is the same for a redelivered record."""
        identity = "|".join((self.kind, self.bucket, self.key, self.etag, self.sequencer))
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{identity}|{self.occurred_at}").hex
        return DatasetEvent.create(
            self.kind,
            self.uri,
            source,
            occurred_at=self.occurred_at,
            sequencer=self.sequencer,
            event_id=event_id,
        )


def dataset_uuid_of_key(key: str) -> str | None:
    """Return the dataset UUID if ``key`` is an admin metadata key, else None.

    The key is ``<prefix><uuid>/dtool``: a tag named ``dtool``
    (``<uuid>/tags/dtool``), items and the ``dtool-<uuid>`` registration key
    do not match.
    """
    head, _, last = key.rpartition("/")
    if last != ADMIN_KEY:
        return None
    match = _UUID_AT_END.search(head.rpartition("/")[2])
    return match.group(0) if match else None


def events_from_notification(
    body: str | bytes | Mapping[str, Any],
    *,
    source: str = "s3",
    clock: Callable[[], float] = time.time,
) -> list[DatasetEvent]:
    """Return the dataset events a notification reports, in record order.

    Raises:
        InvalidEvent: the body is not a notification we understand; the
            message says why (the dead-letter reason).
    """
    return [change.event(source) for change in admin_changes(body, clock=clock)]


def admin_changes(
    body: str | bytes | Mapping[str, Any], *, clock: Callable[[], float] = time.time
) -> list[AdminChange]:
    """Return the admin-metadata changes in a notification, without duplicates."""
    seen: set[AdminChange] = set()
    changes = []
    for change in _walk(_document(body), 0, clock):
        if change not in seen:
            seen.add(change)
            changes.append(change)
    return changes


def _document(body: object) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as ex:
            raise InvalidEvent(f"notification is not UTF-8 text: {ex}") from ex
    if not isinstance(body, str):
        raise InvalidEvent(f"notification is a {type(body).__name__}, not JSON text")
    text = body.strip()
    if not text.startswith(("{", "[")) and "Message=" in text:
        return _form_post(text)
    try:
        document = json.loads(text)
    except ValueError as ex:
        raise InvalidEvent(f"notification is not JSON: {ex}: {_excerpt(text)}") from ex
    if not isinstance(document, dict):
        raise InvalidEvent(f"notification is a JSON {type(document).__name__}, not an object")
    return document


def _form_post(text: str) -> Mapping[str, Any]:
    """Read StorageGRID's SNS-style ``Action=Publish&Message=...`` form post."""
    fields = parse_qs(text)
    messages = fields.get("Message", [])
    if len(messages) != 1:
        raise InvalidEvent(f"form-encoded notification lacks one Message: {_excerpt(text)}")
    return _document(messages[0])


def _walk(
    document: Mapping[str, Any], depth: int, clock: Callable[[], float]
) -> Iterator[AdminChange]:
    if depth > _MAX_DEPTH:
        raise InvalidEvent("notification is nested too deeply")
    if "Records" in document:
        records = document["Records"]
        if not isinstance(records, list):
            raise InvalidEvent("notification Records is not a list")
        for record in records:
            yield from _record(record, depth, clock)
    elif document.get("Event") == "s3:TestEvent":
        return
    elif "detail-type" in document:
        yield from _eventbridge(document, clock)
    elif document.get("Type") in _SNS_CONTROL:
        raise InvalidEvent(f"SNS {document['Type']} is not a notification; confirm it by hand")
    elif "Message" in document and document.get("Type", "Notification") == "Notification":
        yield from _walk(_document(document["Message"]), depth + 1, clock)
    elif "Body" in document or "body" in document:  # an SQS message as boto3 returns it
        yield from _walk(_document(document.get("Body", document.get("body"))), depth + 1, clock)
    else:
        keys = ", ".join(sorted(map(str, document))[:8])
        raise InvalidEvent(f"notification has no Records, Message or detail (keys: {keys})")


def _record(record: object, depth: int, clock: Callable[[], float]) -> Iterator[AdminChange]:
    if not isinstance(record, Mapping):
        raise InvalidEvent(f"notification record is a {type(record).__name__}, not an object")
    if "s3" in record:
        change = _s3_record(record, clock)
        if change is not None:
            yield change
    elif "Sns" in record:  # a Lambda SNS event
        sns = _mapping(record["Sns"], "Sns")
        yield from _walk(_document(sns.get("Message")), depth + 1, clock)
    elif "body" in record:  # a Lambda SQS event
        yield from _walk(_document(record["body"]), depth + 1, clock)
    else:
        raise InvalidEvent(f"notification record has no s3, Sns or body: {_excerpt(record)}")


def _s3_record(record: Mapping[str, Any], clock: Callable[[], float]) -> AdminChange | None:
    name = _text(record.get("eventName"), "eventName").removeprefix("s3:")
    kind: EventKind
    if name.startswith(_CREATED):
        kind = "frozen"
    elif name.startswith(_REMOVED):
        kind = "removed"
    else:
        return None  # tagging, ACL, restore, replication: not a change of the dataset
    s3 = _mapping(record["s3"], "s3")
    obj = _mapping(s3.get("object"), "s3.object")
    key = unquote_plus(_text(obj.get("key"), "s3.object.key"))
    bucket = _text(_mapping(s3.get("bucket"), "s3.bucket").get("name"), "s3.bucket.name")
    dataset = dataset_uuid_of_key(key)
    if dataset is None:
        log.info(
            "dropped S3 notification for s3://%s/%s: not a dataset's admin metadata", bucket, key
        )
        return None
    if kind == "frozen" and _is_proto(obj):
        log.info("dropped S3 notification for s3://%s/%s: a proto dataset", bucket, key)
        return None
    return AdminChange(
        kind,
        bucket,
        key,
        dataset,
        etag=_etag(obj.get("eTag", obj.get("etag"))),
        sequencer=_sequencer(obj.get("sequencer")),
        occurred_at=_time(record.get("eventTime"), clock),
    )


def _eventbridge(document: Mapping[str, Any], clock: Callable[[], float]) -> Iterator[AdminChange]:
    if document.get("source") != "aws.s3":
        raise InvalidEvent(f"EventBridge event from {document.get('source')!r}, not aws.s3")
    kind = _EVENTBRIDGE.get(str(document["detail-type"]))
    if kind is None:
        return  # "Object Tags Added", "Object Restore Completed", ...
    detail = _mapping(document.get("detail"), "detail")
    obj = _mapping(detail.get("object"), "detail.object")
    # NOTE(dev): EventBridge keys are raw, not form-encoded as in S3 records.
    key = _text(obj.get("key"), "detail.object.key")
    bucket = _text(_mapping(detail.get("bucket"), "detail.bucket").get("name"), "bucket.name")
    dataset = dataset_uuid_of_key(key)
    if dataset is None:
        log.info(
            "dropped S3 notification for s3://%s/%s: not a dataset's admin metadata", bucket, key
        )
    else:
        yield AdminChange(
            "frozen" if kind == "frozen" else "removed",
            bucket,
            key,
            dataset,
            etag=_etag(obj.get("etag", obj.get("eTag"))),
            sequencer=_sequencer(obj.get("sequencer")),
            occurred_at=_time(document.get("time"), clock),
        )


def _is_proto(obj: Mapping[str, Any]) -> bool:
    """Tell from MinIO's ``userMetadata`` (when sent) that a proto was written."""
    metadata = obj.get("userMetadata")
    if not isinstance(metadata, Mapping):
        return False
    for name, value in metadata.items():
        if str(name).lower() in {"x-amz-meta-type", "type"}:
            return str(value) != "dataset"
    return False


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if isinstance(value, str) and value.lstrip().startswith("{"):
        return _document(value)
    if not isinstance(value, Mapping):
        raise InvalidEvent(f"notification field {where} is not an object")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"notification field {where} is missing or not a string")
    return value


def _etag(value: object) -> str:
    return value.strip('"') if isinstance(value, str) else ""


def _sequencer(value: object) -> str:
    return value if isinstance(value, str) and _HEX.fullmatch(value) else ""


def _time(value: object, clock: Callable[[], float]) -> float:
    """Parse an ISO-8601 event time; a missing or odd one means 'now'."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            log.debug("unparseable event time %r", value)
    return clock()


def _excerpt(value: object, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True, slots=True)
class AdminObject:
    """What a HEAD request says about an admin metadata object."""

    etag: str
    type: str


Probe = Callable[[str, str], AdminObject | None]
Publish = Callable[[Sequence[DatasetEvent]], object]
DeadLetter = Callable[[str, str], object]


def shared_s3_client(bucket: str) -> Any:
    """Return the process's shared S3 client for ``bucket``."""
    from lookup_events.storage.s3 import shared_clients  # noqa: PLC0415 - the s3 extra is optional

    return shared_clients()(bucket)


class AdminObjectProbe:
    """HEADs admin metadata objects with the process's shared S3 clients."""

    def __init__(self, client_for: Callable[[str], Any] = shared_s3_client) -> None:
        self._client_for = client_for

    def __call__(self, bucket: str, key: str) -> AdminObject | None:
        """Return the object's ETag and dtool type, or None if it is gone."""
        from botocore.exceptions import ClientError  # noqa: PLC0415 - the s3 extra is optional

        try:
            head = self._client_for(bucket).head_object(Bucket=bucket, Key=key)
        except ClientError as ex:
            if ex.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise
        metadata = head.get("Metadata") or {}
        return AdminObject(_etag(head.get("ETag")), str(metadata.get("type", "")))


@dataclass(slots=True)
class PollResult:
    """What one poll of the notification queue came to."""

    received: int = 0
    published: int = 0
    dropped: int = 0
    dead_lettered: int = 0


class SqsNotificationSource:
    """Reads S3 notifications from an SQS queue and publishes dataset events.

    A message is deleted only after its events were published (or, for a
    notification that cannot be parsed, after it was dead-lettered with the
    reason), so a crash or a broker outage leaves it in SQS to be received
    again after its visibility timeout.

    With a ``probe``, a ``frozen`` candidate is dropped when a HEAD of its
    admin metadata shows it deleted, overwritten since (another ETag: that
    later write has its own notification) or still a proto dataset. So the
    proto write and the freeze write of one dataset yield one event. A
    probe that fails (S3 out of reach or refusing) lets the event through:
    the registrar decides. Any other error is a bug and is raised.
    """

    def __init__(
        self,
        client: Any,
        queue_url: str,
        publish: Publish,
        dead_letter: DeadLetter,
        *,
        probe: Probe | None = None,
        wait_seconds: int = 10,
        max_messages: int = 10,
        source: str = "sqs",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._queue_url = queue_url
        self._publish = publish
        self._dead_letter = dead_letter
        self._probe = probe
        self._wait_seconds = wait_seconds
        self._max_messages = min(max(max_messages, 1), 10)
        self._source = source
        self._clock = clock

    def poll(self) -> PollResult:
        """Receive one batch of messages, publish their events, delete them."""
        response = self._client.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._max_messages,
            WaitTimeSeconds=self._wait_seconds,
        )
        messages = response.get("Messages", [])
        result = PollResult(received=len(messages))
        handled: list[Mapping[str, Any]] = []
        try:
            for message in messages:
                self._handle(message.get("Body", ""), result)
                handled.append(message)
        finally:
            self._delete(handled)
        return result

    def _handle(self, body: str, result: PollResult) -> None:
        try:
            changes = admin_changes(body, clock=self._clock)
        except InvalidEvent as ex:
            self._dead_letter(body, f"unreadable S3 notification: {ex}")
            result.dead_lettered += 1
            return
        current = [change for change in changes if self._is_current(change)]
        for change in changes:
            if change not in current:
                log.info(
                    "dropped S3 notification for s3://%s/%s: deleted, overwritten since, "
                    "or a proto dataset",
                    change.bucket,
                    change.key,
                )
        result.dropped += len(changes) - len(current)
        if current:
            self._publish([change.event(self._source) for change in current])
            result.published += len(current)

    def _is_current(self, change: AdminChange) -> bool:
        if change.kind != "frozen" or self._probe is None:
            return True
        from botocore.exceptions import (  # noqa: PLC0415 - a probe needs the s3 extra
            BotoCoreError,
            ClientError,
        )

        try:
            head = self._probe(change.bucket, change.key)
        except (BotoCoreError, ClientError, DatasetStorageUnavailable) as ex:
            log.warning(
                "cannot HEAD s3://%s/%s, passing the event on: %s", change.bucket, change.key, ex
            )
            return True
        if head is None:
            return False  # deleted since: its removal has a notification of its own
        if change.etag and head.etag and change.etag != head.etag:
            return False  # overwritten since: the later write has a notification of its own
        return head.type in {"dataset", ""}

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                for number, message in enumerate(messages[start : start + 10])
            ]
            response = self._client.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                log.warning("could not delete SQS message (it will come again): %s", failure)

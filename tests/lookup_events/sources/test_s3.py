"""S3 notifications, as a real moto server sends them, turned into dataset events.

The bucket notifies four SQS queues at once: directly, through SNS with and
without raw delivery, and through EventBridge (moto emits all four). A real
dataset is written with dtool-s3 and the messages that arrive are parsed.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import dtoolcore
import pytest
from botocore.config import Config

from lookup_events.errors import InvalidEvent, QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.sources.s3 import (
    AdminObjectProbe,
    SqsNotificationSource,
    dataset_uuid_of_key,
    events_from_notification,
)
from tests.support.aws import CREDENTIALS, Aws, point_dtool_s3_at

# NOTE(dev): kombu's SQL transport uses an ORM option SQLAlchemy 2.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")

ENVELOPES = ("s3", "sns-raw", "sns", "eventbridge")
ALL_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
UUID = "0627008f-d443-460d-a7fb-7b21f8e44f95"


@dataclass
class NotifiedBucket:
    """A moto bucket whose notifications reach one SQS queue per envelope."""

    name: str
    sqs: Any
    s3: Any
    queues: dict[str, str] = field(default_factory=dict)

    def messages(self, envelope: str) -> list[str]:
        """Receive and delete every message waiting in one envelope's queue."""
        bodies: list[str] = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.queues[envelope], MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = response.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                self.sqs.delete_message(
                    QueueUrl=self.queues[envelope], ReceiptHandle=message["ReceiptHandle"]
                )

    def drain_all(self) -> None:
        """Forget every message waiting so far."""
        for envelope in self.queues:
            self.messages(envelope)


@pytest.fixture
def bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> NotifiedBucket:
    """Create a bucket notifying SQS directly, via SNS (raw and not) and EventBridge."""
    s3, sqs, sns, bridge = (aws.client(s) for s in ("s3", "sqs", "sns", "events"))
    name = f"dtool-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    found = NotifiedBucket(name, sqs, s3)
    arns = {}
    for envelope in ENVELOPES:
        url = sqs.create_queue(
            QueueName=f"{name}-{envelope}", Attributes={"VisibilityTimeout": "1"}
        )["QueueUrl"]
        found.queues[envelope] = url
        arns[envelope] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    topic = sns.create_topic(Name=f"{name}-topic")["TopicArn"]
    raw = {"RawMessageDelivery": "true"}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arns["sns-raw"], Attributes=raw)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arns["sns"])
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": [name]}}}
    bridge.put_rule(Name=f"{name}-rule", EventPattern=json.dumps(pattern))
    bridge.put_targets(Rule=f"{name}-rule", Targets=[{"Id": "q", "Arn": arns["eventbridge"]}])
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arns["s3"], "Events": ALL_EVENTS}],
            "TopicConfigurations": [{"TopicArn": topic, "Events": ALL_EVENTS}],
            "EventBridgeConfiguration": {},
        },
    )
    point_dtool_s3_at(monkeypatch, name, aws.endpoint)
    return found


def write_dataset(bucket: NotifiedBucket, tmp_path: Path, name: str = "fruit") -> str:
    """Create and freeze a real dataset in the bucket with dtool-s3; return its URI."""
    proto = dtoolcore.create_proto_dataset(
        name, f"s3://{bucket.name}", readme_content="project: orchard", creator_username="grumpy"
    )
    item = tmp_path / f"{name}.txt"
    item.write_text("apple")
    proto.put_item(str(item), "a b+c.txt")
    proto.put_tag("dtool")  # stored as <uuid>/tags/dtool: not the admin metadata
    proto.put_annotation("project", "orchard")
    proto.freeze()
    return str(proto.uri)


def events_in(bodies: list[str]) -> list[DatasetEvent]:
    """Parse every body with the notification parser."""
    return [event for body in bodies for event in events_from_notification(body)]


def drain(source: SqsNotificationSource) -> None:
    """Poll until a poll receives nothing."""
    while source.poll().received:
        pass


def run_source(bucket: NotifiedBucket, envelope: str) -> tuple[list[DatasetEvent], list[Any]]:
    """Drain one queue through the SQS source (with the HEAD probe)."""
    published: list[DatasetEvent] = []
    dead: list[Any] = []
    source = SqsNotificationSource(
        bucket.sqs,
        bucket.queues[envelope],
        published.extend,
        lambda body, reason: dead.append((body, reason)),
        probe=AdminObjectProbe(),
        wait_seconds=0,
    )
    drain(source)
    return published, dead


def test_a_frozen_dataset_gives_one_frozen_event_in_every_envelope(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    uri = write_dataset(bucket, tmp_path)

    results = {envelope: run_source(bucket, envelope) for envelope in ENVELOPES}

    expected = [("frozen", uri, f"s3://{bucket.name}", "sqs")]
    assert {
        envelope: [(e.kind, e.uri, e.base_uri, e.source) for e in published]
        for envelope, (published, _) in results.items()
    } == {envelope: expected for envelope in ENVELOPES}
    assert [dead for _, dead in results.values()] == [[], [], [], []]
    assert [bucket.messages(envelope) for envelope in ENVELOPES] == [[], [], [], []]


@pytest.mark.slow
def test_the_parser_sees_the_proto_and_the_freeze_write_and_nothing_else(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    uri = write_dataset(bucket, tmp_path)

    events = {envelope: events_in(bucket.messages(envelope)) for envelope in ENVELOPES}

    # dtool-s3 writes <uuid>/dtool twice: as a proto, then frozen. Items,
    # the tag named dtool and the dtool-<uuid> key give no event.
    assert {envelope: [(e.kind, e.uri) for e in found] for envelope, found in events.items()} == (
        {envelope: [("frozen", uri), ("frozen", uri)] for envelope in ENVELOPES}
    )


def test_deleting_a_dataset_gives_a_removed_event_in_every_envelope(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    uri = write_dataset(bucket, tmp_path)
    bucket.drain_all()
    keys = bucket.s3.list_objects_v2(Bucket=bucket.name)["Contents"]
    bucket.s3.delete_objects(
        Bucket=bucket.name, Delete={"Objects": [{"Key": obj["Key"]} for obj in keys]}
    )

    published = {envelope: run_source(bucket, envelope)[0] for envelope in ENVELOPES}

    assert {
        envelope: [(e.kind, e.uri) for e in found] for envelope, found in published.items()
    } == {envelope: [("removed", uri)] for envelope in ENVELOPES}


@pytest.mark.slow
def test_a_prefix_with_spaces_and_plus_signs_still_names_the_dataset(
    bucket: NotifiedBucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"DTOOL_S3_DATASET_PREFIX_{bucket.name}", "u/al ice+co/")
    uri = write_dataset(bucket, tmp_path)
    bodies = bucket.messages("s3")

    assert any("al+ice%2Bco" in body for body in bodies)  # moto encodes keys form-style
    assert {(e.kind, e.uri) for e in events_in(bodies)} == {("frozen", uri)}
    assert dtoolcore.DataSet.from_uri(uri).name == "fruit"


def test_the_test_event_is_acknowledged_and_ignored(bucket: NotifiedBucket) -> None:
    bucket.drain_all()
    bucket.s3.put_bucket_notification_configuration(
        Bucket=bucket.name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": _arn(bucket, "s3"), "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    bodies = bucket.messages("s3")
    assert [json.loads(body)["Event"] for body in bodies] == ["s3:TestEvent"]
    assert events_from_notification(bodies[0]) == []


@pytest.mark.slow
def test_several_records_and_envelopes_in_one_message_are_all_read(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    first = write_dataset(bucket, tmp_path, "apples")
    second = write_dataset(bucket, tmp_path, "pears")
    records = [r for body in bucket.messages("s3") for r in json.loads(body).get("Records", [])]
    lambda_batch = {  # what an SQS-triggered Lambda receives
        "Records": [
            {"messageId": "1", "eventSource": "aws:sqs", "body": json.dumps({"Records": [r]})}
            for r in records
        ]
    }

    combined = events_from_notification(json.dumps({"Records": records}))
    from_lambda = events_from_notification(lambda_batch)

    assert [e.uri for e in combined] == [first, first, second, second]
    assert [e.uri for e in from_lambda] == [e.uri for e in combined]


def test_storagegrid_form_posts_and_minio_webhooks_are_read(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    uri = write_dataset(bucket, tmp_path)
    body = [b for b in bucket.messages("s3") if "dtool" in b and "tags" not in b][-1]
    form = urlencode({"Action": "Publish", "Message": body, "TopicArn": "urn:sgws:sns::t"})
    minio = json.loads(body)
    minio["EventName"] = "s3:ObjectCreated:Put"
    minio["Key"] = f"{bucket.name}/{minio['Records'][0]['s3']['object']['key']}"
    record = minio["Records"][0]
    record["eventSource"] = "minio:s3"
    record["eventName"] = "s3:ObjectCreated:Put"

    assert [e.uri for e in events_from_notification(form)] == [uri]
    assert [e.uri for e in events_from_notification(json.dumps(minio))] == [uri]
    record["s3"]["object"]["userMetadata"] = {"X-Amz-Meta-Type": "protodataset"}
    assert events_from_notification(minio) == []  # MinIO shows it is only a proto


@pytest.mark.slow
def test_a_redelivered_record_keeps_its_event_id(bucket: NotifiedBucket, tmp_path: Path) -> None:
    write_dataset(bucket, tmp_path)
    body = bucket.messages("s3")[-1]

    assert [e.event_id for e in events_from_notification(body)] == [
        e.event_id for e in events_from_notification(body)
    ]


def test_aws_sequencers_and_times_are_kept() -> None:
    body = _aws_record("ObjectRemoved:DeleteMarkerCreated", f"data/{UUID}/dtool")

    (event,) = events_from_notification(body)

    assert (event.kind, event.uri, event.sequencer) == (
        "removed",
        f"s3://bkt/{UUID}",
        "0055AED6DC",
    )
    assert event.occurred_at == 1636675200.0


def test_eventbridge_deletions_from_the_aws_documentation_are_read() -> None:
    # NOTE(dev): moto emits "Object Created" only with reason ObjectCreated;
    # this is the documented AWS form of a deletion, keys not URL-encoded.
    document = {
        "version": "0",
        "id": "2ee9cc15-d022-99ea-1fb8-1b1bac4850f9",
        "detail-type": "Object Deleted",
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2021-11-12T00:00:00Z",
        "region": "ca-central-1",
        "resources": ["arn:aws:s3:::bkt"],
        "detail": {
            "version": "0",
            "bucket": {"name": "bkt"},
            "object": {"key": f"my data/{UUID}/dtool", "sequencer": "617f08299329d189"},
            "reason": "DeleteObject",
            "deletion-type": "Delete Marker Created",
        },
    }

    (event,) = events_from_notification(document)

    assert (event.kind, event.uri, event.sequencer) == (
        "removed",
        f"s3://bkt/{UUID}",
        "617f08299329d189",
    )
    document["detail-type"] = "Object Tags Added"
    assert events_from_notification(document) == []


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (f"{UUID}/dtool", UUID),
        (f"u/alice/{UUID}/dtool", UUID),
        (f"alice-{UUID}/dtool", UUID),  # a prefix without a trailing slash
        (f"{UUID}/tags/dtool", None),
        (f"dtool-{UUID}", None),
        (f"{UUID}/data/09a62d2d7bd4d5e2a2b4d4ff9a9fa0c4b6d2a0e1", None),
        (f"{UUID}/dtool/README.yml", None),
        (f"{UUID}/README.yml", None),
        ("not-a-uuid/dtool", None),
        ("dtool", None),
    ],
)
def test_only_admin_metadata_keys_count(key: str, expected: str | None) -> None:
    assert dataset_uuid_of_key(key) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        ("<xml/>", "not JSON"),
        ("[]", "JSON list, not an object"),
        ('{"hello": "world"}', "no Records, Message or detail (keys: hello)"),
        ('{"Records": "none"}', "Records is not a list"),
        ('{"Records": [42]}', "record is a int"),
        ('{"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}', "s3.object is not"),
        ('{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {}}}]}', "key"),
        ('{"Records": [{"what": 1}]}', "no s3, Sns or body"),
        ('{"Type": "SubscriptionConfirmation", "SubscribeURL": "x"}', "confirm it by hand"),
        ('{"detail-type": "x", "source": "aws.ec2", "detail": {}}', "not aws.s3"),
        ("Action=Publish&TopicArn=x&Message=", "lacks one Message"),
        ('{"Message": "{\\"Message\\": \\"{}\\"}"}', "no Records"),
    ],
)
def test_garbage_is_refused_with_a_reason(body: str | bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=re.escape(reason)):
        events_from_notification(body)


def test_poison_messages_are_dead_lettered_and_the_queue_moves_on(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    bucket.sqs.send_message(QueueUrl=bucket.queues["s3"], MessageBody="certainly not JSON")
    uri = write_dataset(bucket, tmp_path)

    published, dead = run_source(bucket, "s3")

    assert [(e.kind, e.uri) for e in published] == [("frozen", uri)]
    assert [(body, reason.split(":")[0]) for body, reason in dead] == [
        ("certainly not JSON", "unreadable S3 notification")
    ]
    assert bucket.messages("s3") == []


@pytest.mark.slow
def test_a_message_stays_in_sqs_until_its_events_are_published(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    uri = write_dataset(bucket, tmp_path)
    bucket.drain_all()
    bucket.s3.delete_object(Bucket=bucket.name, Key=f"{uri.rsplit('/', 1)[1]}/dtool")

    def broker_down(events: Any) -> None:
        raise QueueUnavailable("broker down")

    failing = SqsNotificationSource(
        bucket.sqs, bucket.queues["s3"], broker_down, _refuse, wait_seconds=0
    )
    with pytest.raises(QueueUnavailable):
        failing.poll()
    published, _ = _poll_until_published(bucket)

    assert [(e.kind, e.uri) for e in published] == [("removed", uri)]


@pytest.mark.slow
def test_notifications_reach_the_event_queue(bucket: NotifiedBucket, tmp_path: Path) -> None:
    uri = write_dataset(bucket, tmp_path)
    bucket.sqs.send_message(QueueUrl=bucket.queues["sns"], MessageBody='{"Type": "Notification"}')
    with EventQueue(f"sqla+sqlite:///{tmp_path / 'queue.db'}") as queue:
        source = SqsNotificationSource(
            bucket.sqs,
            bucket.queues["sns"],
            queue.publish_many,
            queue.dead_letter,
            probe=AdminObjectProbe(),
            wait_seconds=0,
        )
        drain(source)

        with queue.consumer() as consumer:
            batch = next(consumer.batches(idle_timeout=0.5))
            batch[0].ack()
        (letter,) = queue.dead_letters()

    assert [(d.event.kind, d.event.uri) for d in batch] == [("frozen", uri)]
    assert letter.body == '{"Type": "Notification"}'
    assert letter.reason.startswith("unreadable S3 notification: notification has no Records")


def test_a_probe_that_cannot_reach_s3_lets_every_event_through(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    uri = write_dataset(bucket, tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    published: list[DatasetEvent] = []
    source = SqsNotificationSource(
        bucket.sqs,
        bucket.queues["s3"],
        published.extend,
        _refuse,
        probe=AdminObjectProbe(lambda name: impatient_client(closed)),
        wait_seconds=0,
    )

    drain(source)

    assert [(e.kind, e.uri) for e in published] == [("frozen", uri), ("frozen", uri)]


@pytest.mark.slow
def test_a_probe_that_fails_for_another_reason_is_a_bug_and_raised(
    bucket: NotifiedBucket, tmp_path: Path
) -> None:
    uri = write_dataset(bucket, tmp_path)

    def buggy(name: str, key: str) -> None:
        raise TypeError("a bug in the probe")

    source = SqsNotificationSource(
        bucket.sqs, bucket.queues["s3"], _refuse, _refuse, probe=buggy, wait_seconds=0
    )
    with pytest.raises(TypeError, match="a bug in the probe"):
        source.poll()
    with pytest.raises(AttributeError):
        AdminObjectProbe(lambda name: object())(bucket.name, f"{uri.rsplit('/', 1)[1]}/dtool")
    published, _ = _poll_until_published(bucket)  # the messages stayed in SQS

    assert {(e.kind, e.uri) for e in published} == {("frozen", uri)}
    assert AdminObjectProbe()(bucket.name, f"{UUID}/dtool") is None


def impatient_client(endpoint: str) -> Any:
    """Return an S3 client on ``endpoint`` that tries once and waits a second at most."""
    config = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", config=config, **CREDENTIALS
    )


def _poll_until_published(bucket: NotifiedBucket) -> tuple[list[DatasetEvent], int]:
    published: list[DatasetEvent] = []
    source = SqsNotificationSource(
        bucket.sqs, bucket.queues["s3"], published.extend, _refuse, wait_seconds=1
    )
    polls = 0
    while not published and polls < 5:  # the visibility timeout is 1 s
        source.poll()
        polls += 1
    return published, polls


def _refuse(body: str, reason: str) -> None:
    raise AssertionError(f"dead-lettered {body!r}: {reason}")


def _arn(bucket: NotifiedBucket, envelope: str) -> str:
    attributes = bucket.sqs.get_queue_attributes(
        QueueUrl=bucket.queues[envelope], AttributeNames=["QueueArn"]
    )
    return str(attributes["Attributes"]["QueueArn"])


def _aws_record(name: str, key: str) -> str:
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-west-2",
        "eventTime": "2021-11-12T00:00:00.000Z",
        "eventName": name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": "bkt", "arn": "arn:aws:s3:::bkt"},
            "object": {"key": key, "sequencer": "0055AED6DC", "versionId": "v1"},
        },
    }
    return json.dumps({"Records": [record]})


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (
            f"{UUID}/data/09a62d2d7bd4d5e2a2b4d4ff9a9fa0c4b6d2a0e1",
            "not a dataset's admin metadata",
        ),
        (f"dtool-{UUID}", "not a dataset's admin metadata"),
    ],
)
def test_a_dropped_notification_is_logged_with_its_key(
    key: str, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "b"}, "object": {"key": key}},
    }

    with caplog.at_level("INFO", logger="lookup_events.sources.s3"):
        assert events_from_notification({"Records": [record]}) == []

    assert f"dropped S3 notification for s3://b/{key}: {why}" in caplog.messages

"""The registrar Lambda over real S3 notifications: moto's bucket, queue, topic and bus.

Datasets are written with dtool-s3 into a bucket on a moto server; the
bucket's notifications reach SQS directly, through SNS or through
EventBridge; the messages are received from SQS and wrapped as Lambda's SQS
integration does; the stores are real SQLite.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdas.registrar import EventsFailed, NotificationProcessor, is_sqs_batch
from lookup_events.config import Settings
from lookup_events.errors import SetupError
from lookup_events.store import Stores, open_stores
from tests.support.aws import (
    Aws,
    lambda_record,
    lambda_sqs_event,
    make_s3_dataset,
    new_bucket_name,
    point_dtool_s3_at,
    receive_all,
    uuids_in,
    wire_bucket,
)


def failed_ids(result: dict[str, Any]) -> set[str]:
    """Return the message ids a handler result names as batch item failures."""
    return {failure["itemIdentifier"] for failure in result["batchItemFailures"]}


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Return the JSON failure lines the registrar logged."""
    documents = [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "lambdas.registrar" and record.getMessage().startswith("{")
    ]
    return [d for d in documents if d.get("event") == "message failed"]


def logged_failures(caplog: pytest.LogCaptureFixture) -> dict[str, dict[str, Any]]:
    """Return the JSON failure lines the registrar logged, by message id."""
    return {d["messageId"]: d for d in failure_lines(caplog)}


def uuid_of(uri: str) -> str:
    """Return the UUID at the end of an s3:// dataset URI."""
    return uri.rsplit("/", 1)[1]


@pytest.mark.slow
@pytest.mark.parametrize("via", ["sqs", "sns", "eventbridge"])
def test_a_frozen_dataset_is_registered_from_its_notifications(
    aws: Aws, bucket: str, sqlite_stores: Stores, processor: NotificationProcessor, via: str
) -> None:
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue, via)
    uri = make_s3_dataset(bucket, "apples", tags=("fruit",))

    event = lambda_sqs_event(aws, queue)
    result = processor(event)

    assert is_sqs_batch(event)
    assert result == {"batchItemFailures": []}
    record = sqlite_stores.datasets.get(uri)
    assert record is not None
    assert (record.entry.name, record.entry.creator_username) == ("apples", "ann")
    assert record.entry.tags == ("fruit",)
    assert record.readme == "---\nproject: apples\n"


def test_the_test_event_and_a_proto_dataset_register_nothing(
    aws: Aws, bucket: str, sqlite_stores: Stores, processor: NotificationProcessor
) -> None:
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    test_event = lambda_sqs_event(aws, queue)
    uri = make_s3_dataset(bucket, "unfinished", freeze=False)
    proto_event = lambda_sqs_event(aws, queue)

    assert "s3:TestEvent" in test_event["Records"][0]["body"]
    assert processor(test_event) == {"batchItemFailures": []}
    assert processor(proto_event) == {"batchItemFailures": []}
    assert sqlite_stores.datasets.get(uri) is None


def test_a_redelivered_batch_changes_nothing(
    aws: Aws, bucket: str, sqlite_stores: Stores, processor: NotificationProcessor
) -> None:
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    uri = make_s3_dataset(bucket, "pears")
    event = lambda_sqs_event(aws, queue)

    assert processor(event) == {"batchItemFailures": []}
    first = sqlite_stores.datasets.get(uri)
    assert processor(event) == {"batchItemFailures": []}
    assert processor({"Records": list(reversed(event["Records"]))}) == {"batchItemFailures": []}

    assert sqlite_stores.datasets.get(uri) == first
    assert sqlite_stores.datasets.frozen_at_by_uri(f"s3://{bucket}").keys() == {uri}


def test_a_deleted_dataset_is_removed(
    aws: Aws, bucket: str, sqlite_stores: Stores, processor: NotificationProcessor
) -> None:
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    uri = make_s3_dataset(bucket, "plums")
    processor(lambda_sqs_event(aws, queue))
    assert sqlite_stores.datasets.get(uri) is not None

    aws.client("s3").delete_object(Bucket=bucket, Key=f"{uuid_of(uri)}/dtool")
    result = processor(lambda_sqs_event(aws, queue))

    assert result == {"batchItemFailures": []}
    assert sqlite_stores.datasets.get(uri) is None


@pytest.mark.slow
def test_only_the_failed_messages_return_to_the_queue(
    *,
    aws: Aws,
    bucket: str,
    sqlite_stores: Stores,
    processor: NotificationProcessor,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    good = make_s3_dataset(bucket, "good")
    corrupt = make_s3_dataset(bucket, "corrupt")
    aws.client("s3").put_object(
        Bucket=bucket, Key=f"{uuid_of(corrupt)}/manifest.json", Body=b"{not json"
    )
    stranger = new_bucket_name()  # its base URI is not registered
    aws.client("s3").create_bucket(Bucket=stranger)
    point_dtool_s3_at(monkeypatch, stranger, aws.endpoint)
    wire_bucket(aws, stranger, queue)
    unknown = make_s3_dataset(stranger, "unknown")
    aws.client("sqs").send_message(QueueUrl=queue, MessageBody="this is not a notification")

    event = lambda_sqs_event(aws, queue)
    with caplog.at_level(logging.INFO, logger="lambdas.registrar"):
        result = processor(event)

    by_kind: dict[str, set[str]] = {"good": set(), "corrupt": set(), "unknown": set()}
    poison = set()
    for record in event["Records"]:
        names = uuids_in(record) if record["body"].startswith("{") else set()
        for kind, uri in (("good", good), ("corrupt", corrupt), ("unknown", unknown)):
            if uuid_of(uri) in names:
                by_kind[kind].add(record["messageId"])
        if not record["body"].startswith("{"):
            poison.add(record["messageId"])
    assert len(by_kind["good"]) == 2  # the proto write and the freeze
    assert failed_ids(result) == by_kind["corrupt"] | by_kind["unknown"] | poison
    assert sqlite_stores.datasets.get(good) is not None
    assert sqlite_stores.datasets.get(corrupt) is None
    assert sqlite_stores.datasets.get(unknown) is None

    logged = logged_failures(caplog)
    assert logged.keys() == failed_ids(result)
    for message_id in by_kind["unknown"]:
        assert logged[message_id]["problems"][0]["status"] == "dead"
        assert "UnknownBaseURI" in logged[message_id]["problems"][0]["reason"]
        assert logged[message_id]["problems"][0]["uri"] == unknown
    for message_id in by_kind["corrupt"]:
        assert "InvalidDataset" in logged[message_id]["problems"][0]["reason"]
    (poisoned,) = poison
    assert logged[poisoned]["problems"][0]["status"] == "unreadable"
    assert logged[poisoned]["receiveCount"] == "1"
    assert logged[poisoned]["queue"] == aws.queue_arn(queue)


def test_unreachable_storage_is_retried(
    aws: Aws,
    sqlite_stores: Stores,
    processor: NotificationProcessor,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A bucket whose endpoint refuses connections: reading the dataset fails for now.
    offline = new_bucket_name()
    sqlite_stores.admin.add_base_uri(f"s3://{offline}")
    point_dtool_s3_at(monkeypatch, offline, "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    queue = aws.new_queue()
    body = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventTime": "2026-11-01T10:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": offline},
                    "object": {"key": "1b7a8b52-0d3c-4a47-9a3c-2f3b7f0e5d11%2Fdtool"},
                },
            }
        ]
    }
    aws.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    event = lambda_sqs_event(aws, queue)

    with caplog.at_level(logging.INFO, logger="lambdas.registrar"):
        result = processor(event)

    assert failed_ids(result) == {event["Records"][0]["messageId"]}
    (logged,) = logged_failures(caplog).values()
    assert logged["problems"][0]["status"] == "retry"
    assert "DatasetStorageUnavailable" in logged["problems"][0]["reason"]
    assert any(
        r.levelno == logging.WARNING for r in caplog.records if r.name == "lambdas.registrar"
    )


def test_a_direct_s3_invocation_registers(
    aws: Aws, bucket: str, sqlite_stores: Stores, processor: NotificationProcessor
) -> None:
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    uri = make_s3_dataset(bucket, "cherries")
    notifications = [json.loads(m["Body"]) for m in receive_all(aws, queue)]

    results = [processor(notification) for notification in notifications]

    assert not any(is_sqs_batch(notification) for notification in notifications)
    assert results[0] == {"events": 0, "actions": {}}  # the s3:TestEvent
    assert {"registered": 1} in [result["actions"] for result in results]
    assert sqlite_stores.datasets.get(uri) is not None


def test_a_direct_s3_invocation_raises_when_an_event_fails(
    aws: Aws, bucket: str, processor: NotificationProcessor, caplog: pytest.LogCaptureFixture
) -> None:
    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    make_s3_dataset(bucket, "unregistered")
    *_, frozen = [json.loads(m["Body"]) for m in receive_all(aws, queue)]

    with pytest.raises(EventsFailed), caplog.at_level(logging.INFO, logger="lambdas.registrar"):
        processor(frozen)
    with pytest.raises(EventsFailed):
        processor({"Records": [{"eventSource": "aws:s3"}]})

    dead, unreadable = failure_lines(caplog)
    assert "UnknownBaseURI" in dead["problems"][0]["reason"]
    assert unreadable["problems"][0]["status"] == "unreadable"


@pytest.mark.slow
def test_a_message_breaking_the_batch_does_not_fail_the_others(
    aws: Aws, bucket: str, sqlite_stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    from lookup_events.registrar.batch import BatchHandler
    from lookup_events.registrar.writer import Registrar

    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    make_s3_dataset(bucket, "fine")
    breaking = make_s3_dataset(bucket, "breaking")

    def read(uri: str) -> dict[str, Any]:
        """Read as the registrar does, but fail on one dataset as a bug would."""
        from lookup_events.storage import read_dataset

        if uri == breaking:
            raise RuntimeError("a bug")
        return read_dataset(uri)

    registrar = Registrar(sqlite_stores.admin, sqlite_stores.datasets, reader=read)
    processor = NotificationProcessor(BatchHandler(registrar))
    event = lambda_sqs_event(aws, queue)
    with caplog.at_level(logging.INFO, logger="lambdas.registrar"):
        result = processor(event)

    broken = {r["messageId"] for r in event["Records"] if uuid_of(breaking) in uuids_in(r)}
    assert failed_ids(result) == broken
    assert "RuntimeError: a bug" in str(logged_failures(caplog))
    assert len(sqlite_stores.datasets.frozen_at_by_uri(f"s3://{bucket}")) == 1


def test_a_record_from_sqs_keeps_its_lambda_shape(aws: Aws) -> None:
    queue = aws.new_queue()
    aws.client("sqs").send_message(QueueUrl=queue, MessageBody="{}")
    (message,) = receive_all(aws, queue)

    record = lambda_record(message, aws.queue_arn(queue))

    assert record["eventSource"] == "aws:sqs"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["eventSourceARN"].startswith("arn:aws:sqs:us-east-1:")


@pytest.fixture
def registrar_environment(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Point the real entry point at moto's SSM, which names a fresh SQLite database."""
    from lambdas import registrar

    name = f"/dtool-lookup/registrar-test/{new_bucket_name()}"
    url = f"sqlite:///{tmp_path / 'lambda.db'}"
    aws.client("ssm").put_parameter(Name=name, Value=url, Type="SecureString")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    monkeypatch.setenv("DTOOL_LOOKUP_DATABASE_URL_SSM_PARAMETER", name)
    monkeypatch.setenv("DTOOL_LOOKUP_DATA_DIR", str(tmp_path / "data"))
    registrar._processor.cache_clear()
    registrar._services.cache_clear()
    yield url
    registrar._processor.cache_clear()
    registrar._services.cache_clear()


def test_the_entry_point_upgrades_on_request_registers_and_stays_warm(
    aws: Aws, bucket: str, registrar_environment: str, tmp_path: Path
) -> None:
    from lambdas import registrar

    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    test_event = lambda_sqs_event(aws, queue)
    uri = make_s3_dataset(bucket, "quinces")
    event = lambda_sqs_event(aws, queue)

    assert registrar.handler({"dtool_lookup": "db upgrade"}, None) == {"upgraded": 1}
    assert registrar.handler(test_event, None) == {"batchItemFailures": []}
    stores = open_stores(Settings(data_dir=tmp_path, database_url=registrar_environment))
    stores.admin.add_base_uri(f"s3://{bucket}")
    result = registrar.handler(event, None)

    assert result == {"batchItemFailures": []}
    assert stores.datasets.get(uri) is not None
    assert registrar._processor.cache_info().misses == 1
    assert registrar._services.cache_info().misses == 1
    stores.close()


def test_the_entry_point_never_migrates_by_itself(
    aws: Aws, bucket: str, registrar_environment: str
) -> None:
    from lambdas import registrar

    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    make_s3_dataset(bucket, "sloes")
    event = lambda_sqs_event(aws, queue)

    with pytest.raises(SetupError, match=r"no schema.*dtool-lookup db upgrade"):
        registrar.handler(event, None)


def test_an_unreachable_database_returns_the_batch_to_the_queue(
    aws: Aws, bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from lookup_events.registrar.batch import BatchHandler
    from lookup_events.registrar.writer import Registrar

    queue = aws.new_queue()
    wire_bucket(aws, bucket, queue)
    make_s3_dataset(bucket, "medlars")
    event = lambda_sqs_event(aws, queue)
    closed = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"  # nothing listens on port 9
    stores = open_stores(Settings(data_dir=tmp_path, database_url=closed).completed())
    processor = NotificationProcessor(BatchHandler(Registrar(stores.admin, stores.datasets)))

    with caplog.at_level(logging.INFO, logger="lambdas.registrar"):
        result = processor(event)

    with_events = {r["messageId"] for r in event["Records"] if "s3:TestEvent" not in r["body"]}
    assert failed_ids(result) == with_events
    for logged in logged_failures(caplog).values():
        assert {p["status"] for p in logged["problems"]} == {"retry"}
        assert "DatabaseUnavailable" in logged["problems"][0]["reason"]
    stores.close()

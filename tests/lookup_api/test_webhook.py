"""The S3 webhook: shared-secret authentication, every envelope, events on a real queue.

The end-to-end test freezes a dataset in a moto S3 bucket with dtool-s3,
posts the notification MinIO would send, and lets the registrar's worker
register it from the queue.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import dtoolcore
import pytest
from falcon import testing

from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.worker import RegistrarWorker
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores
from tests.support.aws import Aws, point_dtool_s3_at

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")

SECRET = "s3cr3t-for-the-webhook"
DATASET = "8d6c2b44-9b5e-4f6a-a2b3-6a1a3c0f4e21"


def minio_notification(bucket: str, key: str, kind: str = "dataset") -> dict[str, Any]:
    """Return the body MinIO POSTs for a PUT of ``key`` (keys come %2F-encoded)."""
    return {
        "EventName": "s3:ObjectCreated:Put",
        "Key": f"{bucket}/{key}",
        "Records": [
            {
                "eventVersion": "2.0",
                "eventSource": "minio:s3",
                "awsRegion": "",
                "eventTime": "2026-11-22T05:00:00.000Z",
                "eventName": "s3:ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": quote(key, safe=""),
                        "size": 321,
                        "eTag": "0f343b0931126a20f133d67c2b018a3b",
                        "userMetadata": {"X-Amz-Meta-Type": kind, "content-type": "text/plain"},
                        "sequencer": "17A0E1F0C1D2E3F4",
                    },
                },
            }
        ],
    }


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[EventQueue]:
    """The embedded event queue the webhook publishes to."""
    opened = EventQueue(f"sqla+sqlite:///{tmp_path / 'queue.db'}")
    yield opened
    opened.close()


def client_for(settings: Settings, stores: Stores, queue: EventQueue) -> testing.TestClient:
    return testing.TestClient(create_app(settings, stores, publisher=queue))


@pytest.fixture
def client(settings: Settings, sqlite_stores: Stores, queue: EventQueue) -> testing.TestClient:
    """An app whose webhook takes ``SECRET``."""
    settings = dataclasses.replace(settings, webhook_secret=SECRET)
    return client_for(settings, sqlite_stores, queue)


def queued(queue: EventQueue) -> list[DatasetEvent]:
    """Take every event off the queue."""
    events: list[DatasetEvent] = []
    with queue.consumer() as consumer:
        for batch in consumer.batches(idle_timeout=0.5):
            for delivery in batch:
                events.append(delivery.event)
                delivery.ack()
    return events


def post(client: testing.TestClient, body: Any, auth: str | None, path: str = "") -> Any:
    headers = {"Authorization": auth} if auth else {}
    text = body if isinstance(body, str) else json.dumps(body)
    return client.simulate_post(f"/webhook/notify{path}", body=text, headers=headers)


def test_without_a_secret_the_webhook_does_not_exist(
    settings: Settings, sqlite_stores: Stores, queue: EventQueue
) -> None:
    client = client_for(settings, sqlite_stores, queue)
    response = post(client, minio_notification("bucket", f"{DATASET}/dtool"), f"Bearer {SECRET}")
    assert response.status_code == 404
    assert response.json["code"] == 404
    assert queue.counts().ready == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "auth",
    [
        f"Bearer {SECRET}",
        SECRET,  # MinIO sends its auth_token as the whole header
        "Basic " + base64.b64encode(f"storagegrid:{SECRET}".encode()).decode(),
    ],
    ids=["bearer", "bare", "basic"],
)
def test_a_notification_with_the_secret_becomes_a_queued_event(
    client: testing.TestClient, queue: EventQueue, auth: str
) -> None:
    response = post(client, minio_notification("bucket", f"{DATASET}/dtool"), auth)

    assert response.status_code == 202
    assert response.json == {"events": 1}
    (event,) = queued(queue)
    assert (event.kind, event.uri, event.source) == ("frozen", f"s3://bucket/{DATASET}", "webhook")


@pytest.mark.parametrize(
    "auth", [None, "Bearer wrong", "wrong", "Basic !!!", f"Bearer {SECRET}x"], ids=str
)
def test_a_missing_or_wrong_secret_is_refused(
    client: testing.TestClient, queue: EventQueue, auth: str | None
) -> None:
    response = post(client, minio_notification("bucket", f"{DATASET}/dtool"), auth)
    assert response.status_code == 401
    assert response.json["message"] == "the webhook secret is missing or wrong"
    assert queue.counts().ready == 0


def test_what_is_not_a_frozen_dataset_queues_nothing(
    client: testing.TestClient, queue: EventQueue
) -> None:
    auth = f"Bearer {SECRET}"
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "bucket"}
    proto = minio_notification("bucket", f"{DATASET}/dtool", kind="protodataset")
    item = minio_notification("bucket", f"{DATASET}/data/0a1b2c")
    tag = minio_notification("bucket", f"{DATASET}/tags/dtool")
    for body in (test_event, proto, item, tag):
        response = post(client, body, auth, path="/bucket")
        assert (response.status_code, response.json) == (202, {"events": 0})
    assert queue.counts().ready == 0


@pytest.mark.slow
def test_storagegrid_form_posts_are_read(client: testing.TestClient, queue: EventQueue) -> None:
    message = json.dumps(minio_notification("grid", f"{DATASET}/dtool"))
    form = urlencode({"Action": "Publish", "Message": message, "TopicArn": "urn:sgws:sns::t"})
    response = client.simulate_post(
        "/webhook/notify/grid",
        body=form,
        headers={
            "Authorization": f"Bearer {SECRET}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 202
    assert [event.uri for event in queued(queue)] == [f"s3://grid/{DATASET}"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "notification is not JSON"),
        ('{"Records": "many"}', "Records is not a list"),
        ('{"hello": "world"}', "no Records, Message or detail"),
    ],
)
def test_an_unreadable_notification_is_refused_with_the_reason(
    client: testing.TestClient, queue: EventQueue, body: str, reason: str
) -> None:
    response = post(client, body, f"Bearer {SECRET}")
    assert response.status_code == 400
    assert reason in response.json["message"]
    assert queue.counts().ready == 0


def test_an_oversized_body_is_refused(client: testing.TestClient) -> None:
    response = post(client, "x" * (1024 * 1024 + 1), f"Bearer {SECRET}")
    assert response.status_code == 413


def test_minios_reachability_probe_is_answered(client: testing.TestClient) -> None:
    assert client.simulate_head("/webhook/notify").status_code == 200


@pytest.mark.slow
def test_a_broker_that_is_down_asks_the_sender_to_retry(
    settings: Settings, sqlite_stores: Stores
) -> None:
    down = EventQueue("amqp://guest:guest@127.0.0.1:1//")  # nothing listens there
    settings = dataclasses.replace(settings, webhook_secret=SECRET)
    client = client_for(settings, sqlite_stores, down)
    response = post(client, minio_notification("bucket", f"{DATASET}/dtool"), f"Bearer {SECRET}")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "send again later" in response.json["message"]


@pytest.fixture
def bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> str:
    """A moto bucket dtool-s3 can write to."""
    name = f"webhook-{uuid.uuid4().hex[:10]}"
    aws.client("s3").create_bucket(Bucket=name)
    point_dtool_s3_at(monkeypatch, name, aws.endpoint)
    return name


def freeze_in(bucket: str, tmp_path: Path) -> Callable[[], str]:
    item = tmp_path / "pear.txt"
    item.write_text("pear")

    def freeze() -> str:
        proto = dtoolcore.create_proto_dataset(
            "pears", f"s3://{bucket}", readme_content="fruit: pear", creator_username="grumpy"
        )
        proto.put_item(str(item), "pear.txt")
        proto.freeze()
        return str(proto.uri)

    return freeze


@pytest.mark.slow
def test_a_minio_delivery_ends_in_a_registered_dataset(
    client: testing.TestClient,
    queue: EventQueue,
    sqlite_stores: Stores,
    bucket: str,
    tmp_path: Path,
) -> None:
    uri = freeze_in(bucket, tmp_path)()
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    dataset = uri.rsplit("/", 1)[1]

    response = post(client, minio_notification(bucket, f"{dataset}/dtool"), SECRET)
    assert response.status_code == 202
    registrar = Registrar(sqlite_stores.admin, sqlite_stores.datasets)
    worker = RegistrarWorker(
        queue, BatchHandler(registrar), lambda: sqlite_stores.admin.get_base_uri("")
    )
    counts = worker.run(threading.Event(), idle_timeout=1)

    assert dict(counts) == {"registered": 1}
    record = sqlite_stores.datasets.get(uri)
    assert record is not None
    assert (record.entry.name, record.readme) == ("pears", "fruit: pear")

"""The long-running commands as real processes: registrar, watch, s3-events.

Each is started as ``python -m lookup_events.cli ...`` on the embedded queue
and SQLite, fed by real dtool datasets (on disk, or in a moto S3 bucket),
and stopped with SIGTERM, which must end it cleanly with exit code 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dtoolcore
import pytest

from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.store import Stores, open_stores
from tests.support.aws import Aws
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.datasets import make_dataset
from tests.support.processes import process_env, run_lookup, stopped_cleanly, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of every process: a data directory of the test's own."""
    return process_env(tmp_path / "data")


@pytest.fixture
def cli(tmp_path: Path) -> LookupCli:
    return LookupCli(clean_env(tmp_path / "data"))


@pytest.fixture
def stores(cli: LookupCli) -> Iterator[Stores]:
    cli.ok("db", "upgrade")
    opened = open_stores(cli.settings())
    yield opened
    opened.close()


@pytest.fixture
def base(tmp_path: Path, cli: LookupCli) -> Path:
    path = tmp_path / "base"
    path.mkdir()
    cli.ok("base-uri", "add", str(path))
    return path


def test_the_registrar_rescans_at_start_and_on_its_interval_and_consumes_events(
    tmp_path: Path, env: dict[str, str], cli: LookupCli, stores: Stores, base: Path
) -> None:
    before = make_dataset(base, "before-start")  # no event: only the first rescan sees it
    env = {**env, "DTOOL_LOOKUP_RESCAN_INTERVAL": "1"}
    with run_lookup(["registrar"], env, tmp_path) as registrar:
        assert wait_until(lambda: stores.datasets.get(before) is not None, 30), registrar.log()
        quiet = make_dataset(base, "no-event")  # found by the next rescan
        assert wait_until(lambda: stores.datasets.get(quiet) is not None, 30), registrar.log()
        announced = make_dataset(base, "announced")
        with EventQueue(cli.settings().broker_url) as queue:
            queue.publish(DatasetEvent.create("frozen", announced, "watch"))
        assert wait_until(lambda: stores.datasets.get(announced) is not None, 30)
        stopped_cleanly(registrar)
    assert "registrar stopped: {'registered':" in registrar.log()


def test_the_watcher_publishes_freezes_for_the_registrar(
    tmp_path: Path, env: dict[str, str], stores: Stores, base: Path
) -> None:
    with (
        run_lookup(["registrar", "--no-rescan"], env, tmp_path) as registrar,
        run_lookup(["watch", str(base)], env, tmp_path) as watcher,
    ):
        assert wait_until(lambda: "(events)" in watcher.log(), 30), watcher.log()
        uri = make_dataset(base, "fresh", tags=["ripe"])
        assert wait_until(lambda: stores.datasets.get(uri) is not None, 30), watcher.log()
        record = stores.datasets.get(uri)
        assert record is not None and record.entry.tags == ("ripe",)
        stopped_cleanly(watcher)
        stopped_cleanly(registrar)
    assert f"published frozen event for {uri}" in watcher.log()


@dataclass
class NotifiedBucket:
    """A moto bucket notifying an SQS queue, and the settings reaching both."""

    name: str
    queue_url: str
    sqs: Any
    env: dict[str, str]


@pytest.fixture
def bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> NotifiedBucket:
    """A moto bucket that notifies an SQS queue of every object written."""
    s3, sqs = aws.client("s3"), aws.client("sqs")
    name = f"events-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    configuration = {"QueueArn": arn["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
    s3.put_bucket_notification_configuration(
        Bucket=name, NotificationConfiguration={"QueueConfigurations": [configuration]}
    )
    env = {
        f"DTOOL_S3_ENDPOINT_{name}": aws.endpoint,
        f"DTOOL_S3_ACCESS_KEY_ID_{name}": "testing",
        f"DTOOL_S3_SECRET_ACCESS_KEY_{name}": "testing",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # for dtool-s3 in this process too
    env.update(
        AWS_ENDPOINT_URL_SQS=aws.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        DTOOL_LOOKUP_S3_QUEUE_URL=url,
    )
    return NotifiedBucket(name, url, sqs, env)


def test_s3_events_turns_bucket_notifications_into_queued_events(
    tmp_path: Path, env: dict[str, str], cli: LookupCli, bucket: NotifiedBucket
) -> None:
    proto = dtoolcore.create_proto_dataset("plums", f"s3://{bucket.name}", readme_content="plums")
    proto.freeze()
    bucket.sqs.send_message(QueueUrl=bucket.queue_url, MessageBody="not a notification")
    process = run_lookup(["s3-events", "--wait-seconds", "1"], {**env, **bucket.env}, tmp_path)
    with process, EventQueue(cli.settings().broker_url) as queue:
        assert wait_until(lambda: queue.counts().ready >= 1, 30), process.log()
        assert wait_until(lambda: queue.counts().dead == 1, 10), process.log()
        stopped_cleanly(process)
        events = taken(queue)
        (letter,) = queue.dead_letters()
    assert [(event.kind, event.uri, event.source) for event in events] == [
        ("frozen", str(proto.uri), "sqs")
    ]  # the proto write was dropped: a HEAD showed the object frozen since
    assert letter.body == "not a notification"
    assert letter.reason.startswith("unreadable S3 notification: notification is not JSON")
    remaining = bucket.sqs.get_queue_attributes(
        QueueUrl=bucket.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert remaining["Attributes"]["ApproximateNumberOfMessages"] == "0"


def taken(queue: EventQueue) -> list[DatasetEvent]:
    """Take every event off the queue."""
    events: list[DatasetEvent] = []
    with queue.consumer() as consumer:
        for batch in consumer.batches(idle_timeout=0.5):
            for delivery in batch:
                events.append(delivery.event)
                delivery.ack()
    return events


def test_s3_events_needs_a_queue(cli: LookupCli) -> None:
    result = cli("s3-events")
    assert result.exit_code == 1
    assert "DTOOL_LOOKUP_S3_QUEUE_URL" in result.stderr

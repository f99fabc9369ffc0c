"""The S3 side of the registration benchmark: a moto server and a notifying bucket."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

from tests.support.processes import wait_until


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto_server on a free port; yield its endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = lambda: _listening(port)  # noqa: E731
        if not wait_until(ready, 30):
            raise RuntimeError("moto_server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def notified_bucket(endpoint: str) -> tuple[str, str, dict[str, str]]:
    """Create a bucket notifying SQS of writes to ``*/dtool``; return it, the queue, the env."""
    options = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3, sqs = (boto3.client(name, **options, **keys) for name in ("s3", "sqs"))
    bucket = f"bench-{secrets.token_hex(5)}"
    s3.create_bucket(Bucket=bucket)
    url = sqs.create_queue(QueueName=bucket)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    suffix = {"Key": {"FilterRules": [{"Name": "suffix", "Value": "/dtool"}]}}
    rule = {"QueueArn": arn["QueueArn"], "Events": ["s3:ObjectCreated:*"], "Filter": suffix}
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [rule]}
    )
    env = {
        f"DTOOL_S3_ENDPOINT_{bucket}": endpoint,
        f"DTOOL_S3_ACCESS_KEY_ID_{bucket}": "testing",
        f"DTOOL_S3_SECRET_ACCESS_KEY_{bucket}": "testing",
    }
    return bucket, url, env

"""A small AWS on a moto server: buckets wired to queues, and Lambda's SQS event shape.

``Aws`` holds boto3 clients for one moto server. ``wire_bucket`` sets up a
bucket's notifications as the SAM template does (suffix ``/dtool``, created
and removed), delivered to SQS directly, through SNS or through EventBridge.
``lambda_sqs_event`` receives what is in a queue and wraps it exactly as the
Lambda SQS integration does.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import dtoolcore

from tests.support.datasets import fill

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_SUFFIX_FILTER = {"Key": {"FilterRules": [{"Name": "suffix", "Value": "/dtool"}]}}
_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]


@dataclass
class Aws:
    """boto3 clients for one moto server."""

    endpoint: str

    def client(self, service: str) -> Any:
        """Return a client for ``service`` on the moto server."""
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **CREDENTIALS)

    def new_queue(self, prefix: str = "notifications") -> str:
        """Create a uniquely named queue; return its URL."""
        name = f"{prefix}-{secrets.token_hex(4)}"
        return str(self.client("sqs").create_queue(QueueName=name)["QueueUrl"])

    def queue_arn(self, queue_url: str) -> str:
        """Return the ARN of the queue at ``queue_url``."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )
        return str(attributes["Attributes"]["QueueArn"])


def new_bucket_name() -> str:
    """Return a fresh bucket name (with a hyphen, as real bucket names have)."""
    return f"dtool-{secrets.token_hex(5)}"


def wire_bucket(aws: Aws, bucket: str, queue_url: str, via: str = "sqs") -> None:
    """Send the bucket's ``/dtool`` notifications to the queue: ``via`` sqs, sns or eventbridge."""
    s3 = aws.client("s3")
    queue_arn = aws.queue_arn(queue_url)
    config: dict[str, Any]
    if via == "sqs":
        config = {"QueueConfigurations": [_target("QueueArn", queue_arn)]}
    elif via == "sns":
        sns = aws.client("sns")
        topic = sns.create_topic(Name=f"{bucket}-events")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        config = {"TopicConfigurations": [_target("TopicArn", topic)]}
    elif via == "eventbridge":
        _route_eventbridge(aws, bucket, queue_arn)
        config = {"EventBridgeConfiguration": {}}
    else:
        raise ValueError(via)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)


def _target(key: str, arn: str) -> dict[str, Any]:
    return {key: arn, "Events": _EVENTS, "Filter": _SUFFIX_FILTER}


def _route_eventbridge(aws: Aws, bucket: str, queue_arn: str) -> None:
    events = aws.client("events")
    rule = f"{bucket}-objects"
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": [bucket]}},
    }
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": queue_arn}])


def receive_all(aws: Aws, queue_url: str) -> list[dict[str, Any]]:
    """Receive every message now in the queue (they stay in flight, not deleted)."""
    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=300,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        batch = response.get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


def lambda_sqs_event(aws: Aws, queue_url: str) -> dict[str, Any]:
    """Receive the queue's messages and wrap them as Lambda's SQS integration does."""
    arn = aws.queue_arn(queue_url)
    return {"Records": [lambda_record(message, arn) for message in receive_all(aws, queue_url)]}


def lambda_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """Return one SQS message as a record of a Lambda SQS event."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": dict(message.get("MessageAttributes", {})),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def point_dtool_s3_at(monkeypatch: Any, bucket: str, endpoint: str) -> None:
    """Make dtool-s3 reach ``bucket`` at ``endpoint`` (its per-bucket settings)."""
    monkeypatch.setenv(f"DTOOL_S3_ENDPOINT_{bucket}", endpoint)
    monkeypatch.setenv(f"DTOOL_S3_ACCESS_KEY_ID_{bucket}", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv(
        f"DTOOL_S3_SECRET_ACCESS_KEY_{bucket}", CREDENTIALS["aws_secret_access_key"]
    )


def make_s3_dataset(
    bucket: str,
    name: str,
    *,
    items: Mapping[str, bytes] | None = None,
    tags: tuple[str, ...] = (),
    freeze: bool = True,
) -> str:
    """Write a dataset into ``s3://bucket`` with dtool-s3; return its URI."""
    proto = dtoolcore.create_proto_dataset(
        name, f"s3://{bucket}", readme_content=f"---\nproject: {name}\n", creator_username="ann"
    )
    fill(proto, items, tags, freeze=freeze)
    return str(proto.uri)


def uuids_in(record: Mapping[str, Any]) -> set[str]:
    """Return the dataset UUIDs a Lambda SQS record's notification names."""
    from lookup_events.sources.s3 import admin_changes

    return {change.uuid for change in admin_changes(record["body"])}

"""Fixtures for the write side: a real moto server standing in for AWS."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

MOTO_REGION = "us-east-1"
MOTO_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Run one moto server (S3, SQS, SNS, EventBridge) on a free loopback port."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_client(moto_endpoint: str) -> Callable[[str], Any]:
    """Return a factory of boto3 clients talking to the moto server."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=moto_endpoint, region_name=MOTO_REGION, **MOTO_CREDENTIALS
        )

    return client

"""RabbitMQ for tests and the registration benchmark: the server's URL, a virtual host per test."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from urllib.parse import urlsplit

import pytest

from tests.support.servers import require_service

AMQP_URL = os.environ.get("DTOOL_LOOKUP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def require_rabbitmqctl() -> None:
    """Skip (fail under CI=true) when RabbitMQ or its control command is missing."""
    parts = urlsplit(AMQP_URL)
    require_service("RabbitMQ", parts.hostname or "127.0.0.1", parts.port or 5672)
    if shutil.which("rabbitmqctl") is None:
        reason = "rabbitmqctl is not on PATH"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    """Run ``rabbitmqctl ARGS``; return its output (raise on failure)."""
    done = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    return done.stdout


class RabbitVhost:
    """A fresh RabbitMQ virtual host for one test or run, deleted afterwards."""

    def __init__(self, server_url: str = AMQP_URL) -> None:
        self.name = f"dtool-lookup-test-{secrets.token_hex(4)}"
        parts = urlsplit(server_url)
        self.url = f"{parts.scheme}://{parts.netloc}/{self.name}"

    def __enter__(self) -> RabbitVhost:
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self

    def __exit__(self, *exc_info: object) -> None:
        # NOTE(dev): under load rabbitmqctl now and then fails (exit 64) on a vhost it
        # deletes a second later; a benchmark of many vhosts should not die of it.
        for attempt in range(3):
            try:
                rabbitmqctl("delete_vhost", self.name)
                return
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                time.sleep(1.0)

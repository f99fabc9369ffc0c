"""RabbitMQ for tests and the registration benchmark: the server's URL, a virtual host per test.

The test files run in several processes (pytest-xdist), and one test stops
the broker's application (``tests/test_outages.py``). Every user of the broker
holds a shared lock on a file beside the system's temporary files
(``broker_in_use``: each ``RabbitVhost`` does); a test that stops the broker
holds it exclusively (``broker_to_stop``), so it waits until no other test
uses the broker and no other test starts using it until the broker is back.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.servers import require_service

AMQP_URL = os.environ.get("DTOOL_LOOKUP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _lock_file() -> Path:
    port = urlsplit(AMQP_URL).port or 5672
    return Path(tempfile.gettempdir()) / f"dtool-lookup-test-rabbitmq-{port}.lock"


@contextmanager
def _locked(mode: int) -> Iterator[None]:
    with _lock_file().open("a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def broker_in_use() -> Iterator[None]:
    """Use RabbitMQ: a test that stops it waits until this returns."""
    with _locked(fcntl.LOCK_SH):
        yield


@contextmanager
def broker_to_stop() -> Iterator[None]:
    """Stop RabbitMQ safely: wait until no other test uses it, keep them waiting."""
    with _locked(fcntl.LOCK_EX):
        yield


def require_rabbitmqctl() -> None:
    """Skip (fail under CI=true) when RabbitMQ or its control command is missing.

    The port is tried under the shared lock: while another process's test has
    stopped the broker (holding the lock exclusively), this waits until the
    broker is back instead of finding its port closed.
    """
    parts = urlsplit(AMQP_URL)
    with broker_in_use():
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
    """A fresh RabbitMQ virtual host for one test or run, deleted afterwards.

    It holds the broker (``broker_in_use``) while it exists, unless ``hold``
    is false (a test that stops the broker holds it exclusively instead).
    """

    def __init__(self, server_url: str = AMQP_URL, hold: bool = True) -> None:
        self.name = f"dtool-lookup-test-{secrets.token_hex(4)}"
        parts = urlsplit(server_url)
        self.url = f"{parts.scheme}://{parts.netloc}/{self.name}"
        self._hold = hold
        self._held = ExitStack()

    def __enter__(self) -> RabbitVhost:
        if self._hold:
            self._held.enter_context(broker_in_use())
        try:
            rabbitmqctl("add_vhost", self.name)
            rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        except BaseException:
            self._held.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._held:
            self._delete()

    def _delete(self) -> None:
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

"""The local servers the tests need: a test that finds one down is skipped, or fails under CI."""

from __future__ import annotations

import os
import socket

import pytest


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test when ``host:port`` is closed (fail under ``CI=true``)."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as ex:
        reason = f"{name} is not reachable on {host}:{port} ({ex})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)

"""A real HTTP receiver of webhook notifications, on a loopback port in a thread.

It records every request (path, headers, body, arrival time) and answers
with the statuses it is told to, in turn (then 200), so tests can make a
target fail, redirect or hang, and read what arrived in order.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


class Receiver:
    """What the running server recorded, and the answers it will give."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[Received] = []
        self.answers: list[int] = []
        self.delay = 0.0
        self.arrived = threading.Condition()

    @property
    def url(self) -> str:
        """The URL notifications should be POSTed to."""
        return f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` requests arrived; return them all."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def record(self, request: Received) -> int:
        """Keep a request; return the status to answer it with."""
        with self.arrived:
            self.received.append(request)
            self.arrived.notify_all()
            return self.answers.pop(0) if self.answers else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.record(Received(self.path, headers, body, time.time()))
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """Run a receiver on a free loopback port until the block ends."""
    receiver = Receiver(0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

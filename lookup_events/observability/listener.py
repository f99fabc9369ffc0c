"""A small HTTP listener for a process without an API: metrics and health.

A registrar, watcher or S3 consumer running alone serves ``/metrics``
(Prometheus text), ``/health`` (it is alive: 200) and ``/ready`` (its
checks: 200, or 503 naming what is unreachable) on the address
``DTOOL_LOOKUP_METRICS_ADDRESS`` names, loopback by default. It runs on a
daemon thread and never stops its process: an address in use is logged and
the process goes on without it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lookup_events.errors import SetupError
from lookup_events.observability import metrics

log = logging.getLogger(__name__)

#: A readiness check: returns if its component answers, raises otherwise.
Check = Callable[[], object]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]

OFF = "off"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing: scrapes every few seconds are not news."""


def parse_address(address: str) -> tuple[str, int] | None:
    """Return (host, port) of ``host:port`` (``[v6]:port``), or None for ``off``.

    Raises:
        ValueError: not an address.
    """
    if address.strip().lower() in {OFF, ""}:
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"metrics address {address!r} is not host:port (or off)")
    return host.strip("[]"), int(port)


def readiness(checks: Mapping[str, Check]) -> dict[str, str]:
    """Run every check; return name -> ``ok`` or ``unavailable``."""
    found = {}
    for name, check in checks.items():
        try:
            check()
            found[name] = "ok"
        except Exception as ex:
            log.warning("readiness: %s unavailable: %s", name, ex)
            found[name] = "unavailable"
    return found


class ListenerApp:
    """The WSGI app the listener serves."""

    def __init__(
        self,
        role: str,
        checks: Mapping[str, Check],
        queue_counts: metrics.QueueCounter | None = None,
    ) -> None:
        self.role = role
        self.checks = dict(checks)
        self.queue_counts = queue_counts

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer /metrics, /health and /ready; 404 anything else."""
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return _reply(
                start_response,
                "200 OK",
                metrics.exposition(self.queue_counts),
                metrics.CONTENT_TYPE,
            )
        if path == "/health":
            return _json(start_response, "200 OK", {"status": "ok", "role": self.role})
        if path == "/ready":
            found = readiness(self.checks)
            ready = all(value == "ok" for value in found.values())
            status = "200 OK" if ready else "503 Service Unavailable"
            body = {"status": "ready" if ready else "unavailable", "checks": found}
            return _json(start_response, status, body)
        return _json(start_response, "404 Not Found", {"message": f"no such path: {path}"})


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    return _reply(start_response, status, json.dumps(body).encode(), "application/json")


def _reply(start_response: StartResponse, status: str, data: bytes, kind: str) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(data)))])
    return [data]


@contextmanager
def listening(address: str, app: ListenerApp) -> Iterator[tuple[str, int] | None]:
    """Serve ``app`` on ``address`` in the block; yield the bound address (None: not serving).

    Raises:
        SetupError: ``address`` is not ``host:port`` or ``off``.
    """
    try:
        where = parse_address(address)
    except ValueError as ex:  # a setting or option: the process cannot start as asked
        raise SetupError(f"{ex} (DTOOL_LOOKUP_METRICS_ADDRESS, --metrics-address)") from ex
    if where is None:
        yield None
        return
    try:
        kind = _Server6 if ":" in where[0] else _Server
        server = make_server(*where, app, server_class=kind, handler_class=_QuietHandler)
    except OSError as ex:
        log.warning("no metrics listener on %s: %s", address, ex)
        yield None
        return
    thread = threading.Thread(target=server.serve_forever, name="metrics-listener", daemon=True)
    thread.start()
    bound = server.server_address[:2]
    log.info("metrics and health on http://%s:%d/metrics", bound[0], bound[1])
    try:
        yield (str(bound[0]), int(bound[1]))
    finally:
        server.shutdown()
        server.server_close()

"""What operators ask the API: its metrics, its readiness, and a request id.

``Telemetry`` is the outermost middleware: it keeps or makes each
request's ``X-Request-ID`` (returned on the reply and bound to every log
line of the request), counts the request by route template, method and
status with its latency, and writes one access line (unless
``DTOOL_LOOKUP_ACCESS_LOG`` is off, or the ``lookup_api.access`` logger is
quieter than INFO).

The access line is on every request's path, so it is built cheaply: the
parts a client chose (method, path, request id) are redacted here, so the
line is not scanned for secret-looking patterns again (configured secrets
are still masked), and while logging is as the server configured it the line
is written straight to its handler's stream (``logs.write_prechecked``).

``/metrics`` serves the figures of every process sharing the metrics
directory, but only to whom ``DTOOL_LOOKUP_API_METRICS`` allows;
``/config/ready`` checks the database and the queue (``/config/health``
stays the cheap liveness check).
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import falcon

from lookup_api.access import Access
from lookup_api.errors import APIError
from lookup_events.observability import listener, logs, metrics
from lookup_events.processes import current_pid

access_log = logging.getLogger("lookup_api.access")

REQUEST_ID = "X-Request-ID"
# A client's or proxy's id is kept when it is a plain token (no spaces, no
# control characters to forge log lines with); anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# Headers a proxy adds: a request carrying one did not come from this host.
_FORWARDING = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


class RequestIds:
    """Unique request ids, cheaply: 16 random hex digits a process, then a counter.

    32 hex digits, like a ``uuid4().hex``, at a fraction of its cost (no
    system call and no UUID object per request). A forked child draws a new
    prefix on its first id, so workers forked from one master never share one.
    """

    def __init__(self, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self._random_bytes = random_bytes
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count()

    def __call__(self) -> str:
        """Return a new request id."""
        pid = current_pid()
        if pid != self._pid:
            self._prefix, self._counter = self._random_bytes(8).hex(), itertools.count()
            self._pid = pid
        return f"{self._prefix}{next(self._counter):016x}"


class Telemetry:
    """Middleware: request ids, request metrics and access lines."""

    def __init__(
        self,
        clock: Callable[[], float] = time.perf_counter,
        new_id: Callable[[], str] | None = None,
        *,
        access_lines: bool = True,
    ) -> None:
        self._clock = clock
        self._new_id = new_id or RequestIds()
        self._access_lines = access_lines

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Start the clock; keep the caller's request id or make one."""
        given = req.get_header(REQUEST_ID)
        request_id = given if given and _acceptable_id(given) else self._new_id()
        context = req.context
        context.request_id = request_id
        context.started = self._clock()
        context.log_binding = logs.bind(request_id=request_id)
        resp.set_header(REQUEST_ID, request_id)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, _resource: object, _ok: bool
    ) -> None:
        """Count the request, write its access line, unbind its log fields."""
        started = req.context.get("started")
        if started is None:  # an earlier middleware refused before ours ran
            return
        seconds = self._clock() - started
        route = req.uri_template or "unmatched"
        status = resp.status_code
        metrics.observe_request(route, req.method, status, seconds)
        if self._access_lines and access_log.isEnabledFor(logging.INFO):
            write_access_line(req.method, req.path, route, status, seconds)
        logs.unbind(req.context.log_binding)


def write_access_line(method: str, path: str, route: str, status: int, seconds: float) -> None:
    """Log one request: method, path, route template, status and duration.

    The request id and the user come from the request's log context.
    """
    if method not in metrics.METHODS:
        method = logs.redact(method)
    path = logs.redact(path)
    fields = {
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
    }
    message = f"{method} {path} {status} {seconds * 1000:.1f} ms"
    logs.write_prechecked(access_log, logging.INFO, message, fields)


def _acceptable_id(given: str) -> bool:
    """Tell whether a client's request id may be kept: a plain token that looks like no secret."""
    return _REQUEST_ID.fullmatch(given) is not None and logs.redact(given) == given


def is_local(req: falcon.Request) -> bool:
    """Tell whether the request came from this host, with no proxy in between."""
    if any(req.get_header(name) for name in _FORWARDING):
        return False
    try:
        return ipaddress.ip_address(req.remote_addr).is_loopback
    except ValueError:
        return False


class MetricsResource:
    """``GET /metrics``: Prometheus text, to whom ``DTOOL_LOOKUP_API_METRICS`` allows."""

    def __init__(
        self,
        access: Access,
        policy: str,
        queue_counts: metrics.QueueCounter | None = None,
    ) -> None:
        self._access = access
        self._policy = policy
        self._queue_counts = queue_counts

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return every metric, after checking who asks."""
        self._allow(req)
        resp.content_type = metrics.CONTENT_TYPE
        resp.data = metrics.exposition(self._queue_counts)

    def _allow(self, req: falcon.Request) -> None:
        if self._policy == "off":
            raise APIError(404, message="metrics are off here (DTOOL_LOOKUP_API_METRICS=off)")
        if self._policy == "public":
            return
        token = req.get_header("Authorization")
        # NOTE(dev): a request that presents a token is judged by it, from anywhere.
        if self._policy == "loopback" and is_local(req) and not token:
            return
        if self._policy == "loopback" and not token:
            raise APIError(
                403, message="metrics are served to this host, or to a request with an admin token"
            )
        self._access.admin(req)


class ReadinessResource:
    """``GET /config/ready``: 200 when the database and the queue answer, else 503 naming them."""

    def __init__(self, checks: Mapping[str, listener.Check]) -> None:
        self._checks = dict(checks)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Run every check; say which failed."""
        found = listener.readiness(self._checks)
        failed = [name for name, state in found.items() if state != "ok"]
        if failed:
            raise APIError(
                503, message=f"not ready: {', '.join(failed)} unavailable", errors=found
            )
        resp.media = {"status": "ready", "checks": found}


def routes(
    access: Access,
    policy: str,
    checks: Mapping[str, listener.Check],
    queue_counts: metrics.QueueCounter | None,
) -> list[tuple[str, Any]]:
    """Return the monitoring routes: ``/metrics`` and ``/config/ready``."""
    return [
        ("/metrics", MetricsResource(access, policy, queue_counts)),
        ("/config/ready", ReadinessResource(checks)),
    ]

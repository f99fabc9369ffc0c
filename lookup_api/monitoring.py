"""What operators ask the API: its metrics, its readiness, and a request id.

``Telemetry`` is the outermost middleware: it keeps or makes each
request's ``X-Request-ID`` (returned on the reply and bound to every log
line of the request), counts the request by route template, method and
status with its latency, and writes one access line. ``/metrics`` serves
the figures of every process sharing the metrics directory, but only to
whom ``DTOOL_LOOKUP_API_METRICS`` allows; ``/config/ready`` checks the
database and the queue (``/config/health`` stays the cheap liveness check).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import falcon

from lookup_api.access import Access
from lookup_api.errors import APIError
from lookup_events.observability import listener, logs, metrics

access_log = logging.getLogger("lookup_api.access")

REQUEST_ID = "X-Request-ID"
# A client's or proxy's id is kept when it is a plain token (no spaces, no
# control characters to forge log lines with); anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# Headers a proxy adds: a request carrying one did not come from this host.
_FORWARDING = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


class Telemetry:
    """Middleware: request ids, request metrics and access lines."""

    def __init__(
        self,
        clock: Callable[[], float] = time.perf_counter,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._clock = clock
        self._new_id = new_id

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Start the clock; keep the caller's request id or make one."""
        given = req.get_header(REQUEST_ID) or ""
        request_id = given if _REQUEST_ID.fullmatch(given) else self._new_id()
        req.context.request_id = request_id
        req.context.started = self._clock()
        req.context.log_binding = logs.bind(request_id=request_id)
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
        access_log.info(
            "%s %s %d %.1f ms",
            req.method,
            req.path,
            status,
            seconds * 1000,
            extra={
                "method": req.method,
                "route": route,
                "path": req.path,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            },
        )
        logs.unbind(req.context.log_binding)


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

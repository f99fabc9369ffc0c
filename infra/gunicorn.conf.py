"""gunicorn settings for the dtool-lookup API.

Run: ``gunicorn lookup_api.wsgi:app -c infra/gunicorn.conf.py``. It binds to
``DTOOL_LOOKUP_HOST``:``DTOOL_LOOKUP_PORT`` (127.0.0.1:5000), as ``dtool-lookup
serve`` does; command-line options and ``GUNICORN_CMD_ARGS`` override anything
here. The app itself is configured by the ``DTOOL_LOOKUP_*`` / ``JWT_*``
environment variables (see the README).

Choices:
- sync workers: every request is short and spends its time in the database
  (PostgreSQL releases the GIL, SQLite serialises writers anyway); put a
  buffering proxy (nginx) in front for slow clients and TLS.
- 2 x cores + 1 workers, ``WEB_CONCURRENCY`` overrides; each holds its own
  connection pool, so size PostgreSQL's ``max_connections`` accordingly.
- no ``preload_app``: every worker opens its own database connections, none
  are shared across ``fork``. The master prepares the deployment once in
  ``on_starting``, by the policy of ``lookup_events/services.py``: an embedded
  deployment (SQLite) is migrated and gets its key pair there; a server
  database must already be at the newest schema (``dtool-lookup db upgrade``)
  and a public key configured, or the master stops with the reason before
  any worker starts.
- metrics add up across workers: prometheus-client's multi-process mode, in
  ``PROMETHEUS_MULTIPROC_DIR`` (a new temporary directory unless set),
  emptied when the master starts; ``child_exit`` drops a dead worker's live
  files. Any worker's ``/metrics`` serves the sum.
- access lines come from the app (``lookup_api/monitoring.py``: request id,
  route, status, duration, user; JSON with ``DTOOL_LOOKUP_LOG_FORMAT=json``),
  so gunicorn's own access log is off.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from typing import Any

from lookup_events.config import Settings
from lookup_events.observability import metrics
from lookup_events.services import Services

_settings = Settings.from_env()
# Set before any worker is forked: each counts into files of its own here.
metrics.use_directory(
    _settings.metrics_dir or tempfile.mkdtemp(prefix="dtool-lookup-metrics-"), clear=True
)
bind = f"{_settings.host}:{_settings.port}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
proc_name = "dtool-lookup-api"

# A request doing more than this is stuck (the slowest, a 100-item page, takes
# milliseconds); the worker is replaced rather than the client kept waiting.
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, staggered, to bound any slow growth in memory.
max_requests = 10000
max_requests_jitter = 1000
# Heartbeat files in memory: a busy or container disk never stalls a worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# X-Forwarded-* is trusted from a proxy on this host only (gunicorn's default;
# FORWARDED_ALLOW_IPS widens it).

# Search bodies are small JSON documents; registration bodies carry manifests.
limit_request_line = 8190
limit_request_fields = 100

accesslog = None
errorlog = "-"
loglevel = "info"


def on_starting(server: Any) -> None:
    """Prepare the deployment once, in the master, before any worker starts.

    A ``SetupError`` (a RuntimeError) stops gunicorn with its message.
    """
    services = Services.from_env()
    try:
        services.ensure_schema()
        services.api_settings()
    finally:
        services.close()
    server.log.info("database ready: %s", services.settings.public_view()["database_url"])


def child_exit(server: Any, worker: Any) -> None:
    """Drop the live metrics of a worker that exited (its counters stay summed)."""
    metrics.mark_process_dead(worker.pid)

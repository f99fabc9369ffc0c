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
  are shared across ``fork``. The master prepares what must happen once
  (schema migration, the embedded key pair) in ``on_starting``, so workers
  starting together never race to create them.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from lookup_events.config import Settings
from lookup_events.keys import with_embedded_keys
from lookup_events.store import upgrade_database

_settings = Settings.from_env()
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

accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


def on_starting(server: Any) -> None:
    """Migrate the database and create the embedded keys once, before any worker."""
    settings = with_embedded_keys(Settings.from_env())
    upgrade_database(settings.database_url)
    dataset_url = settings.dataset_store_url
    if dataset_url not in ("", settings.database_url) and not dataset_url.startswith("mongodb"):
        upgrade_database(dataset_url)
    server.log.info("database ready: %s", settings.public_view()["database_url"])

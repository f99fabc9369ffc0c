"""Scale-out: two registrars and two API workers on one queue and one database.

Real processes: two ``dtool-lookup registrar`` consumers on one RabbitMQ
virtual host (one rescans at start, the other runs with ``--no-rescan``, as
docs/scale-out.md advises) and gunicorn with two sync workers and
``infra/gunicorn.conf.py``, all on one PostgreSQL database. A burst of
freeze events for real datasets must be shared between the registrars with
every dataset registered exactly once, and both API workers must answer
searches that find the whole burst. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import ast
import collections
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from lookup_events.keys import embedded_key_pair
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.publisher import Publisher
from lookup_events.queue.topology import QueueCounts
from lookup_events.tokens import issue_token
from tests.bench.server import child_pids, free_port, stop, wait_until_ready
from tests.support.checks import count, frozen, open_test_stores, registered, started
from tests.support.datasets import DatasetFactory
from tests.support.processes import REPO, LookupProcess, process_env, wait_until
from tests.support.rabbitmq import RabbitVhost

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq, pytest.mark.postgres]

BURST = 500
PAGE_SIZE = 100
CLIENTS = 8
PASSES_PER_CLIENT = 3
CONFIG = REPO / "infra" / "gunicorn.conf.py"
# gunicorn's access log: the worker's pid, then the request line and status.
ACCESS_FORMAT = '%(p)s "%(r)s" %(s)s'
ACCESS_LINE = re.compile(r'^<(?P<pid>\d+)> "\S+ (?P<path>\S+) [^"]*" (?P<status>\d{3})$')


@dataclass(frozen=True)
class ApiWorkers:
    """A gunicorn master serving the API, and its access log."""

    url: str
    master_pid: int
    access_log: Path

    def statuses_by_pid(self, path: str) -> dict[int, list[int]]:
        """Return the statuses of each worker's answers to requests for ``path``."""
        served: dict[int, list[int]] = collections.defaultdict(list)
        for line in self.access_log.read_text().splitlines():
            match = ACCESS_LINE.match(line)
            if match is not None and match["path"].split("?")[0] == path:
                served[int(match["pid"])].append(int(match["status"]))
        return dict(served)


@contextmanager
def api_workers(env: dict[str, str], workers: int, log_dir: Path) -> Iterator[ApiWorkers]:
    """Run the API under gunicorn with ``workers`` sync workers until the block ends."""
    port = free_port()
    access_log, error_log = log_dir / "access.log", log_dir / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "lookup_api.wsgi:app", "-c", str(CONFIG),
        f"--workers={workers}", f"--bind=127.0.0.1:{port}", f"--error-logfile={error_log}",
        f"--access-logfile={access_log}", f"--access-logformat={ACCESS_FORMAT}",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, env=env)
    try:
        wait_until_ready(port, process, error_log)
        assert wait_until(lambda: len(child_pids(process.pid)) == workers, 30)
        yield ApiWorkers(f"http://127.0.0.1:{port}", process.pid, access_log)
    finally:
        stop(process)


def search(url: str, token: str, body: dict[str, object], page: int) -> tuple[list[str], int]:
    """POST ``/dataset/search`` for one page; return its URIs and the total."""
    request = urllib.request.Request(
        f"{url}/dataset/search?page={page}&page_size={PAGE_SIZE}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        total = json.loads(response.headers["X-Pagination"])["total"]
        return [entry["uri"] for entry in json.loads(response.read())], int(total)


def search_all(url: str, token: str, body: dict[str, object]) -> list[str]:
    """Return the URIs of every page of a search, page by page."""
    uris, total = search(url, token, body, 1)
    for page in range(2, -(-total // PAGE_SIZE) + 1):
        uris += search(url, token, body, page)[0]
    return uris


def search_from_clients(url: str, token: str, body: dict[str, object]) -> list[list[str]]:
    """Run whole paged searches from ``CLIENTS`` concurrent clients; return each result."""
    with ThreadPoolExecutor(CLIENTS) as pool:
        runs = range(CLIENTS * PASSES_PER_CLIENT)
        return list(pool.map(lambda _: search_all(url, token, body), runs))


def stopped_counts(registrar: LookupProcess) -> dict[str, int]:
    """Return what a stopped registrar says it did (``registrar stopped: {...}``)."""
    line = registrar.log().rsplit("registrar stopped: ", 1)[1].splitlines()[0]
    return {} if line == "no events" else dict(ast.literal_eval(line))


def rescanned(registrar: LookupProcess) -> bool:
    """Tell whether a registrar has finished its rescan at start."""
    return "rescan: RescanCounts(" in registrar.log()


def test_two_registrars_share_a_burst_and_two_api_workers_serve_it(
    tmp_path: Path, postgres_url_migrated: str, rabbit: RabbitVhost, factory: DatasetFactory
) -> None:
    stores = open_test_stores(postgres_url_migrated, tmp_path)
    stores.admin.add_base_uri(factory.base_uri)
    stores.admin.add_user("ann")
    stores.admin.set_permissions(factory.base_uri, search=["ann"], register=[])
    data_dir = tmp_path / "data"
    keys = embedded_key_pair(tmp_path / "keys")  # a server deployment is given its keys
    env = process_env(
        data_dir,
        DTOOL_LOOKUP_DATABASE_URL=postgres_url_migrated,
        DTOOL_LOOKUP_BROKER_URL=rabbit.url,
        JWT_PUBLIC_KEY_FILE=str(keys.public_path),
    )
    registrars = [
        LookupProcess(["registrar"], env, tmp_path / "registrar-a.log"),
        LookupProcess(["registrar", "--no-rescan"], env, tmp_path / "registrar-b.log"),
    ]
    queue = EventQueue(rabbit.url)
    with registrars[0], registrars[1], api_workers(env, 2, tmp_path) as api:
        assert wait_until(lambda: all(map(started, registrars)), 30), [
            registrar.log() for registrar in registrars
        ]
        # The rescan at start must be over: datasets it found would be registered twice.
        assert wait_until(lambda: rescanned(registrars[0]), 30), registrars[0].log()
        uris = [factory.freeze(f"ds-{number:04d}") for number in range(BURST)]

        start = time.perf_counter()
        Publisher(queue, patience=30).publish_many([frozen(uri) for uri in uris])
        published = time.perf_counter() - start
        assert wait_until(lambda: count(stores, factory.base_uri) == BURST, 60), count(
            stores, factory.base_uri
        )
        elapsed = time.perf_counter() - start
        assert wait_until(lambda: queue.counts() == QueueCounts(0, 0, 0), 10), queue.counts()
        assert [registrar.stop() for registrar in registrars] == [0, 0]

        token = issue_token(keys.private_pem, "ann")
        passes = search_from_clients(api.url, token, {"base_uris": [factory.base_uri]})
        apples = search(api.url, token, {"free_text": "apples"}, 1)[1]
        worker_pids = set(child_pids(api.master_pid))

    assert sorted(registered(stores, factory.base_uri)) == sorted(uris)  # one row each
    done = [stopped_counts(registrar) for registrar in registrars]
    assert sum(counts.get("registered", 0) for counts in done) == BURST  # each once
    for counts in done:
        assert counts.get("registered", 0) >= BURST // 5, done  # both did a fair share
        assert set(counts) == {"registered"}, done  # nothing redelivered, retried or dead
    for registrar in registrars:
        assert "Traceback" not in registrar.log()

    assert all(sorted(found) == sorted(uris) for found in passes)
    assert apples == BURST
    served = api.statuses_by_pid("/dataset/search")
    assert set(served) == worker_pids and len(worker_pids) == 2, (served.keys(), worker_pids)
    assert all(status == 200 for statuses in served.values() for status in statuses)
    shares = ", ".join(str(counts["registered"]) for counts in done)
    answers = ", ".join(str(len(statuses)) for statuses in served.values())
    print(
        f"\nscale-out: {BURST} events published in {published:.2f} s, all registered"
        f" {elapsed:.2f} s after the first ({BURST / elapsed:,.0f}/s);"
        f" registrars' shares {shares}; API workers' search answers {answers}"
    )
    queue.close()
    stores.close()

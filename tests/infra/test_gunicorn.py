"""infra/gunicorn.conf.py serves the app: a real gunicorn on a free loopback port."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from lookup_events.config import Settings
from lookup_events.keys import PRIVATE_KEY_NAME
from lookup_events.model import record_from_info
from lookup_events.store import open_stores
from lookup_events.tokens import issue_token
from tests.support.api import key_pair
from tests.support.data import make_info
from tests.support.scrape import sample

pytestmark = pytest.mark.slow  # a real gunicorn with its workers

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "infra" / "gunicorn.conf.py"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running gunicorn and where it keeps its data."""

    url: str
    data_dir: Path
    process: subprocess.Popen[str]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """GET ``url``; return status, headers and body, for error statuses too."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as ex:
        return ex.code, ex.headers, ex.read()


def wait_until_serving(server: Server, timeout: float = 60.0) -> None:
    """Poll until the server answers, or fail with its output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited: {server.process.communicate()[1]}")
        try:
            if get(f"{server.url}/config/versions")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not answer in time")


@contextlib.contextmanager
def running_gunicorn(tmp_path: Path, extra_env: dict[str, str]) -> Iterator[Server]:
    """Run gunicorn with the config: two workers, data in tmp, ``extra_env`` added."""
    port = free_port()
    data_dir = tmp_path / "data"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DTOOL_LOOKUP_DATA_DIR": str(data_dir),
        "DTOOL_LOOKUP_HOST": "127.0.0.1",
        "DTOOL_LOOKUP_PORT": str(port),
        "WEB_CONCURRENCY": "2",
        **extra_env,
    }
    command = [sys.executable, "-m", "gunicorn", "lookup_api.wsgi:app", "-c", str(CONFIG)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    running = Server(f"http://127.0.0.1:{port}", data_dir, process)
    try:
        wait_until_serving(running)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Run gunicorn with the config: two workers, embedded keys, SQLite in tmp."""
    with running_gunicorn(tmp_path, {}) as running:
        yield running


def test_the_config_serves_the_app_from_every_worker(server: Server) -> None:
    settings = Settings(data_dir=server.data_dir).completed()
    stores = open_stores(settings)
    stores.admin.add_user("ann")
    stores.admin.add_base_uri("s3://bucket")
    stores.admin.set_permissions("s3://bucket", search=["ann"], register=[])
    stores.close()
    private_key = (server.data_dir / PRIVATE_KEY_NAME).read_text()
    token = {"Authorization": f"Bearer {issue_token(private_key, 'ann')}"}

    # More requests than workers: each worker must trust the one generated key.
    answers = [get(f"{server.url}/dataset/list", token) for _ in range(8)]

    for status, headers, body in answers:
        assert status == 200
        assert json.loads(body) == []
        assert json.loads(headers["X-Pagination"]) == {"total": 0, "total_pages": 0}
    assert get(f"{server.url}/dataset/list")[0] == 401


def test_the_master_starts_two_workers_and_stops_cleanly(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    _, log = server.process.communicate(timeout=40)

    assert server.process.returncode == 0
    assert log.count("Booting worker with pid") == 2
    assert f"Listening at: {server.url}" in log
    assert "database ready" in log
    assert "lookup_api.access: GET /config/versions 200" in log


def post(url: str, body: object, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST ``body`` as JSON; return status and body, for error statuses too."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={**headers, "Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as ex:
        return ex.code, ex.read()


def _words(count: int) -> str:
    return " ".join(f"w{n}" for n in range(count))


# Search bodies past the limits (README "Limits of a search") and the words the 422 names.
HUGE_SEARCHES: list[tuple[dict[str, object], str]] = [
    ({"free_text": _words(50_000)}, "free_text is limited to 4096 characters"),
    ({"free_text": _words(500)}, "free_text is limited to 64 distinct words"),
    ({"free_text": " ".join(f'"p{n} q"' for n in range(400))}, "16 quoted phrases"),
    ({"free_text": "a " + " ".join(f"-e{n}" for n in range(600))}, "16 exclusions"),
    ({"uuids": [str(uuid.UUID(int=n)) for n in range(20_000)]}, "uuids is limited to 1000"),
    ({"tags": [f"t{n}" for n in range(5_000)]}, "tags is limited to 100"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hardened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """Run gunicorn on each SQL store with one user; yield it and that user's token."""
    if request.param == "sqlite":
        with running_gunicorn(tmp_path, {}) as running:
            settings = Settings(data_dir=running.data_dir).completed()
            private_key = (running.data_dir / PRIVATE_KEY_NAME).read_text()
            yield running, _with_user(settings, private_key)
        return
    url = request.getfixturevalue("postgres_url_migrated")
    keys = key_pair()
    env = {"DTOOL_LOOKUP_DATABASE_URL": url, "JWT_PUBLIC_KEY": keys.public_pem}
    with running_gunicorn(tmp_path, env) as running:
        settings = Settings(data_dir=running.data_dir, database_url=url).completed()
        yield running, _with_user(settings, keys.private_pem)


def _with_user(settings: Settings, private_key: str) -> str:
    stores = open_stores(settings)
    try:
        stores.admin.add_user("ann")
        stores.admin.add_base_uri("s3://bucket")
        stores.admin.set_permissions("s3://bucket", search=["ann"], register=["ann"])
        stores.datasets.upsert_many(
            [record_from_info(make_info(n, "s3://bucket")) for n in range(20)]
        )
    finally:
        stores.close()
    return issue_token(private_key, "ann")


def test_huge_searches_get_422_and_the_workers_survive(hardened: tuple[Server, str]) -> None:
    server, token = hardened
    headers = {"Authorization": f"Bearer {token}"}

    for body, named in HUGE_SEARCHES:
        started = time.monotonic()
        status, answer = post(f"{server.url}/dataset/search", body, headers)
        assert status == 422, answer[:200]
        assert named in json.loads(answer)["message"]
        assert time.monotonic() - started < 5  # refused, not worked through
        assert post(f"{server.url}/uris", body, headers)[0] == 422

    at_limits = " ".join(
        [_words(54), *(f'"{_words(3)}"' for _ in range(5)), *(f"-x{n}" for n in range(16))]
    )
    status, answer = post(f"{server.url}/dataset/search", {"free_text": at_limits}, headers)
    assert status == 200, answer[:200]
    assert post(f"{server.url}/dataset/search", {"free_text": "synthetic"}, headers)[0] == 200
    assert len(json.loads(post(f"{server.url}/dataset/search", {}, headers)[1])) == 10

    server.process.send_signal(signal.SIGTERM)
    _, log = server.process.communicate(timeout=40)
    assert log.count("Booting worker with pid") == 2, log  # no worker died and was replaced
    assert "SIGSEGV" not in log and "WORKER TIMEOUT" not in log


def versions_answered(text: str) -> float:
    """Return how many ``GET /config/versions`` the scraped workers answered with 200."""
    labels = {"route": "/config/versions", "method": "GET", "status": "200"}
    return sample(text, "dtool_lookup_http_requests_total", **labels)


def test_metrics_add_up_across_workers(server: Server) -> None:
    before = versions_answered(get(f"{server.url}/metrics")[2].decode())
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: get(f"{server.url}/config/versions")[0], range(40)))
    assert statuses == [200] * 40

    # Whichever worker answers the scrape, it reports every worker's requests.
    scrapes = [versions_answered(get(f"{server.url}/metrics")[2].decode()) for _ in range(6)]
    assert scrapes == [before + 40] * 6
    status = get(f"{server.url}/metrics", {"X-Forwarded-For": "203.0.113.9"})[0]
    assert status == 403


def test_readiness_checks_the_database_and_the_queue(server: Server) -> None:
    status, headers, body = get(f"{server.url}/config/ready", {"X-Request-ID": "lb-probe-1"})
    assert status == 200
    assert json.loads(body) == {"status": "ready", "checks": {"database": "ok", "queue": "ok"}}
    assert headers["X-Request-ID"] == "lb-probe-1"

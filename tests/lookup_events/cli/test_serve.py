"""``dtool-lookup serve``: real HTTP against the embedded server, its watcher, clean shutdown."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runner import LookupCli, clean_env
from tests.support.network import free_port
from tests.support.processes import REPO, process_env, run_lookup, stopped_cleanly, wait_until


def command() -> list[str]:
    script = Path(sys.executable).parent / "dtool-lookup"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "lookup_events.cli"]  # not installed: same code


def get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def wait_for(port: int, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early: {process.communicate()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("serve did not start listening")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, LookupCli, subprocess.Popen[str]]]:
    data_dir = tmp_path / "data"
    env_changes = clean_env(data_dir)
    env = {k: v for k, v in os.environ.items() if k not in env_changes}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    port = free_port()
    process = subprocess.Popen(
        [*command(), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(port, process)
        yield f"http://127.0.0.1:{port}", LookupCli(env_changes), process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_serve_answers_over_http_and_stops_cleanly(
    server: tuple[str, LookupCli, subprocess.Popen[str]],
) -> None:
    url, cli, process = server

    status, versions = get(f"{url}/config/versions")
    assert status == 200
    assert versions["dtool_lookup_server"] == "0.18.0"

    cli.ok("user", "add", "--is-admin", "overlord")
    token = cli.ok("user", "token", "overlord").stdout.strip()
    status, datasets = get(f"{url}/dataset/list", token)
    assert status == 200
    assert datasets == []

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert url.removeprefix("http://") in stdout
    assert "dtool-lookup user add --is-admin NAME" in stdout
    assert "dtool-lookup user token NAME" in stdout
    assert "web app at http://127.0.0.1:" in stdout
    assert "Traceback" not in stderr


def test_serve_help_needs_no_server() -> None:
    assert shutil.which(command()[0]) or Path(command()[0]).exists()
    result = subprocess.run(
        [*command(), "serve", "--help"], capture_output=True, text=True, timeout=30, check=True
    )
    assert "--port" in result.stdout


def test_each_worker_builds_the_app_over_its_own_stores(tmp_path: Path) -> None:
    import falcon.testing

    from lookup_events.cli.serve import ApiServer
    from lookup_events.services import Services

    services = Services(LookupCli(clean_env(tmp_path)).settings())
    services.ensure_schema()
    settings = services.api_settings()
    server = ApiServer(settings, {"bind": "127.0.0.1:0", "worker_class": "gthread"})
    assert server.cfg.worker_class_str == "gthread"

    app = server.load()  # what gunicorn calls in a worker, after the fork
    response = falcon.testing.TestClient(app).simulate_get("/config/versions")
    assert response.status_code == 200
    assert response.json["dtool_lookup_server"] == "0.18.0"
    server.cfg.worker_exit(None, None)  # the hook gunicorn runs as the worker exits


@pytest.mark.parametrize(
    ("host", "bind"),
    [("127.0.0.1", "127.0.0.1:5000"), ("::1", "[::1]:5000"), ("[::1]", "[::1]:5000")],
)
def test_bind_address(host: str, bind: str) -> None:
    from lookup_events.cli.serve import bind_address

    assert bind_address(host, 5000) == bind


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of every process: a data directory of the test's own."""
    return process_env(tmp_path / "data")


@pytest.fixture
def cli(tmp_path: Path) -> LookupCli:
    return LookupCli(clean_env(tmp_path / "data"))


DTOOL = REPO / ".venv" / "bin" / "dtool"


def search(port: int, token: str, free_text: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/dataset/search",
        data=json.dumps({"free_text": free_text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        found: list[dict[str, Any]] = json.loads(response.read())
        return found


def dtool(*args: str, cwd: Path) -> str:
    """Run the dtool command line; return its output."""
    done = subprocess.run(
        [str(DTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")
def test_serve_watch_finds_what_dtool_freezes(
    tmp_path: Path, env: dict[str, str], cli: LookupCli
) -> None:
    watched = tmp_path / "datasets"
    watched.mkdir()
    port = free_port()
    with run_lookup(
        ["serve", "--port", str(port), "--watch", str(watched)], env, tmp_path
    ) as server:
        assert wait_until(lambda: "Listening at" in server.log(), 30), server.log()
        assert wait_until(lambda: "(events)" in server.log(), 30), server.log()
        cli.ok("user", "add", "alice")
        (base_uri,) = [item["base_uri"] for item in cli.json("base-uri", "list")]
        cli.ok("user", "search-permission", "alice", base_uri)
        token = cli.ok("user", "token", "alice").stdout.strip()

        uri = dtool("create", "--quiet", "quinces", cwd=watched).strip()
        (tmp_path / "quince.txt").write_text("quince")
        dtool("add", "item", str(tmp_path / "quince.txt"), uri, cwd=watched)
        dtool("freeze", uri, cwd=watched)

        found: list[dict[str, Any]] = []

        def in_search() -> bool:
            found[:] = search(port, token, "quinces")
            return bool(found)

        assert wait_until(in_search, 30, interval=0.2), server.log()
        stopped_cleanly(server)
    assert [(item["name"], item["uri"]) for item in found] == [("quinces", uri)]
    assert "Watching file://" in server.log()

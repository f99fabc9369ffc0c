"""Serve a WSGI app with gunicorn (sync workers, one by default) on a free loopback port."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lookup_events.config import SETTINGS
from tests.bench.loaders import LOOPBACK

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Server:
    """A running gunicorn master and its single worker."""

    port: int
    master_pid: int
    log_path: Path

    def worker_pid(self) -> int:
        """Return the pid of the (first) worker process."""
        children = child_pids(self.master_pid)
        if not children:
            raise RuntimeError(f"gunicorn {self.master_pid} has no worker; see {self.log_path}")
        return children[0]

    def worker_memory_mb(self) -> tuple[float, float]:
        """Return the worker's resident and peak resident memory in MB."""
        status = read_status(self.worker_pid())
        return status.get("VmRSS", 0) / 1024, status.get("VmHWM", 0) / 1024


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def child_pids(pid: int) -> list[int]:
    """Return the pids whose parent is ``pid``, oldest first."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return sorted(children)


def read_status(pid: int) -> dict[str, int]:
    """Return the kB fields (VmRSS, VmHWM, ...) of ``/proc/<pid>/status``."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[name] = int(value.split()[0])
    return fields


def server_environment(settings_env: Mapping[str, str]) -> dict[str, str]:
    """Return the parent's environment minus any server setting, plus ``settings_env``."""
    ours = {name for variable in SETTINGS for name in variable.names}
    env = {key: value for key, value in os.environ.items() if key not in ours}
    env.update(settings_env)
    return env


@contextlib.contextmanager
def gunicorn(
    app_spec: str,
    env: Mapping[str, str],
    log_dir: Path,
    options: Sequence[str] = (),
    workers: int = 1,
) -> Iterator[Server]:
    """Run ``app_spec`` under gunicorn with ``workers`` sync workers until the block ends.

    ``options`` come before the app (``-c infra/gunicorn.conf.py``, say). The
    server's own output (the app's log lines: an access line a request) goes to
    its log file, not to the terminal of whoever runs the benchmark.
    """
    port = free_port()
    log_path = log_dir / f"gunicorn-{port}.log"
    command = [
        sys.executable, "-m", "gunicorn", *options, f"--workers={workers}", "--worker-class=sync",
        f"--bind={LOOPBACK}:{port}", "--log-level=warning", f"--error-logfile={log_path}",
        app_spec,
    ]  # fmt: skip
    with log_path.open("ab") as output:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=dict(env), stdout=output, stderr=output
        )
    try:
        wait_until_ready(port, process, log_path)
        yield Server(port, process.pid, log_path)
    finally:
        stop(process)


def wait_until_ready(port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll until the server answers HTTP, or raise with the log's tail."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    log = log_path.read_text()[-3000:] if log_path.exists() else ""
    raise RuntimeError(f"gunicorn did not come up on port {port}:\n{log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the gunicorn master we started (it stops its worker)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

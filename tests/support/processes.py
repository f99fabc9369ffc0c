"""Real parts for fault tests and the registration benchmark (no pytest in here).

A RabbitMQ virtual host per test, `dtool-lookup` commands as child
processes, fast bursts of real frozen dtool datasets, and a TCP proxy that
can cut the connections between a process and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import dtoolcore

from lookup_events.config import SETTINGS
from lookup_events.uris import normalise_uri

AMQP_URL = os.environ.get("DTOOL_LOOKUP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
REPO = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; return the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    """Run ``rabbitmqctl ARGS``; return its output (raise on failure)."""
    done = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    return done.stdout


class RabbitVhost:
    """A fresh RabbitMQ virtual host for one test or run, deleted afterwards."""

    def __init__(self, server_url: str = AMQP_URL) -> None:
        self.name = f"dtool-lookup-test-{secrets.token_hex(4)}"
        parts = urlsplit(server_url)
        self.url = f"{parts.scheme}://{parts.netloc}/{self.name}"

    def __enter__(self) -> RabbitVhost:
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self

    def __exit__(self, *exc_info: object) -> None:
        rabbitmqctl("delete_vhost", self.name)


def process_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """Return this environment without any dtool-lookup setting, plus ``settings``."""
    names = {name for variable in SETTINGS for name in variable.names}
    env = {key: value for key, value in os.environ.items() if key not in names}
    env["DTOOL_LOOKUP_DATA_DIR"] = str(data_dir)
    env.update(settings)
    return env


class LookupProcess:
    """One ``dtool-lookup ARGS`` child process, its output kept in a log file."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.args = list(args)
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> LookupProcess:
        """Start the command (again)."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lookup_events.cli", *self.args],
            env=self.env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the process: no cleanup of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close_log()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM the process and return its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._close_log()

    def running(self) -> bool:
        """Tell whether the process is still alive."""
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """Return everything the process (and earlier runs) printed."""
        return self.log_path.read_text(errors="replace")

    def rss_mb(self) -> float:
        """Return the process's resident memory in MB (``VmRSS``)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def pause(self) -> None:
        """Freeze the process (SIGSTOP)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused process go on (SIGCONT)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def cpu_seconds(self) -> float:
        """Return the CPU time (user + system) the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> LookupProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class DatasetFactory:
    """Creates and freezes small real dtool datasets in one base directory, quickly."""

    def __init__(self, base: Path, readme: str = "---\ndescription: burst of apples\n") -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.base_uri = normalise_uri(str(base))
        self.readme = readme
        self._staging = Path(tempfile.mkdtemp(prefix="dtool-items-"))
        self._item = self._staging / "item.txt"
        self._item.write_bytes(b"apple")

    def proto(self, name: str, readme: str | None = None) -> Any:
        """Create a proto dataset with one item, a tag and an annotation."""
        proto = dtoolcore.create_proto_dataset(
            name, str(self.base), readme_content=readme or self.readme, creator_username="burst"
        )
        proto.put_item(str(self._item), "item.txt")
        proto.put_tag("burst")
        proto.put_annotation("number", name)
        return proto

    def freeze(self, name: str, readme: str | None = None) -> str:
        """Create and freeze dataset ``name``; return its URI."""
        self.proto(name, readme).freeze()
        return self.uri(name)

    def uri(self, name: str) -> str:
        """Return the normalised URI of dataset ``name``."""
        return normalise_uri(str(self.base / name))

    def close(self) -> None:
        """Remove the staging directory."""
        shutil.rmtree(self._staging, ignore_errors=True)


class TcpProxy:
    """Forwards a loopback port to a server; ``cut`` drops and refuses connections."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False

    def open(self) -> None:
        """Listen and forward (again)."""
        # NOTE(dev): create_server sets SO_REUSEADDR, so the port can be taken again at once.
        self._listener, self._running = socket.create_server(("127.0.0.1", self.port)), True
        self._thread = threading.Thread(target=self._serve, name="tcp-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Close the listener and every forwarded connection."""
        self._running = False
        if self._listener is not None:
            self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            for end in (client, server):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def _serve(self) -> None:
        assert self._listener is not None
        self._listener.settimeout(0.1)
        while self._running:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=_pump, args=(client, server), daemon=True).start()


def _pump(client: socket.socket, server: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    selector = selectors.DefaultSelector()
    selector.register(client, selectors.EVENT_READ, server)
    selector.register(server, selectors.EVENT_READ, client)
    try:
        while True:
            for key, _ in selector.select(timeout=1):
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if not data:
                    return
                key.data.sendall(data)
    except (OSError, ValueError):
        return
    finally:
        selector.close()
        for end in (client, server):
            end.close()

"""``dtool-lookup`` commands as child processes, and waiting for what they do (no pytest here).

Used by the fault, scale-out and command-line process tests and by the
registration benchmark.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from lookup_events.config import SETTINGS

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


def process_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """Return this environment without any dtool-lookup setting, plus ``settings``."""
    names = {name for variable in SETTINGS for name in variable.names}
    env = {key: value for key, value in os.environ.items() if key not in names}
    env["DTOOL_LOOKUP_DATA_DIR"] = str(data_dir)
    env.update(settings)
    return env


class LookupProcess:
    """One ``dtool-lookup ARGS`` child process, its output kept in a log file."""

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str],
        log_path: Path,
        module: str = "lookup_events.cli",
    ) -> None:
        self.args = list(args)
        self.module = module
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> LookupProcess:
        """Start the command (again)."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
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


def run_lookup(args: Sequence[str], env: dict[str, str], log_dir: Path) -> LookupProcess:
    """Return ``dtool-lookup ARGS`` (not started yet), logging to a new file in ``log_dir``."""
    return LookupProcess(args, env, log_dir / f"{args[0]}-{uuid.uuid4().hex[:6]}.log")


def stopped_cleanly(process: LookupProcess) -> None:
    """Stop ``process`` with SIGTERM: it must exit with 0 and print no traceback."""
    assert process.stop() == 0, process.log()
    assert "Traceback" not in process.log()

"""Run `serve`'s parts as child processes: the API, the registrar and the watcher.

Why processes, not threads: gunicorn forks its workers, and forking a
process that runs other threads (holding locks, SQLite connections, a
broker socket) is unsafe; as processes, each part is the very command a
server deployment runs, with its own signals and clean shutdown. The
supervisor restarts a helper that dies (with backoff) and stops everything
when the API ends or on SIGTERM/SIGINT: each child gets SIGTERM, then
SIGKILL if it has not finished after ``stop_timeout`` seconds.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lookup_events.queue.topology import Backoff

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
RESTART = Backoff(initial=1.0, factor=2.0, maximum=30.0)


def command(*args: str) -> list[str]:
    """Return the argv running ``dtool-lookup ARGS`` with this interpreter."""
    return [sys.executable, "-m", "lookup_events.cli", *args]


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when the supervisor dies, even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: children may outlive a killed parent
        return


@dataclass
class Child:
    """One supervised command; ``essential`` means the others stop when it ends."""

    name: str
    argv: Sequence[str]
    essential: bool = False
    process: subprocess.Popen[bytes] | None = None
    failures: int = 0
    start_at: float = 0.0


@dataclass
class Supervisor:
    """Starts child processes, restarts those that fail, and stops them all."""

    children: list[Child]
    stop_timeout: float = 20.0
    poll: float = 0.2
    clock: Callable[[], float] = time.monotonic
    started: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> int:
        """Supervise until ``stop`` is set or an essential child ends; return the exit code."""
        try:
            while not stop.is_set():
                for child in self.children:
                    code = self._check(child)
                    if code is not None:
                        return 0 if stop.is_set() else code
                stop.wait(self.poll)
            return 0
        finally:
            self.shutdown()

    def _check(self, child: Child) -> int | None:
        """Start or restart ``child`` as due; return an exit code to stop with."""
        if child.process is None:
            if self.clock() >= child.start_at:
                self._start(child)
            return None
        code = child.process.poll()
        if code is None:
            return None
        child.process = None
        if child.essential:
            log.error("%s exited with %s; stopping", child.name, code)
            return code
        child.failures += 1
        delay = RESTART.delay(child.failures)
        log.warning("%s exited with %s; restarting it in %.0f s", child.name, code, delay)
        child.start_at = self.clock() + delay
        return None

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, preexec_fn=_die_with_parent)  # noqa: PLW1509
        self.started.append(child.name)
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def shutdown(self) -> None:
        """SIGTERM every running child; SIGKILL those still running after the timeout."""
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.terminate()
        deadline = self.clock() + self.stop_timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(deadline - self.clock(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name)
                child.process.kill()
                child.process.wait()
            child.process = None

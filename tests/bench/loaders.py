"""Load generators: wrk (preferred) and a bounded Python fallback, loopback only."""

from __future__ import annotations

import http.client
import json
import math
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tests.bench.workload import Request, Target

LOOPBACK = "127.0.0.1"
WRK_TIMEOUT_S = 10
MAX_DURATION_S = 120.0
MAX_CONNECTIONS = 64


@dataclass(frozen=True)
class LoadResult:
    """What one bounded load run against one endpoint measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int = 0
    socket_errors: int = 0

    @property
    def requests_per_second(self) -> float:
        """Completed requests per second over the run."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Probe:
    """Statuses of a few requests sent one by one before the load run."""

    statuses: Mapping[int, int] = field(default_factory=dict)
    first_items: int | None = None

    @property
    def all_ok(self) -> bool:
        """True when every probed request answered 200."""
        return bool(self.statuses) and set(self.statuses) == {200}


class Loader(Protocol):
    """Something that loads one endpoint for a bounded time."""

    name: str

    def version(self) -> str:
        """Describe the loader and its version."""
        ...

    def run(
        self,
        port: int,
        target: Target,
        headers: Mapping[str, str],
        duration: float,
        connections: int,
    ) -> LoadResult:
        """Load ``target`` on 127.0.0.1:``port`` and return what was measured."""
        ...


def check_bounds(duration: float, connections: int) -> None:
    """Refuse unbounded or oversized load runs."""
    if not 0 < duration <= MAX_DURATION_S:
        raise ValueError(f"duration must be in (0, {MAX_DURATION_S}] seconds")
    if not 0 < connections <= MAX_CONNECTIONS:
        raise ValueError(f"connections must be in [1, {MAX_CONNECTIONS}]")


def select_loader(name: str = "auto") -> Loader:
    """Return wrk when asked for or available (``auto``), else the Python loader."""
    wrk = shutil.which("wrk")
    if name == "wrk" and wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    if name in ("wrk", "auto") and wrk is not None:
        return WrkLoader(wrk)
    return PythonLoader()


def send(
    port: int, request: Request, headers: Mapping[str, str], timeout: float = 30.0
) -> tuple[int, bytes]:
    """Send one request to 127.0.0.1:``port``; return status and body."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        body = request.body.encode() if request.body is not None else None
        connection.request(request.method, request.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def probe(port: int, target: Target, headers: Mapping[str, str], limit: int = 20) -> Probe:
    """Send up to ``limit`` of the target's requests one by one (also a warm-up)."""
    statuses: Counter[int] = Counter()
    first_items: int | None = None
    for request in target.requests[:limit]:
        status, body = send(port, request, headers)
        statuses[status] += 1
        if first_items is None and status == 200:
            first_items = _count_items(body)
    return Probe(dict(statuses), first_items)


def _count_items(body: bytes) -> int | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return len(document) if isinstance(document, list) else None


class WrkLoader:
    """Run wrk with a generated Lua script cycling through the target's requests."""

    name = "wrk"

    def __init__(self, executable: str) -> None:
        self._executable = executable

    def version(self) -> str:
        """Return wrk's version line."""
        done = subprocess.run(
            [self._executable, "--version"], capture_output=True, text=True, check=False
        )
        return (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0]

    def run(
        self,
        port: int,
        target: Target,
        headers: Mapping[str, str],
        duration: float,
        connections: int,
    ) -> LoadResult:
        """Load ``target`` with wrk for ``duration`` seconds."""
        check_bounds(duration, connections)
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
            script = Path(folder) / "load.lua"
            script.write_text(lua_script(target.requests, headers))
            command = [
                self._executable,
                f"--threads={min(connections, 2)}",
                f"--connections={connections}",
                f"--duration={max(1, math.ceil(duration))}s",
                f"--timeout={WRK_TIMEOUT_S}s",
                f"--script={script}",
                f"http://{LOOPBACK}:{port}",
            ]
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=duration + 60, check=False
            )
        return parse_wrk_output(done.stdout + done.stderr)


def parse_wrk_output(output: str) -> LoadResult:
    """Read the ``BENCH_RESULT`` line the Lua ``done`` hook prints."""
    for line in output.splitlines():
        if line.startswith("BENCH_RESULT "):
            values = [float(value) for value in line.split()[1:]]
            requests, micros, status, connect, read, write, timeouts, p50, p99 = values
            return LoadResult(
                requests=int(requests),
                seconds=micros / 1e6,
                p50_ms=p50 / 1e3,
                p99_ms=p99 / 1e3,
                non_2xx=int(status),
                socket_errors=int(connect + read + write + timeouts),
            )
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


def lua_string(text: str) -> str:
    """Quote ``text`` as a Lua long string, whatever it contains."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


_LUA_BODY = """
local prepared = {}
local position = 0

function setup(thread)
  counter = (counter or 0) + 1
  thread:set("thread_number", counter)
end

function init(args)
  for i, spec in ipairs(specs) do
    prepared[i] = wrk.format(spec[1], spec[2], headers, spec[3])
  end
  position = ((thread_number or 1) * 7919) % #prepared
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_script(requests: Sequence[Request], headers: Mapping[str, str]) -> str:
    """Return a wrk script cycling through ``requests`` with ``headers``."""
    specs = ",\n".join(
        f"  {{{lua_string(r.method)}, {lua_string(r.path)}, "
        f"{lua_string(r.body) if r.body is not None else 'nil'}}}"
        for r in requests
    )
    header_lines = ",\n".join(
        f"  [ {lua_string(name)} ] = {lua_string(value)}" for name, value in headers.items()
    )
    return f"specs = {{\n{specs}\n}}\nheaders = {{\n{header_lines}\n}}\n{_LUA_BODY}"


class PythonLoader:
    """A bounded closed-loop loader: one thread and connection per virtual client."""

    name = "python"

    def version(self) -> str:
        """Describe the loader."""
        return "python http.client fallback (GIL-bound: req/s are a floor)"

    def run(
        self,
        port: int,
        target: Target,
        headers: Mapping[str, str],
        duration: float,
        connections: int,
    ) -> LoadResult:
        """Load ``target`` from ``connections`` threads for ``duration`` seconds."""
        check_bounds(duration, connections)
        deadline = time.perf_counter() + duration
        results: list[dict[str, Any]] = [{} for _ in range(connections)]
        workers = [
            threading.Thread(
                target=_client_loop,
                kwargs={
                    "port": port,
                    "requests": target.requests,
                    "headers": dict(headers),
                    "deadline": deadline,
                    "number": number,
                    "out": results[number],
                },
            )
            for number in range(connections)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(duration + 60)
        return _merge(results, time.perf_counter() - started)


def _client_loop(
    *,
    port: int,
    requests: Sequence[Request],
    headers: dict[str, str],
    deadline: float,
    number: int,
    out: dict[str, Any],
) -> None:
    latencies: list[float] = []
    non_2xx = errors = 0
    position = number * 7919
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=WRK_TIMEOUT_S)
    while time.perf_counter() < deadline:
        request = requests[position % len(requests)]
        position += 1
        body = request.body.encode() if request.body is not None else None
        began = time.perf_counter()
        try:
            connection.request(request.method, request.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            continue
        latencies.append(time.perf_counter() - began)
        non_2xx += not 200 <= response.status < 300
    connection.close()
    out.update(latencies=latencies, non_2xx=non_2xx, errors=errors)


def _merge(results: Sequence[Mapping[str, Any]], seconds: float) -> LoadResult:
    latencies = sorted(value for result in results for value in result.get("latencies", []))
    return LoadResult(
        requests=len(latencies),
        seconds=seconds,
        p50_ms=percentile(latencies, 50) * 1e3,
        p99_ms=percentile(latencies, 99) * 1e3,
        non_2xx=sum(result.get("non_2xx", 0) for result in results),
        socket_errors=sum(result.get("errors", 0) for result in results),
    )


def percentile(ordered: Sequence[float], rank: float) -> float:
    """Return the nearest-rank percentile of sorted values (0 when empty)."""
    if not ordered:
        return 0.0
    index = max(0, math.ceil(rank / 100 * len(ordered)) - 1)
    return ordered[index]

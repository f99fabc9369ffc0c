"""The two sides of ``operations_cost``: processes with every operations feature off, and on."""

from __future__ import annotations

import contextlib
import http.client
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lookup_events.events import DatasetEvent
from lookup_events.keys import embedded_key_pair
from lookup_events.queue.event_queue import EventQueue
from lookup_events.tokens import issue_token
from tests.bench.loaders import LOOPBACK, probe, select_loader
from tests.bench.registration_bench import (
    TIMEOUT_S,
    Workspace,
    connected,
    registered,
    running,
)
from tests.bench.seeding import seed
from tests.bench.server import REPO_ROOT, Server, free_port, gunicorn, server_environment
from tests.bench.synthetic import Corpus
from tests.bench.workload import Target, api_targets
from tests.support.datasets import DatasetFactory
from tests.support.processes import LookupProcess

UNCOUNTED = "tests.bench.uncounted"
COUNTED = {"module": "lookup_events.cli", "app": "lookup_api.wsgi:app"}
GUNICORN_OPTIONS = ("-c", str(REPO_ROOT / "infra" / "gunicorn.conf.py"), "--max-requests=0")
ENDPOINTS = ("GET /dataset/lookup/<uuid>", "POST /dataset/search", "GET /dataset/list?page=P")
USERNAME = "bench-user"
WARMUP = 50


#: The sides: everything off, everything on, and (registration only) all but the audit trail.
OFF, ON, UNAUDITED = "off", "on", "on, audit off"


def observed(mode: str) -> bool:
    """Tell whether a side counts metrics, serves them and logs JSON."""
    return mode != OFF


def settings_of(mode: str) -> dict[str, str]:
    """Return the log format and audit settings of a side."""
    return {
        "DTOOL_LOOKUP_LOG_FORMAT": "json" if observed(mode) else "text",
        "DTOOL_LOOKUP_AUDIT": "true" if mode == ON else "false",
    }


class Scraper:
    """Scrape one ``/metrics`` every ``interval`` seconds while active, as Prometheus would."""

    def __init__(self, port: int, interval: float, path: str = "/metrics") -> None:
        self.port, self.interval, self.path = port, interval, path
        self.statuses: Counter[int] = Counter()
        self.last = b""

    def scrape(self) -> int:
        """Scrape once; return the status."""
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=10)
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            self.last = response.read()
            self.statuses[response.status] += 1
            return response.status
        finally:
            connection.close()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Scrape in a thread during the block (first scrape at once)."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                self.scrape()
                stop.wait(self.interval)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def scraping(scraper: Scraper | None) -> contextlib.AbstractContextManager[None]:
    """Scrape during the block when there is a scraper (the "on" side)."""
    return scraper.active() if scraper is not None else contextlib.nullcontext()


def json_lines(text: str) -> int:
    """Return how many lines of ``text`` are JSON objects."""
    found = 0
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            found += isinstance(json.loads(line), dict)
    return found


@dataclass(frozen=True)
class Datasets:
    """Frozen datasets on disk: the ones every round registers, and a few to warm up with."""

    uris: list[str]
    warmup: list[str]
    base_uris: list[str]


def make_datasets(root: Path, size: int, progress: Callable[[str], None]) -> Datasets:
    """Create ``size`` small frozen datasets, and a few more in another base URI."""
    made: list[tuple[list[str], str]] = []
    for name, count in (("datasets", size), ("warmup", WARMUP)):
        factory = DatasetFactory(root / name)
        made.append(([factory.freeze(f"ds-{n:05d}") for n in range(count)], factory.base_uri))
        factory.close()
    progress(f"created {size + WARMUP:,} datasets")
    (uris, base_uri), (warmup, warmup_base_uri) = made
    return Datasets(uris, warmup, [base_uri, warmup_base_uri])


class RegistrationSide:
    """One side of one round: a new store, RabbitMQ virtual host and registrar process."""

    def __init__(self, root: Path, mode: str, datasets: Datasets, scrape_interval: float) -> None:
        self.mode = mode
        self.datasets = datasets
        self.space = Workspace(root, f"registration-{mode.replace(', ', '-').replace(' ', '-')}")
        self.scraper: Scraper | None = None
        extra = settings_of(mode)
        if observed(mode):
            port = free_port()
            self.scraper = Scraper(port, scrape_interval)
            extra["DTOOL_LOOKUP_METRICS_ADDRESS"] = f"{LOOPBACK}:{port}"
        else:
            extra["DTOOL_LOOKUP_METRICS_ADDRESS"] = "off"
        self.extra = extra
        self.audit_before = 0

    @contextlib.contextmanager
    def started(self) -> Iterator[RegistrationSide]:
        """Start the registrar, register the warm-up datasets, stop it all afterwards."""
        with self.space as space, contextlib.ExitStack() as stack:
            for base_uri in self.datasets.base_uris:
                space.stores.admin.add_base_uri(base_uri)
            module = COUNTED["module"] if observed(self.mode) else UNCOUNTED
            log = space.dir / "registrar.log"
            self.process = LookupProcess(
                ["registrar", "--no-rescan"], space.env(**self.extra), log, module=module
            )
            stack.enter_context(running([self.process], connected))
            self.queue = EventQueue(space.vhost.url, transport_options={"confirm_publish": False})
            stack.callback(self.queue.close)
            self.audit_before = self.audit_entries()
            self.register(self.datasets.warmup)
            yield self

    def publish(self, uris: list[str]) -> int:
        """Pause the registrar and queue ``uris``; return the count it must reach."""
        expected = self.space.count() + len(uris)
        self.process.pause()
        self.queue.publish_many([DatasetEvent.create("frozen", uri, "bench") for uri in uris])
        return expected

    def register(self, uris: list[str]) -> None:
        """Register ``uris`` (untimed)."""
        expected = self.publish(uris)
        self.process.resume()
        registered(self.space, expected, lambda done: None)

    def audit_entries(self) -> int:
        """Return how many audit entries the side's store holds."""
        with contextlib.closing(sqlite3.connect(self.space.db_path)) as connection:
            return int(connection.execute("SELECT count(*) FROM audit_entries").fetchone()[0])

    def check(self) -> str:
        """Say what the side did: audit entries written, scrapes answered, JSON lines."""
        said = f"{self.mode}: {self.audit_entries() - self.audit_before:,} audit entries written"
        said += f", {json_lines(self.process.log()):,} JSON log lines"
        if self.scraper is not None:
            self.scraper.scrape()
            found = b"dtool_lookup_events_handled_total" in self.scraper.last
            said += f", scrapes {dict(self.scraper.statuses)} (events counted: {found})"
        return said


def register_together(
    root: Path, modes: Sequence[str], datasets: Datasets, scrape_interval: float
) -> tuple[dict[str, float], list[str]]:
    """Register the datasets on a new side per mode, all at once; return rates and checks.

    The sides run at the same time, so whatever else loads the machine loads
    them alike; each side's rate is what it registered until the first side
    was done, over that time (every side had its share of the machine
    throughout). The others then finish, untimed.
    """
    sides = [RegistrationSide(root, mode, datasets, scrape_interval) for mode in modes]
    with contextlib.ExitStack() as stack:
        for side in sides:
            stack.enter_context(side.started())
        before = [side.space.count() for side in sides]
        expected = [side.publish(datasets.uris) for side in sides]
        with contextlib.ExitStack() as scrapes:
            for side in sides:
                scrapes.enter_context(scraping(side.scraper))
            start = time.perf_counter()
            for side in sides:
                side.process.resume()
            counts = first_done(sides, expected)
            seconds = time.perf_counter() - start
        for side, count in zip(sides, expected, strict=True):
            registered(side.space, count, lambda done: None)
        rates = [(done - b) / seconds for done, b in zip(counts, before, strict=True)]
        return dict(zip(modes, rates, strict=True)), [side.check() for side in sides]


def first_done(sides: Sequence[RegistrationSide], expected: Sequence[int]) -> list[int]:
    """Poll every side's store until one holds all it expects; return their counts then."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        counts = [side.space.count() for side in sides]
        if any(done >= want for done, want in zip(counts, expected, strict=True)):
            return counts
        time.sleep(0.005)
    raise RuntimeError(f"no side registered everything in {TIMEOUT_S:.0f} s: {counts}")


class ApiSides:
    """Two gunicorn servers over one seeded SQLite store, everything off and on."""

    def __init__(
        self, root: Path, size: int, duration: float, connections: int, interval: float
    ) -> None:
        self.dir = root / "api"
        self.size, self.duration, self.connections = size, duration, connections
        self.interval = interval
        self.loader = select_loader("auto")
        self.targets: list[Target] = []
        self.servers: dict[str, Server] = {}
        self.scraper: Scraper | None = None
        self.failures: Counter[str] = Counter()
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> ApiSides:
        self.dir.mkdir()
        url = f"sqlite:///{self.dir / 'bench.db'}"
        seed(url, self.dir, Corpus(self.size), USERNAME)
        keys = embedded_key_pair(self.dir / "keys")
        token = issue_token(keys.private_pem, USERNAME, expires_in=24 * 3600)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        env = {"DTOOL_LOOKUP_DATABASE_URL": url, "JWT_PUBLIC_KEY": keys.public_pem}
        for mode in (OFF, ON):
            self.servers[mode] = self._stack.enter_context(self._serve(mode, env))
        self.scraper = Scraper(self.servers[ON].port, self.interval)
        by_name = {target.endpoint: target for target in api_targets(Corpus(self.size))}
        self.targets = [by_name[name] for name in ENDPOINTS]
        self._probe()
        return self

    def _serve(
        self, mode: str, env: Mapping[str, str]
    ) -> contextlib.AbstractContextManager[Server]:
        data = self.dir / mode
        data.mkdir()
        metrics = {"DTOOL_LOOKUP_API_METRICS": "loopback" if observed(mode) else "off"}
        settings = {**env, **settings_of(mode), **metrics, "DTOOL_LOOKUP_DATA_DIR": str(data)}
        app = COUNTED["app"] if observed(mode) else f"{UNCOUNTED}:app"
        return gunicorn(app, server_environment(settings), data, GUNICORN_OPTIONS)

    def _probe(self) -> None:
        for server in self.servers.values():
            for target in self.targets:
                checked = probe(server.port, target, self.headers)
                if not checked.all_ok:
                    raise RuntimeError(f"{target.endpoint} answered {dict(checked.statuses)}")

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def endpoints(self) -> list[str]:
        """Return the names of the loaded endpoints."""
        return [target.endpoint for target in self.targets]

    def load_together(self, index: int) -> dict[str, float]:
        """Load one endpoint on both sides at the same time; return requests a second."""
        target = self.targets[index]
        found: dict[str, float] = {}

        def load(mode: str) -> None:
            port = self.servers[mode].port
            result = self.loader.run(port, target, self.headers, self.duration, self.connections)
            self.failures[mode] += result.non_2xx + result.socket_errors
            found[mode] = result.requests_per_second

        threads = [threading.Thread(target=load, args=(mode,)) for mode in self.servers]
        with scraping(self.scraper):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return found

    def check(self) -> str:
        """Say what the sides did: failures, scrapes, JSON lines, metrics served or not."""
        assert self.scraper is not None
        said = [f"API: non-2xx or socket errors {dict(sorted(self.failures.items()))}"]
        self.scraper.scrape()
        counted = b"dtool_lookup_http_requests_total" in self.scraper.last
        said.append(f"on: scrapes {dict(self.scraper.statuses)} (requests counted: {counted})")
        off = Scraper(self.servers[OFF].port, self.interval)
        said.append(f"off: /metrics answers {off.scrape()}")
        for mode, server in self.servers.items():
            said.append(f"{mode}: {json_lines(server.log_path.read_text()):,} JSON log lines")
        return "; ".join(said)

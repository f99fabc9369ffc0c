"""The Prometheus metrics every process keeps, and their exposition.

Metric objects are made on first use, and ``prometheus_client`` is imported
then too, because the library decides at import time whether it runs in
multi-process mode (``PROMETHEUS_MULTIPROC_DIR``); ``use_directory`` must run
before anything is counted in a process whose figures others add up (gunicorn
workers, the children of ``serve``).

Labels never carry a dataset URI, a user name or any other value a scraper
could not see otherwise: routes are URI templates, sources and outcomes come
from short fixed lists. Other features add their own metrics here, beside
these, with ``counter`` and ``histogram``.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

PREFIX = "dtool_lookup"
#: The variable prometheus-client reads; the one place we set it is ``use_directory``.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

#: Seconds: requests are milliseconds; a slow search is a second or more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Seconds from an event's time to its commit: sub-second to an hour behind.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

#: Outcomes an event is counted under (``events_handled_total{outcome}``).
OUTCOMES = ("registered", "updated", "removed", "skipped", "retried", "dead_lettered")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Switch:
    """Whether this process counts at all (on unless a benchmark measures the cost)."""

    on = True


def enable(on: bool) -> None:
    """Turn counting on or off in this process (the benchmarks compare both)."""
    _Switch.on = on


def use_directory(directory: str | os.PathLike[str], *, clear: bool = False) -> Path:
    """Make this process (and children started after) count into ``directory``.

    ``clear`` empties it first: only the process that starts the others (the
    gunicorn master, ``serve``) does, before any of them counts.
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    if clear:  # only the library's own files: the directory may hold something else too
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    # NOTE(dev): prometheus-client reads this variable, at import, in every process.
    os.environ[MULTIPROC_VARIABLE] = str(path)
    return path


def multiprocess_directory() -> str | None:
    """Return the directory processes count into, if they share one."""
    return os.environ.get(MULTIPROC_VARIABLE) or None


def mark_process_dead(pid: int) -> None:
    """Drop the live-gauge files of a process that exited (gunicorn's ``child_exit``)."""
    if multiprocess_directory():
        from prometheus_client import multiprocess  # noqa: PLC0415 - see the module docstring

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def counter(name: str, documentation: str, labels: Iterable[str] = ()) -> Any:
    """Return the counter ``dtool_lookup_<name>_total`` (made once per process)."""
    return _metric("Counter", name, documentation, tuple(labels))


def histogram(
    name: str, documentation: str, labels: Iterable[str] = (), buckets: tuple[float, ...] = ()
) -> Any:
    """Return the histogram ``dtool_lookup_<name>`` (made once per process)."""
    return _metric("Histogram", name, documentation, tuple(labels), buckets or LATENCY_BUCKETS)


@functools.cache
def _metric(
    kind: str, name: str, documentation: str, labels: tuple[str, ...], buckets: Any = None
) -> Any:
    import prometheus_client  # noqa: PLC0415 - see the module docstring

    options: dict[str, Any] = {"namespace": PREFIX, "labelnames": labels}
    if buckets is not None:
        options["buckets"] = buckets
    return getattr(prometheus_client, kind)(name, documentation, **options)


# -- what the processes count -------------------------------------------------


#: Methods counted by name; any other a client sends is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one HTTP request by route template, method and status, and its latency."""
    if not _Switch.on:
        return
    requests, latency = _request_series(route, method if method in METHODS else "other", status)
    requests.inc()
    latency.observe(seconds)


# NOTE(dev): bounded: routes are templates (or "unmatched"), methods and statuses few.
@functools.cache
def _request_series(route: str, method: str, status: int) -> tuple[Any, Any]:
    labels = ("route", "method", "status")
    requests = counter("http_requests", "HTTP requests answered.", labels)
    latency = histogram(
        "http_request_duration_seconds", "Time to answer an HTTP request.", ("route", "method")
    )
    return requests.labels(route, method, str(status)), latency.labels(route, method)


def count_received(sources: Iterable[str]) -> None:
    """Count events put on the queue, by the source that saw them."""
    if not _Switch.on:
        return
    received = counter("events_received", "Events published to the queue.", ("source",))
    for source in sources:
        received.labels(source).inc()


def count_handled(outcome: str, lag: float | None = None) -> None:
    """Count one handled event by outcome; ``lag``: seconds from its time to the commit."""
    if not _Switch.on:
        return
    counter("events_handled", "Events the registrar settled.", ("outcome",)).labels(outcome).inc()
    if lag is not None:
        histogram(
            "registration_lag_seconds",
            "Seconds from an event (a freeze, a notification) to its commit.",
            buckets=LAG_BUCKETS,
        ).observe(max(lag, 0.0))


def count_rescan(found: Mapping[str, int]) -> None:
    """Count one rescan and what it found per result (frozen, updated, ..., failed)."""
    if not _Switch.on:
        return
    counter("rescans", "Rescans of every base URI.").inc()
    datasets = counter("rescan_datasets", "Datasets a rescan looked at, by result.", ("result",))
    for result, n in found.items():
        if n:
            datasets.labels(result).inc(n)


def now() -> float:
    """Return the wall-clock time events are stamped with."""
    return time.time()


# -- exposition ---------------------------------------------------------------

QueueCounter = Callable[[], Mapping[str, int]]


def exposition(queue_counts: QueueCounter | None = None) -> bytes:
    """Return every metric of this process (or of all sharing its directory) as text.

    ``queue_counts`` is asked at scrape time for the messages waiting (ready,
    delayed, dead); if it raises, ``queue_up`` says so and the rest is served.
    """
    import prometheus_client  # noqa: PLC0415 - see the module docstring
    from prometheus_client import multiprocess  # noqa: PLC0415

    if multiprocess_directory():
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = prometheus_client.REGISTRY
    text = prometheus_client.generate_latest(registry)
    if queue_counts is not None:
        extra = prometheus_client.CollectorRegistry(auto_describe=False)
        extra.register(_QueueCollector(queue_counts))
        text += prometheus_client.generate_latest(extra)
    return text


class _QueueCollector:
    """Reads the queue's depth at scrape time (no process keeps it)."""

    def __init__(self, counts: QueueCounter) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Any]:
        """Yield the queue's reachability and its messages waiting by state."""
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        up = GaugeMetricFamily(f"{PREFIX}_queue_up", "Whether the event queue answered.")
        try:
            counts = self._counts()
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        waiting = GaugeMetricFamily(
            f"{PREFIX}_queue_messages", "Messages waiting in the event queue.", labels=["state"]
        )
        for state, n in counts.items():
            waiting.add_metric([state], n)
        yield waiting

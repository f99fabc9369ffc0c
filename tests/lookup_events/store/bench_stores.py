"""Time the SQL stores' calls at scale: ``python -m tests.lookup_events.store.bench_stores``.

Seeds N synthetic datasets (``tests.support.data.make_info``) with ``upsert_many``
in batches, then reports the median and p99 of each call, with warm caches
(what a steady read load sees) and cold (the first read after a write).
Not collected by pytest; run by hand.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lookup_events.config import Settings
from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.protocols import PageRequest, SearchQuery, SortKey
from tests.support.data import make_info

BASE_URIS = ("s3://bench-a", "s3://bench-b", "s3://bench-c", "s3://bench-d")


def seed(stores: Stores, count: int, batch: int = 1000) -> float:
    """Insert ``count`` datasets spread over ``BASE_URIS``; return datasets per second."""
    stores.admin.add_user("bench")
    for base_uri in BASE_URIS:
        stores.admin.add_base_uri(base_uri)
        stores.admin.grant("bench", base_uri, "search")
    started = time.perf_counter()
    for start in range(0, count, batch):
        infos = [make_info(i, BASE_URIS[i % len(BASE_URIS)]) for i in range(start, start + batch)]
        stores.datasets.upsert_many([record_from_info(info) for info in infos])
    return count / (time.perf_counter() - started)


def timed(call: Callable[[], Any], repeat: int, before: Callable[[], None] | None) -> list[float]:
    """Return the seconds each of ``repeat`` calls took."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def report(name: str, times: list[float]) -> None:
    """Print median and p99 in milliseconds."""
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"  {name:<34} median {statistics.median(ordered) * 1e3:8.3f} ms  p99 {p99 * 1e3:8.3f} ms"
    )


def calls(stores: Stores, count: int) -> dict[str, Callable[[], Any]]:
    """Return the calls to time, by name."""
    datasets, uuid = stores.datasets, make_info(count // 2, BASE_URIS[0])["uuid"]
    every = SearchQuery(BASE_URIS)
    return {
        "admin.get_user": lambda: stores.admin.get_user("bench"),
        "lookup by uuid": lambda: datasets.search(
            SearchQuery(BASE_URIS, uuids=(uuid,)), PageRequest()
        ),
        "list page 1 (10)": lambda: datasets.search(every, PageRequest(1, 10)),
        "list page 1 (100)": lambda: datasets.search(every, PageRequest(1, 100)),
        "list page 500 by -name": lambda: datasets.search(
            every, PageRequest(500, 10), [SortKey("name", True)]
        ),
        "free text common (project3)": lambda: datasets.search(
            SearchQuery(BASE_URIS, free_text="project3"), PageRequest()
        ),
        "free text rare (sample_777_1)": lambda: datasets.search(
            SearchQuery(BASE_URIS, free_text="sample_777_1"), PageRequest()
        ),
        "free text phrase + exclusion": lambda: datasets.search(
            SearchQuery(BASE_URIS, free_text='"synthetic dataset" -project1'), PageRequest()
        ),
        "tags tag1+tag5, one base URI": lambda: datasets.search(
            SearchQuery(BASE_URIS[:1], tags=("tag1", "tag5")), PageRequest()
        ),
        "creator user3": lambda: datasets.search(
            SearchQuery(BASE_URIS, creator_usernames=("user3",)), PageRequest()
        ),
        "summary (all base URIs)": lambda: datasets.summary(BASE_URIS),
        "get(uri)": lambda: datasets.get(make_info(count // 3, BASE_URIS[count // 3 % 4])["uri"]),
    }


def bench(url: str, count: int, repeat: int) -> None:
    """Seed the database at ``url`` and time every call warm and cold."""
    upgrade_database(url)
    stores = open_stores(
        Settings(data_dir=Path(tempfile.gettempdir()), database_url=url).completed()
    )
    try:
        print(f"{url.partition(':')[0]}: seeded {count} datasets at {seed(stores, count):.0f}/s")
        clear: Callable[[], None] = stores.datasets._cache.clear  # type: ignore[attr-defined]
        for name, call in calls(stores, count).items():
            call()
            report(name + " warm", timed(call, repeat, None))
            report(name + " cold", timed(call, max(5, repeat // 20), clear))
        writes = [record_from_info(make_info(count + i, BASE_URIS[0])) for i in range(repeat)]
        report("upsert one", timed(lambda: stores.datasets.upsert(writes.pop()), repeat, None))
    finally:
        stores.close()


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="SQLAlchemy URL of an empty database")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    arguments = parser.parse_args()
    bench(arguments.url, arguments.count, arguments.repeat)


if __name__ == "__main__":
    main()

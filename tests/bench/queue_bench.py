"""Event queue throughput on one broker URL: publish N events, then consume and ack them.

    .venv/bin/python -m tests.bench.queue_bench                       # embedded, 10,000 events
    .venv/bin/python -m tests.bench.queue_bench --url amqp://guest:guest@127.0.0.1:5672// \\
        --events 10000 [--batch 100] [--prefetch 200]

One process, a queue named for the run (deleted afterwards), the embedded
queue in a temporary directory unless ``--url`` names another. Publishing is
``publish_many`` in chunks of ``--batch``; consuming takes batches of
``--batch`` with ``--prefetch`` and acks each batch with ``ack_all``, as the
registrar does. Prints one JSON line; no target is asserted.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from lookup_events.events import DatasetEvent
from lookup_events.queue.consumer import ack_all
from lookup_events.queue.event_queue import EventQueue


def events(count: int) -> list[DatasetEvent]:
    """Return ``count`` frozen events for datasets in a bench bucket."""
    return [DatasetEvent.create("frozen", f"s3://bench/{n:08d}", "bench") for n in range(count)]


def publish(queue: EventQueue, published: Sequence[DatasetEvent], batch: int) -> float:
    """Publish the events in chunks; return events/s."""
    start = time.perf_counter()
    for first in range(0, len(published), batch):
        queue.publish_many(published[first : first + batch])
    return len(published) / (time.perf_counter() - start)


def consume(queue: EventQueue, count: int, batch: int, prefetch: int) -> tuple[float, float]:
    """Consume and ack ``count`` events in batches; return events/s and CPU µs an event."""
    taken = 0
    start, cpu = time.perf_counter(), time.process_time()
    with queue.consumer(prefetch) as consumer:
        for deliveries in consumer.batches(batch, max_wait=0.05, idle_timeout=5):
            ack_all(deliveries)
            taken += len(deliveries)
            if taken >= count:
                break
    cpu_us = (time.process_time() - cpu) / max(taken, 1) * 1e6
    return taken / (time.perf_counter() - start), cpu_us


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="broker URL (default: an embedded queue in a temp dir)")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--prefetch", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url or f"sqlite:///{Path(scratch) / 'queue.db'}"
        queue = EventQueue(url, name=f"bench-{secrets.token_hex(4)}")
        published = events(args.events)
        try:
            publish_rate = publish(queue, published, args.batch)
            consume_rate, consume_cpu = consume(queue, args.events, args.batch, args.prefetch)
        finally:
            queue.delete()
    result = {
        "url": queue.safe_url,
        "events": args.events,
        "publish_per_s": round(publish_rate),
        "consume_per_s": round(consume_rate),
        "consume_cpu_us": round(consume_cpu, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``dtool-lookup registrar``, ``watch`` and ``s3-events``: the long-running processes.

Each runs until SIGTERM or SIGINT and then stops cleanly: the registrar
finishes the batch in hand (what it has not acked goes back to the
queue), the watcher publishes what is still settling, the S3 consumer
leaves unpublished notifications in SQS. Health and progress go to
stderr as log lines.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from lookup_events.cli.context import CliContext, fail, pass_cli
from lookup_events.config import Settings
from lookup_events.errors import QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.publisher import Publisher
from lookup_events.queue.topology import RECONNECT
from lookup_events.registrar.batch import EventHandler
from lookup_events.registrar.worker import RegistrarWorker
from lookup_events.registrar.writer import Reader, Registrar
from lookup_events.sources.filesystem import DatasetWatcher
from lookup_events.sources.s3 import AdminObjectProbe, SqsNotificationSource
from lookup_events.sources.scan import Rescanner
from lookup_events.storage.brokers import read_dataset
from lookup_events.storage.disk import read_dataset_fast
from lookup_events.store import Stores
from lookup_events.store.protocols import AdminStore
from lookup_events.uris import is_local, normalise_uri

log = logging.getLogger("lookup_events.cli")

#: Dataset readers the registrar can use; "fast" reads disk datasets' files directly.
READERS: dict[str, Reader] = {"fast": read_dataset_fast, "dtoolcore": read_dataset}

_SQS_REGION = re.compile(r"sqs[.-]([a-z0-9-]+)\.amazonaws\.com")


def open_queue(settings: Settings) -> EventQueue:
    """Return the event queue the settings name."""
    return EventQueue(settings.broker_url)


def configure_logging(level: str = "INFO") -> None:
    """Send log lines with a time stamp to stderr (once per process)."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the embedded store's migrations


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Yield an event that SIGTERM and SIGINT set; restore the handlers after."""
    stop = threading.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in signals}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def registered_base_uris(admin: AdminStore) -> list[str]:
    """Return every registered base URI (the rescanner reads it before each scan)."""
    return [item.base_uri for item in admin.list_base_uris().items]


log_level = click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Least severe log lines to print.",
)


@click.command("registrar")
@click.option(
    "--prefetch",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Unacknowledged events to take from the queue at once.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Events written to the stores in one transaction.",
)
@click.option(
    "--no-rescan", is_flag=True, help="Do not rescan base URIs (when another registrar does)."
)
@click.option(
    "--reader",
    type=click.Choice(sorted(READERS)),
    default="fast",
    show_default=True,
    help="How to read file:// datasets: their files directly, or through dtoolcore.",
)
@log_level
@pass_cli
def registrar(
    cli: CliContext,
    *,
    prefetch: int,
    batch_size: int,
    no_rescan: bool,
    reader: str,
    log_level: str,
) -> None:
    """Register datasets as their events arrive: consume the queue, write the stores.

    Also rescans every base URI at start and every DTOOL_LOOKUP_RESCAN_INTERVAL
    seconds, publishing what the events missed into the same queue.
    """
    configure_logging(log_level)
    settings, stores = cli.settings, cli.stores
    with stop_on_signals() as stop, open_queue(settings) as queue:
        worker = RegistrarWorker(
            queue,
            EventHandler(Registrar(stores.admin, stores.datasets, reader=READERS[reader])),
            lambda: stores.admin.get_base_uri(""),
            prefetch=prefetch,
            batch_size=batch_size,
        )
        log.info(
            "registrar: consuming %s (prefetch %d, batches of %d)",
            queue.safe_url,
            worker.prefetch,
            worker.batch_size,
        )
        worker.wait_for_store(stop)
        with rescanning(None if no_rescan else stores, Publisher(queue, stop), settings):
            counts = worker.run(stop)
        log.info("registrar stopped: %s", dict(counts) or "no events")


@contextmanager
def rescanning(stores: Stores | None, publisher: Publisher, settings: Settings) -> Iterator[None]:
    """Rescan every base URI at start and every ``rescan_interval`` (not without stores)."""
    if stores is None:
        yield
        return
    admin = stores.admin
    with Rescanner(
        lambda: registered_base_uris(admin),
        stores.datasets.frozen_at_by_uri,
        publisher.publish,
        interval=settings.rescan_interval,
    ):
        yield


@click.command("watch")
@click.argument("base_uris", nargs=-1, required=True)
@click.option(
    "--debounce",
    type=click.FloatRange(min=0),
    default=0.15,
    show_default=True,
    help="Seconds without file events before a dataset is looked at.",
)
@log_level
@pass_cli
def watch(cli: CliContext, base_uris: tuple[str, ...], debounce: float, log_level: str) -> None:
    """Publish an event whenever a dataset in a file:// BASE_URI is frozen, changed or removed."""
    configure_logging(log_level)
    uris = [normalise_uri(uri) for uri in base_uris]
    for uri in uris:
        if not is_local(uri):
            log.warning("not watching %s: only file:// base URIs can be watched", uri)
    with stop_on_signals() as stop, open_queue(cli.settings) as queue:
        publisher = Publisher(queue, stop)

        def publish(event: DatasetEvent) -> None:
            publisher.publish(event)
            log.info("published %s event for %s", event.kind, event.uri)

        with DatasetWatcher(uris, publish, debounce=debounce) as watcher:
            for uri, mode in watcher.modes().items():
                log.info("watching %s (%s)", uri, mode or "not started")
            stop.wait()
    log.info("watcher stopped")


@click.command("s3-events")
@click.option("--queue-url", help="SQS queue of the notifications (DTOOL_LOOKUP_S3_QUEUE_URL).")
@click.option(
    "--wait-seconds",
    type=click.IntRange(0, 20),
    default=10,
    show_default=True,
    help="Long-polling wait of each receive.",
)
@log_level
@pass_cli
def s3_events(cli: CliContext, queue_url: str | None, wait_seconds: int, log_level: str) -> None:
    """Turn S3 bucket notifications from an SQS queue into dataset events."""
    url = queue_url or cli.settings.s3_queue_url
    if not url:
        fail("No SQS queue: set DTOOL_LOOKUP_S3_QUEUE_URL or pass --queue-url")
    configure_logging(log_level)
    with stop_on_signals() as stop, open_queue(cli.settings) as queue:
        publisher = Publisher(queue, stop)
        source = SqsNotificationSource(
            sqs_client(url),
            url,
            publisher.publish_many,
            publisher.dead_letter,
            probe=AdminObjectProbe(),
            wait_seconds=wait_seconds,
        )
        log.info("s3-events: reading %s, publishing to %s", url, queue.safe_url)
        poll_until_stopped(source, stop)
    log.info("s3-events stopped")


def sqs_client(queue_url: str) -> Any:
    """Return a boto3 SQS client (region from an AWS queue URL, else the usual chain)."""
    import boto3  # noqa: PLC0415 - the s3 extra is optional

    match = _SQS_REGION.search(queue_url)
    return boto3.client("sqs", region_name=match.group(1) if match else None)


def poll_until_stopped(source: SqsNotificationSource, stop: threading.Event) -> None:
    """Poll the notification queue until stopped, backing off while it fails."""
    failures = 0
    while not stop.is_set():
        try:
            result = source.poll()
        except QueueUnavailable:
            return  # stopped while the broker was away: the messages stay in SQS
        except Exception as ex:
            failures += 1
            delay = RECONNECT.delay(failures)
            log.warning("cannot receive notifications (%s); trying again in %.1f s", ex, delay)
            stop.wait(delay)
            continue
        failures = 0
        if result.received:
            log.info("s3-events: %s", result)

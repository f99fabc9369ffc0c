"""``dtool-lookup registrar``, ``watch`` and ``s3-events``: the long-running processes.

Each runs until SIGTERM or SIGINT and then stops cleanly: the registrar
finishes the batch in hand (what it has not acked goes back to the
queue), the watcher publishes what is still settling, the S3 consumer
leaves unpublished notifications in SQS. Health and progress go to
stderr as log lines.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from lookup_events.cli.context import fail, pass_services
from lookup_events.errors import QueueUnavailable
from lookup_events.events import DatasetEvent
from lookup_events.queue.topology import RECONNECT
from lookup_events.services import READERS, Services
from lookup_events.sources.s3 import SqsNotificationSource
from lookup_events.uris import is_local, normalise_uri

log = logging.getLogger("lookup_events.cli")


def configure_logging(services: Services, role: str, level: str = "INFO") -> None:
    """Send log lines to stderr, as text or JSON (``DTOOL_LOOKUP_LOG_FORMAT``), redacted."""
    services.configure_logging(role, level)


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


metrics_address = click.option(
    "--metrics-address",
    help="host:port of this process's /metrics, /health and /ready listener, or off "
    "(default: DTOOL_LOOKUP_METRICS_ADDRESS, 127.0.0.1:9464).",
)

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
    help="How to read datasets: our own disk and S3 readers, or dtoolcore's storage brokers.",
)
@log_level
@metrics_address
@pass_services
def registrar(
    services: Services,
    *,
    prefetch: int,
    batch_size: int,
    no_rescan: bool,
    reader: str,
    log_level: str,
    metrics_address: str | None,
) -> None:
    """Register datasets as their events arrive: consume the queue, write the stores.

    Also rescans every base URI at start and every DTOOL_LOOKUP_RESCAN_INTERVAL
    seconds, publishing what the events missed into the same queue.
    """
    configure_logging(services, "registrar", log_level)
    checks = services.readiness_checks()
    with (
        stop_on_signals() as stop,
        services.metrics_listener("registrar", metrics_address, checks),
    ):
        worker = services.registrar_worker(
            reader=READERS[reader], prefetch=prefetch, batch_size=batch_size
        )
        log.info(
            "registrar: consuming %s (prefetch %d, batches of %d)",
            services.queue.safe_url,
            worker.prefetch,
            worker.batch_size,
        )
        worker.wait_for_store(stop)
        with rescanning(services, stop, enabled=not no_rescan):
            counts = worker.run(stop)
        log.info("registrar stopped: %s", dict(counts) or "no events")


@contextmanager
def rescanning(services: Services, stop: threading.Event, *, enabled: bool) -> Iterator[None]:
    """Rescan every base URI at start and every ``rescan_interval`` (unless not enabled)."""
    if not enabled:
        yield
        return
    with services.rescanner(services.publisher(stop).publish):
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
@metrics_address
@pass_services
def watch(
    services: Services,
    base_uris: tuple[str, ...],
    debounce: float,
    log_level: str,
    metrics_address: str | None,
) -> None:
    """Publish an event whenever a dataset in a file:// BASE_URI is frozen, changed or removed."""
    configure_logging(services, "watcher", log_level)
    uris = [normalise_uri(uri) for uri in base_uris]
    for uri in uris:
        if not is_local(uri):
            log.warning("not watching %s: only file:// base URIs can be watched", uri)
    checks = {"queue": services.queue_counts}
    with stop_on_signals() as stop, services.metrics_listener("watcher", metrics_address, checks):
        publisher = services.publisher(stop)

        def publish(event: DatasetEvent) -> None:
            publisher.publish(event)
            log.info(
                "published %s event for %s",
                event.kind,
                event.uri,
                extra={"dataset_uri": event.uri, "event_id": event.event_id, "source": "watch"},
            )

        with services.watcher(uris, publish, debounce) as watcher:
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
@metrics_address
@pass_services
def s3_events(
    services: Services,
    queue_url: str | None,
    wait_seconds: int,
    log_level: str,
    metrics_address: str | None,
) -> None:
    """Turn S3 bucket notifications from an SQS queue into dataset events."""
    url = queue_url or services.settings.s3_queue_url
    if not url:
        fail("No SQS queue: set DTOOL_LOOKUP_S3_QUEUE_URL or pass --queue-url")
    configure_logging(services, "s3-events", log_level)
    checks = {"queue": services.queue_counts}
    with (
        stop_on_signals() as stop,
        services.metrics_listener("s3-events", metrics_address, checks),
    ):
        publisher = services.publisher(stop)
        source = services.s3_notifications(url, publisher, wait_seconds)
        log.info("s3-events: reading %s, publishing to %s", url, services.queue.safe_url)
        poll_until_stopped(source, stop)
    log.info("s3-events stopped")


def poll_until_stopped(source: SqsNotificationSource, stop: threading.Event) -> None:
    """Poll the notification queue until stopped, backing off while SQS fails."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - the s3 extra

    failures = 0
    while not stop.is_set():
        try:
            result = source.poll()
        except QueueUnavailable:
            return  # stopped while the broker was away: the messages stay in SQS
        except (BotoCoreError, ClientError) as ex:
            failures += 1
            delay = RECONNECT.delay(failures)
            log.warning("cannot receive notifications (%s); trying again in %.1f s", ex, delay)
            stop.wait(delay)
            continue
        failures = 0
        if result.received:
            log.info("s3-events: %s", result)

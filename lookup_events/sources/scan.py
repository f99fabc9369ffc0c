"""Rescan: make the index converge on what storage holds, whatever events were lost.

For each base URI the storage listing is compared with what the index holds
(``Stored``: ``{uri: stamp}`` of the base URI's records, handed in by the
caller, so a source never reads the store itself), and events are published,
never records written:

- ``frozen`` for a frozen dataset the store lacks;
- ``updated`` for one whose stamp in the listing differs from the stamp its
  record was stored with (``storage.stamps``: on disk the modification times
  and sizes of its metadata files, on S3 their ETags; the registrar takes it
  just before reading the dataset). A record without a stamp (registered
  from a document over HTTP or from an old server) counts as changed once;
- ``removed`` for a record whose dataset is no longer listed (or no longer
  frozen). A base URI that cannot be listed publishes nothing: an unmounted
  share or an unreachable bucket is not an empty one.

A dataset whose listed stamp matches its record is not read at all, so a
restart's rescan of an unchanged base URI lists it and reads nothing. Only
the datasets that are new or changed have their admin metadata read (to
tell a frozen dataset from a proto dataset). Storage whose listing gives no
stamps (brokers other than disk and S3) has its admin metadata read, and its
stamp is that metadata's digest, which only this process remembers.

A rescan publishes a dataset's state once per process (``seen``): a
dataset the registrar cannot store (an invalid one, dead-lettered) is not
published again at every interval until it changes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from lookup_events.errors import (
    DatabaseUnavailable,
    DatasetStorageUnavailable,
    InvalidDataset,
    QueueUnavailable,
)
from lookup_events.events import DatasetEvent, EventKind
from lookup_events.observability import metrics
from lookup_events.storage import list_dataset_stamps, read_admin_metadata
from lookup_events.storage.layout import AdminMetadata
from lookup_events.uris import normalise_uri

logger = logging.getLogger(__name__)

Publish = Callable[[DatasetEvent], None]
#: ``{uri: stamp}`` of every record the index holds in a base URI.
Stored = Callable[[str], dict[str, str | None]]
#: ``(uri, stamp or None)`` of every dataset a base URI lists.
Lister = Callable[[str], Iterator[tuple[str, str | None]]]
ReadAdmin = Callable[[str], AdminMetadata | None]
BaseURIs = Iterable[str] | Callable[[], Iterable[str]]


@dataclass
class RescanCounts:
    """What one rescan found and published."""

    frozen: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Return how many datasets had each result (``failed``: how many failed)."""
        found = {name: getattr(self, name) for name in ("frozen", "updated", "removed")}
        found.update(unchanged=self.unchanged, skipped=self.skipped, failed=len(self.failed))
        return found

    def add(self, kind: EventKind | None) -> None:
        """Count one dataset's outcome."""
        if kind is None:
            self.unchanged += 1
        else:
            setattr(self, kind, getattr(self, kind) + 1)


def rescan(
    base_uris: Iterable[str],
    stored: Stored,
    publish: Publish,
    *,
    lister: Lister = list_dataset_stamps,
    read_admin: ReadAdmin = read_admin_metadata,
    seen: dict[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> RescanCounts:
    """Publish the events that bring the store in line with storage; return counts.

    ``seen`` maps dataset URIs to the stamps this process last published and
    is updated in place.
    """
    counts = RescanCounts()
    scan = _Scan(stored, publish, lister, read_admin, clock)
    for base_uri in dict.fromkeys(normalise_uri(uri) for uri in base_uris):
        try:
            scan.run(base_uri, {} if seen is None else seen, counts)
        except DatasetStorageUnavailable as ex:
            logger.warning("rescan skipped %s: %s", base_uri, ex)
            counts.failed.append(base_uri)
    return counts


@dataclass
class _Scan:
    stored: Stored
    publish: Publish
    lister: Lister
    read_admin: ReadAdmin
    clock: Callable[[], float]

    def run(self, base_uri: str, seen: dict[str, str], counts: RescanCounts) -> None:
        listed = list(self.lister(base_uri))
        stored = self.stored(base_uri)
        keep: set[str] = set()
        for uri, stamp in listed:
            if stamp is not None and (stored.get(uri) == stamp or seen.get(uri) == stamp):
                keep.add(uri)  # unchanged since stored, or since published: not read
                counts.unchanged += 1
                continue
            self._judge(uri, stamp, stored=stored, seen=seen, keep=keep, counts=counts)
        for uri in sorted(stored.keys() - keep):
            counts.add(self._emit("removed", uri))
            seen.pop(uri, None)

    def _judge(
        self,
        uri: str,
        stamp: str | None,
        *,
        stored: dict[str, str | None],
        seen: dict[str, str],
        keep: set[str],
        counts: RescanCounts,
    ) -> None:
        """Read the admin metadata of a new or changed dataset; publish what it says."""
        try:
            admin = self.read_admin(uri)
        except InvalidDataset as ex:
            logger.warning("rescan cannot judge %s: %s", uri, ex)
            keep.add(uri)  # unknown is not gone: never remove on a failed read
            counts.skipped += 1
            return
        if admin is None or admin.get("type") != "dataset":
            counts.skipped += 1
            return
        keep.add(uri)
        digest = stamp if stamp is not None else _digest(sorted(map(repr, admin.items())))
        if uri in stored and seen.get(uri) == digest:
            counts.unchanged += 1
            return
        counts.add(self._emit("frozen" if uri not in stored else "updated", uri))
        seen[uri] = digest  # only once published: a failed publish is retried

    def _emit(self, kind: EventKind | None, uri: str) -> EventKind | None:
        if kind is not None:
            self.publish(DatasetEvent.create(kind, uri, "scan", clock=self.clock))
        return kind


class Rescanner:
    """Runs ``rescan`` at start, then every ``interval`` seconds, on a thread.

    ``base_uris`` may be a callable, read before each scan, so base URIs
    registered while the server runs are scanned too. An ``interval`` of 0
    scans once. A failed scan is logged and tried again at the next interval.
    """

    def __init__(
        self,
        base_uris: BaseURIs,
        stored: Stored,
        publish: Publish,
        *,
        interval: float = 0.0,
        lister: Lister = list_dataset_stamps,
        read_admin: ReadAdmin = read_admin_metadata,
    ) -> None:
        self._base_uris = base_uris
        self._stored = stored
        self._publish = publish
        self._interval = interval
        self._lister = lister
        self._read_admin = read_admin
        self._seen: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scans = 0
        self.last: RescanCounts | None = None

    def __enter__(self) -> Rescanner:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def run_once(self) -> RescanCounts:
        """Rescan every base URI now and return the counts."""
        uris = self._base_uris() if callable(self._base_uris) else self._base_uris
        counts = rescan(
            uris,
            self._stored,
            self._publish,
            lister=self._lister,
            read_admin=self._read_admin,
            seen=self._seen,
        )
        self.last, self.scans = counts, self.scans + 1
        metrics.count_rescan(counts.totals())
        return counts

    def start(self) -> None:
        """Start scanning on a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="dtool-rescan", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the scan in progress, if any, and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                counts = self.run_once()
                logger.info("rescan: %s", counts)
            except (DatabaseUnavailable, QueueUnavailable) as ex:
                logger.warning("rescan failed (%s); trying again at the next interval", ex)
            if self._interval <= 0 or self._stop.wait(self._interval):
                return


def _digest(value: object) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()

"""Rescan: make the index converge on what storage holds, whatever events were lost.

For each base URI the storage listing is compared with what the index holds
(``Stored``: ``{uri: frozen_at}`` of the base URI's records, handed in by the
caller, so a source never reads the store itself), and events are published,
never records written:

- ``frozen`` for a frozen dataset the store lacks;
- ``updated`` for one whose admin metadata (``frozen_at``) differs from its
  record, or whose content fingerprint differs from the one this scanner saw
  at its previous scan. There is none before the first scan, so the first
  scan of a process publishes ``updated`` for every dataset present: events
  may have been lost while nothing was watching, and the store keeps no
  fingerprint to compare with;
- ``removed`` for a record whose dataset is no longer listed (or no longer
  frozen). A base URI that cannot be listed publishes nothing: an unmounted
  share or an unreachable bucket is not an empty one.

The fingerprint of a disk dataset is the size and mtime of README.yml and
``.dtool/dtool`` and of every annotation and tag file (a few ``stat`` calls);
elsewhere it is the admin metadata, since reading more would cost as much as
registering, and bucket notifications cover content changes there.

Why not publish ``updated`` for every dataset on every scan (registration is
idempotent)? Re-registering costs the registrar a full read of each dataset
and the queue a message each, about twenty times what comparing listings and
fingerprints costs (``docs/measurements.md``); comparing pays that once per
process instead of once per interval.
"""

from __future__ import annotations

import hashlib
import logging
import os
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
from lookup_events.storage import list_dataset_uris, read_admin_metadata
from lookup_events.storage.layout import ADMIN_FILE, DTOOL_DIR, README_FILE, AdminMetadata
from lookup_events.uris import is_local, local_path, normalise_uri

logger = logging.getLogger(__name__)

Publish = Callable[[DatasetEvent], None]
#: ``{uri: frozen_at}`` of every record the index holds in a base URI.
Stored = Callable[[str], dict[str, float]]
Lister = Callable[[str], Iterator[str]]
ReadAdmin = Callable[[str], AdminMetadata | None]
Fingerprint = Callable[[str, AdminMetadata], str]
BaseURIs = Iterable[str] | Callable[[], Iterable[str]]

_FINGERPRINTED_DIRS = ("annotations", "tags")


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


def content_fingerprint(uri: str, admin: AdminMetadata) -> str:
    """Return a cheap digest that changes when a dataset's indexed content does."""
    if not is_local(uri):
        return _digest(sorted((str(k), str(v)) for k, v in admin.items()))
    path = local_path(uri)
    files = [os.path.join(path, README_FILE), os.path.join(path, DTOOL_DIR, ADMIN_FILE)]
    for name in _FINGERPRINTED_DIRS:
        files.extend(sorted(_files_in(os.path.join(path, DTOOL_DIR, name))))
    return _digest([(name, *_stamp(name)) for name in files])


def rescan(
    base_uris: Iterable[str],
    stored: Stored,
    publish: Publish,
    *,
    lister: Lister = list_dataset_uris,
    read_admin: ReadAdmin = read_admin_metadata,
    fingerprint: Fingerprint = content_fingerprint,
    seen: dict[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> RescanCounts:
    """Publish the events that bring the store in line with storage; return counts.

    ``seen`` maps dataset URIs to the fingerprints found by the previous scan
    and is updated in place; without it every dataset present counts as changed.
    """
    counts = RescanCounts()
    scan = _Scan(stored, publish, lister, read_admin, fingerprint, clock)
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
    fingerprint: Fingerprint
    clock: Callable[[], float]

    def run(self, base_uri: str, seen: dict[str, str], counts: RescanCounts) -> None:
        listed = list(self.lister(base_uri))
        stored = self.stored(base_uri)
        keep: set[str] = set()
        for uri in listed:
            try:
                admin = self.read_admin(uri)
            except InvalidDataset as ex:
                logger.warning("rescan cannot judge %s: %s", uri, ex)
                keep.add(uri)  # unknown is not gone: never remove on a failed read
                counts.skipped += 1
                continue
            if admin is None or admin.get("type") != "dataset":
                counts.skipped += 1
                continue
            keep.add(uri)
            digest = self.fingerprint(uri, admin)
            counts.add(self._emit(_change(uri, admin, digest, stored, seen), uri))
            seen[uri] = digest  # only once published: a failed publish is retried
        for uri in sorted(stored.keys() - keep):
            counts.add(self._emit("removed", uri))
            seen.pop(uri, None)

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
        lister: Lister = list_dataset_uris,
        read_admin: ReadAdmin = read_admin_metadata,
        fingerprint: Fingerprint = content_fingerprint,
    ) -> None:
        self._base_uris = base_uris
        self._stored = stored
        self._publish = publish
        self._interval = interval
        self._lister = lister
        self._read_admin = read_admin
        self._fingerprint = fingerprint
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
            fingerprint=self._fingerprint,
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


def _change(
    uri: str, admin: AdminMetadata, digest: str, stored: dict[str, float], seen: dict[str, str]
) -> EventKind | None:
    if uri not in stored:
        return "frozen"
    if _frozen_at(admin) != stored[uri] or digest != seen.get(uri):
        return "updated"
    return None


def _frozen_at(admin: AdminMetadata) -> float | None:
    try:
        return float(admin["frozen_at"])
    except (KeyError, TypeError, ValueError):
        return None


def _files_in(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return [entry.path for entry in entries if entry.is_file(follow_symlinks=False)]
    except OSError:
        return []


def _stamp(path: str) -> tuple[int, int]:
    try:
        status = os.stat(path)
    except OSError:
        return (-1, -1)
    return (status.st_mtime_ns, status.st_size)


def _digest(value: object) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()

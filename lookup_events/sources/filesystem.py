"""Watch ``file://`` base URIs; publish an event when a dataset is frozen, changed or removed.

The watcher only notices *that* something happened in a dataset directory.
It lets the burst of writes settle (``debounce`` seconds without a new file
event), re-reads the admin metadata ``.dtool/dtool`` and compares it with
what it saw last:

- now ``type == "dataset"``, and before not, or the admin metadata differs
  (a freeze, ``update_name``, a frozen dataset moved in): ``frozen``;
- frozen before and after, and README.yml, an annotation, a tag or an
  overlay changed: ``updated``;
- frozen before, and now gone or no longer frozen: ``removed``;
- anything about a proto dataset: nothing.

Deciding from the settled state on disk makes duplicated, lost or reordered
file events cost only a re-read (``reference/events.md`` §1.3). Datasets
already in a base when the watcher starts are the rescan's business: the
watcher records their state silently and reports only later changes.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
import time
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from watchdog.events import FileSystemEvent, FileSystemEventHandler, FileSystemMovedEvent
from watchdog.observers.api import BaseObserver

from lookup_events.events import DatasetEvent, EventKind
from lookup_events.sources.dtool_tree import (
    LIMIT_ERRNOS,
    ResyncEvent,
    WatchLimitEvent,
    change_of,
    default_observer,
    dispose,
    polling_observer,
    relative_parts,
)
from lookup_events.storage.layout import (
    AdminMetadata,
    Unsettled,
    read_admin_file,
)
from lookup_events.uris import is_local, local_path, normalise_uri

logger = logging.getLogger(__name__)

Publish = Callable[[DatasetEvent], None]
ObserverFactory = Callable[[str], BaseObserver]
PollingFactory = Callable[[str, float], BaseObserver]

_IGNORED_TYPES = frozenset({"opened", "closed_no_write", "attrib"})
_SETTLE_ATTEMPTS = 20
# errno -> (the sysctl, its per-user-namespace twin in /proc/sys/user, a value to suggest)
_LIMITS = {
    errno.ENOSPC: ("fs.inotify.max_user_watches", "max_inotify_watches", 524288),
    errno.EMFILE: ("fs.inotify.max_user_instances", "max_inotify_instances", 1024),
}


def decide(
    before: AdminMetadata | None, now: AdminMetadata | None, content: bool
) -> EventKind | None:
    """Return the event that the change from ``before`` to ``now`` amounts to."""
    was_frozen = before is not None and before.get("type") == "dataset"
    if now is not None and now.get("type") == "dataset":
        if not was_frozen or before != now:
            return "frozen"
        return "updated" if content else None
    return "removed" if was_frozen else None


@dataclass
class _Pending:
    uri: str
    path: str
    first: float
    last: float
    content: bool = False
    attempts: int = 0

    def due(self, debounce: float) -> float:
        return min(self.last + debounce, self.first + 10 * debounce)


@dataclass
class _Base:
    uri: str
    path: str
    observer: BaseObserver | None = None
    mode: str = ""

    def dataset(self, name: str) -> tuple[str, str]:
        return f"{self.uri}/{name}", os.path.join(self.path, name)


@dataclass
class _Settler:
    """Coalesces marks per dataset and publishes what the settled state says."""

    publish: Publish
    debounce: float
    clock: Callable[[], float]
    monotonic: Callable[[], float] = time.monotonic
    known: dict[str, AdminMetadata] = field(default_factory=dict)
    pending: dict[str, _Pending] = field(default_factory=dict)
    actions: list[Callable[[], None]] = field(default_factory=list)
    stopping: bool = False
    cond: threading.Condition = field(default_factory=threading.Condition)
    thread: threading.Thread | None = None

    def remember(self, uri: str, path: str) -> None:
        """Record the current state of a dataset without publishing anything."""
        try:
            admin = read_admin_file(path)
        except (Unsettled, OSError):
            return  # judged when it next changes
        with self.cond:
            self._set_known(uri, admin)

    def mark(self, uri: str, path: str, content: bool, attempts: int = 0) -> None:
        """Note that something happened to a dataset; settle it after a quiet spell."""
        now = self.monotonic()
        with self.cond:
            pending = self.pending.setdefault(uri, _Pending(uri, path, now, now))
            pending.last = now
            pending.content = pending.content or content
            pending.attempts = max(pending.attempts, attempts)
            self.cond.notify()

    def known_uris(self) -> list[str]:
        """Return the URIs of the datasets whose state is recorded."""
        with self.cond:
            return list(self.known)

    def call_soon(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the settling thread (never on an observer's own)."""
        with self.cond:
            self.actions.append(action)
            self.cond.notify()

    def start(self) -> None:
        """Start the settling thread."""
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="dtool-watch-settle", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Settle everything still pending now, then end the thread."""
        with self.cond:
            self.stopping = True
            self.cond.notify()
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def _run(self) -> None:
        while True:
            actions, batch, stopping = self._next_batch()
            for action in actions:
                _guard(action)
            for pending in batch:
                _guard(functools.partial(self._settle, pending))
            if stopping:
                return

    def _next_batch(self) -> tuple[list[Callable[[], None]], list[_Pending], bool]:
        with self.cond:
            while True:
                now = self.monotonic()
                due = [
                    p
                    for p in self.pending.values()
                    if self.stopping or p.due(self.debounce) <= now
                ]
                if due or self.actions or self.stopping:
                    for pending in due:
                        del self.pending[pending.uri]
                    actions, self.actions = self.actions, []
                    return ([] if self.stopping else actions), due, self.stopping
                wake = min((p.due(self.debounce) for p in self.pending.values()), default=None)
                self.cond.wait(None if wake is None else max(wake - now, 0.001))

    def _settle(self, pending: _Pending) -> None:
        try:
            now = read_admin_file(pending.path)
        except Unsettled as ex:
            if pending.attempts < _SETTLE_ATTEMPTS and not self.stopping:
                self.mark(pending.uri, pending.path, pending.content, pending.attempts + 1)
            else:
                logger.warning("ignoring %s: %s", pending.uri, ex)
            return
        with self.cond:
            before = self.known.get(pending.uri)
            self._set_known(pending.uri, now)
        kind = decide(before, now, pending.content)
        if kind is not None:
            self.publish(DatasetEvent.create(kind, pending.uri, "watch", clock=self.clock))

    def _set_known(self, uri: str, admin: AdminMetadata | None) -> None:
        if admin is None:
            self.known.pop(uri, None)
        else:
            self.known[uri] = admin


class _BaseHandler(FileSystemEventHandler):
    """Turns file events below one base directory into marks on its datasets."""

    def __init__(self, base: _Base, settler: _Settler, watcher: DatasetWatcher) -> None:
        self._base = base
        self._settler = settler
        self._watcher = watcher

    def dispatch(self, event: FileSystemEvent) -> None:
        """Mark the dataset(s) an event concerns; hand limit and overflow to the watcher."""
        if isinstance(event, WatchLimitEvent):
            code = int(event.dest_path)
            self._settler.call_soon(lambda: self._watcher._fall_back(self._base, code))
        elif isinstance(event, ResyncEvent):
            self._settler.call_soon(lambda: self._watcher._resync(self._base))
        elif event.event_type not in _IGNORED_TYPES:
            self._note(event.src_path, event.is_directory)
            if isinstance(event, FileSystemMovedEvent):
                self._note(event.dest_path, event.is_directory)

    def _note(self, path: bytes | str, is_directory: bool) -> None:
        parts = relative_parts(self._base.path, os.fsdecode(path))
        if not parts:
            return
        content = change_of(parts, is_directory)
        if content is not None:
            self._settler.mark(*self._base.dataset(parts[0]), content)


class DatasetWatcher:
    """Watches ``file://`` base URIs and publishes dataset events as they happen.

    Args:
        base_uris: base URIs to watch; other schemes are skipped.
        publish: called with each event, on the watcher's own thread.
        debounce: seconds without file events before a dataset is re-read.
        poll_interval: seconds between polls of a base URI that fell back.
        observer_factory: builds the event-driven observer of a base directory.
        polling_factory: builds the polling observer (root, interval).
        clock: the time stamped on events.
    """

    def __init__(
        self,
        base_uris: Iterable[str],
        publish: Publish,
        *,
        debounce: float = 0.15,
        poll_interval: float = 2.0,
        observer_factory: ObserverFactory = default_observer,
        polling_factory: PollingFactory = polling_observer,
        clock: Callable[[], float] = time.time,
    ) -> None:
        uris = dict.fromkeys(normalise_uri(uri) for uri in base_uris)
        self._bases = [
            _Base(uri, os.path.abspath(local_path(uri))) for uri in uris if is_local(uri)
        ]
        self._settler = _Settler(publish, debounce, clock)
        self._poll_interval = poll_interval
        self._observer_factory = observer_factory
        self._polling_factory = polling_factory
        self._lock = threading.RLock()
        self._running = False

    def __enter__(self) -> DatasetWatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def modes(self) -> dict[str, str]:
        """Return how each base URI is watched: ``events``, ``polling`` or ``missing``."""
        with self._lock:
            return {base.uri: base.mode for base in self._bases}

    def observers(self) -> dict[str, BaseObserver | None]:
        """Return the observer watching each base URI (for inspection)."""
        with self._lock:
            return {base.uri: base.observer for base in self._bases}

    def start(self) -> None:
        """Record the datasets present, then watch every base URI."""
        with self._lock:
            if self._running:
                return
            self._running = True
            self._settler.start()
            try:
                for base in self._bases:
                    self._start_base(base)
            except BaseException:
                self.stop()
                raise

    def stop(self) -> None:
        """Stop watching, publish what is still pending, and wait for the threads."""
        with self._lock:
            if not self._running:
                return
            self._running = False
            for base in self._bases:
                if base.observer is not None:
                    dispose(base.observer)
                    base.observer = None
        self._settler.stop()

    def _resync(self, base: _Base) -> None:
        """Re-read every dataset of ``base``; publish whatever changed."""
        names = set(_child_dirs(base.path))
        prefix = base.uri + "/"
        names.update(
            uri[len(prefix) :] for uri in self._settler.known_uris() if uri.startswith(prefix)
        )
        for name in names:
            self._settler.mark(*base.dataset(name), False)

    def _fall_back(self, base: _Base, code: int) -> None:
        """Switch ``base`` to polling after the kernel refused an inotify watch."""
        with self._lock:
            if not self._running or base.mode == "polling":
                return
            logger.warning(_limit_warning(base.uri, code, self._poll_interval))
            if base.observer is not None:
                dispose(base.observer)
            base.observer, base.mode = self._start_polling(base), "polling"
        self._resync(base)

    def _start_base(self, base: _Base) -> None:
        if not os.path.isdir(base.path):
            logger.warning("not watching %s: %s is not a directory", base.uri, base.path)
            base.mode = "missing"
            return
        for name in _child_dirs(base.path):
            self._settler.remember(*base.dataset(name))
        try:
            base.observer, base.mode = self._start_events(base), "events"
        except OSError as ex:
            if ex.errno not in LIMIT_ERRNOS:
                raise
            logger.warning(_limit_warning(base.uri, ex.errno, self._poll_interval))
            base.observer, base.mode = self._start_polling(base), "polling"
        # NOTE(dev): check after watching: writes made before a watch existed.
        self._resync(base)

    def _start_events(self, base: _Base) -> BaseObserver:
        observer = self._observer_factory(base.path)
        try:
            observer.schedule(_BaseHandler(base, self._settler, self), base.path, recursive=True)
            observer.start()
        except BaseException:
            dispose(observer)
            raise
        return observer

    def _start_polling(self, base: _Base) -> BaseObserver:
        observer = self._polling_factory(base.path, self._poll_interval)
        observer.schedule(_BaseHandler(base, self._settler, self), base.path, recursive=True)
        observer.start()
        return observer


def _limit_warning(base_uri: str, code: int, interval: float) -> str:
    sysctl, twin, suggested = _LIMITS.get(code, _LIMITS[errno.ENOSPC])
    try:
        with open(f"/proc/sys/user/{twin}") as limit_file:  # what applies to this process
            current = limit_file.read().strip()
    except OSError:
        current = "unknown"
    return (
        f"inotify limit {sysctl} (now {current}) reached while watching {base_uri}: "
        f"polling it every {interval:g} s instead. Raise the limit, e.g. `sudo sysctl -w "
        f"{sysctl}={suggested}` (persist it in /etc/sysctl.d/), then restart the watcher."
    )


def _child_dirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _guard(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:
        logger.exception("dataset watcher step failed; the next rescan will catch up")

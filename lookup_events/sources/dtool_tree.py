"""The dtool layout below a base directory, and watchdog observers over it.

A base directory holds datasets as direct children. What tells us that a
dataset was frozen, changed or removed lives in a fixed, shallow layout
(``reference/events.md`` §1.1)::

    <base>/                              watched
    <base>/<ds>/                         watched: README.yml, .dtool, the dir itself
    <base>/<ds>/.dtool/                  watched: dtool (admin metadata)
    <base>/<ds>/.dtool/{annotations,tags,overlays}/   watched
    <base>/<ds>/data/ ...                never watched (items can number millions)

``DtoolTreeObserver`` is a watchdog observer whose emitter puts one inotify
watch on each of those directories, so N datasets cost 1 + 5N kernel watches
and three threads in all. ``polling_observer`` walks the same directories,
for when inotify is exhausted or cannot see the writes (NFS, Lustre, GPFS).
``read_admin_file`` and ``change_of`` say what a path in the layout means.

NOTE(dev): watchdog's own ``InotifyObserver`` runs one emitter thread per
scheduled path (thousands of threads for a large base: see
``docs/measurements.md``), and a recursive watch both descends into
``data/`` and, in 7.1, silently skips sub-directories it cannot watch when
the limit is reached. This emitter adds each watch itself, so every refusal
is seen. It needs watchdog >= 7 (``inotify_c.InotifyFD``).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
from collections.abc import Iterator, Sequence

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileSystemEvent,
)
from watchdog.observers import Observer
from watchdog.observers.api import (
    DEFAULT_EMITTER_TIMEOUT,
    DEFAULT_OBSERVER_TIMEOUT,
    BaseObserver,
    EventEmitter,
    EventQueue,
    ObservedWatch,
)
from watchdog.observers.polling import PollingObserverVFS
from watchdog.utils import UnsupportedLibcError

from lookup_events.storage.layout import ADMIN_FILE, DTOOL_DIR, META_DIRS, README_FILE

try:
    from watchdog.observers.inotify_c import (
        CallbackId,
        InotifyConstants,
        InotifyEvent,
        InotifyFD,
        Mask,
        WatchDescriptor,
    )

    HAVE_INOTIFY = True
except (ImportError, OSError, TypeError, UnsupportedLibcError):  # not Linux
    HAVE_INOTIFY = False

logger = logging.getLogger(__name__)

#: errno values meaning "the kernel's inotify limits are exhausted".
LIMIT_ERRNOS = frozenset({errno.ENOSPC, errno.EMFILE})


def change_of(parts: list[str], is_directory: bool) -> bool | None:
    """Classify a path below a base: None (irrelevant), True (content), False (admin)."""
    if len(parts) == 1:
        return False if is_directory else None
    if parts[1] == README_FILE and len(parts) == 2:
        return True
    if parts[1] != DTOOL_DIR:
        return None
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == ADMIN_FILE):
        return False
    return True if parts[2] in META_DIRS and len(parts) <= 4 else None


def relative_parts(root: str, path: str) -> list[str] | None:
    """Return the components of ``path`` below ``root``, or None if outside."""
    if path == root:
        return []
    prefix = root.rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return None
    return path[len(prefix) :].split(os.sep)


def is_watched_dir(parts: Sequence[str]) -> bool:
    """Tell whether the directory at ``parts`` below a base needs watching."""
    if len(parts) <= 1:
        return True
    if parts[1] != DTOOL_DIR:
        return False
    return len(parts) == 2 or (len(parts) == 3 and parts[2] in META_DIRS)


def tree_below(root: str, path: str) -> list[str]:
    """Return ``path`` and the watched directories the layout puts below it."""
    parts = relative_parts(root, path) or []
    if len(parts) == 1:
        dtool = os.path.join(path, DTOOL_DIR)
        return [path, dtool, *(os.path.join(dtool, name) for name in META_DIRS)]
    if len(parts) == 2 and parts[1] == DTOOL_DIR:
        return [path, *(os.path.join(path, name) for name in META_DIRS)]
    return [path]


class WatchLimitEvent(FileSystemEvent):
    """The kernel refused a watch below ``src_path`` (errno in ``dest_path``)."""

    event_type = "watch_limit"


class ResyncEvent(FileSystemEvent):
    """Events were lost below ``src_path``; re-read every dataset there."""

    event_type = "resync"


class DtoolTreeEmitter(EventEmitter):
    """Emits file events for dataset metadata below one base directory."""

    def __init__(
        self,
        event_queue: EventQueue,
        watch: ObservedWatch,
        *,
        timeout: float = DEFAULT_EMITTER_TIMEOUT,
        event_filter: list[type[FileSystemEvent]] | None = None,
        inotify_fd: InotifyFD,
    ) -> None:
        super().__init__(event_queue, watch, timeout=timeout, event_filter=event_filter)
        self._fd = inotify_fd
        self._id = CallbackId(id(self))
        self._lock = threading.Lock()
        self._root = os.path.abspath(watch.path)
        self._wd_of: dict[str, WatchDescriptor] = {}
        self._path_of: dict[WatchDescriptor, str] = {}

    def on_thread_start(self) -> None:
        """Watch the base and its datasets; raises OSError if the base cannot be."""
        self._watch_tree(self._root)

    def on_thread_stop(self) -> None:
        """Remove every watch this emitter added."""
        with self._lock:
            wds = list(self._path_of)
            self._wd_of.clear()
            self._path_of.clear()
        self._fd.remove_callbacks([(wd, self._id) for wd in wds])

    def queue_events(self, timeout: float) -> None:
        """Wait for the stop: ``on_event`` queues events on the inotify thread."""
        self.stopped_event.wait()

    def on_event(self, event: InotifyEvent) -> None:
        """Translate one inotify event on a watched directory."""
        with self._lock:
            parent = self._path_of.get(event.wd)
        if parent is None or not event.name:
            return
        path = os.path.join(parent, os.fsdecode(event.name))
        if event.is_delete or event.is_moved_from:
            if event.is_directory:
                self._unwatch(tree_below(self._root, path))
            self.queue_event((DirDeletedEvent if event.is_directory else FileDeletedEvent)(path))
        elif event.is_create or event.is_moved_to:
            if event.is_directory and is_watched_dir(relative_parts(self._root, path) or []):
                self._watch_new(path)
            self.queue_event((DirCreatedEvent if event.is_directory else FileCreatedEvent)(path))
        elif event.is_close_write:
            self.queue_event(FileClosedEvent(path))

    def on_watch_deleted(self, wd: WatchDescriptor) -> None:
        """Forget a watch the kernel dropped (its directory was deleted)."""
        with self._lock:
            path = self._path_of.pop(wd, None)
            if path is not None and self._wd_of.get(path) == wd:
                del self._wd_of[path]

    def on_queue_overflow(self) -> None:
        """Re-watch what may have appeared while events were dropped."""
        self._watch_new(self._root)

    def on_events_lost(self) -> None:
        """Ask for every dataset to be re-read, once every watch is repaired."""
        self.queue_event(ResyncEvent(self._root))

    def _watch_new(self, path: str) -> None:
        try:
            self._watch_tree(path)
        except OSError as ex:
            if ex.errno not in LIMIT_ERRNOS:
                raise
            self.queue_event(WatchLimitEvent(path, str(ex.errno)))

    def _watch_tree(self, path: str) -> None:
        if not self._add_watch(path):
            return
        for child in _child_dirs(path):
            if is_watched_dir(relative_parts(self._root, child) or []):
                self._watch_tree(child)

    def _add_watch(self, path: str) -> bool:
        with self._lock:
            if path in self._wd_of:
                return True
        try:
            wd = self._fd.add_callback(os.fsencode(path), _mask(), self, self._id)
        except OSError as ex:
            if ex.errno in LIMIT_ERRNOS or path == self._root:
                raise
            return False  # gone again, or not a directory: nothing to watch
        with self._lock:
            self._wd_of[path] = wd
            self._path_of[wd] = path
        return True

    def _unwatch(self, paths: Sequence[str]) -> None:
        with self._lock:
            wds = [self._wd_of.pop(path) for path in paths if path in self._wd_of]
            for wd in wds:
                self._path_of.pop(wd, None)
        self._fd.remove_callbacks([(wd, self._id) for wd in wds])


class DtoolTreeObserver(BaseObserver):
    """A watchdog observer over dataset metadata, one inotify instance per observer."""

    def __init__(
        self, *, timeout: float = DEFAULT_OBSERVER_TIMEOUT, inotify_fd: InotifyFD | None = None
    ) -> None:
        # OSError EMFILE here: fs.inotify.max_user_instances is reached.
        self._inotify_fd = InotifyFD() if inotify_fd is None else inotify_fd
        self._inotify_fd.start()
        super().__init__(DtoolTreeEmitter, timeout=timeout, inotify_fd=self._inotify_fd)

    def on_thread_stop(self) -> None:
        """Stop the emitters, then close the inotify instance."""
        super().on_thread_stop()
        self._inotify_fd.stop()
        if self._inotify_fd.is_alive() and self._inotify_fd is not threading.current_thread():
            self._inotify_fd.join()


def default_observer(root: str) -> BaseObserver:
    """Return an event-driven observer: ``DtoolTreeObserver`` on Linux.

    Elsewhere watchdog's native observer (FSEvents, ReadDirectoryChangesW)
    watches the whole tree, which costs those APIs no per-directory watch.
    """
    return DtoolTreeObserver() if HAVE_INOTIFY else Observer()


def polling_observer(root: str, interval: float) -> BaseObserver:
    """Return an observer that polls ``root`` every ``interval`` s, skipping ``data/``."""
    listdir = functools.partial(_scan_layout, os.path.abspath(root))
    return PollingObserverVFS(os.stat, listdir, polling_interval=interval)


def dispose(observer: BaseObserver) -> None:
    """Stop an observer, started or not, and wait for its threads."""
    observer.stop()
    if observer.ident is not None and observer is not threading.current_thread():
        observer.join()


def _scan_layout(root: str, path: str | None) -> Iterator[os.DirEntry[str]]:
    with os.scandir(path) as entries:
        kept = [entry for entry in entries if _in_layout(root, entry)]
    return iter(kept)


def _in_layout(root: str, entry: os.DirEntry[str]) -> bool:
    if not entry.is_dir(follow_symlinks=False):
        return True
    return is_watched_dir(relative_parts(root, entry.path) or [])


def _child_dirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return [entry.path for entry in entries if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []


@functools.cache
def _mask() -> Mask:
    flags = InotifyConstants
    return Mask(
        flags.IN_CREATE
        | flags.IN_DELETE
        | flags.IN_MOVED_FROM
        | flags.IN_MOVED_TO
        | flags.IN_CLOSE_WRITE
        | flags.IN_ONLYDIR
        | flags.IN_DONT_FOLLOW
        | flags.IN_EXCL_UNLINK
    )

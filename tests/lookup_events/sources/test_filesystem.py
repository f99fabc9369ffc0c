"""DatasetWatcher on real dtool datasets, with real watchdog observers (inotify and polling)."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dtoolcore
import pytest
from watchdog.observers.api import BaseObserver

from lookup_events.events import DatasetEvent
from lookup_events.sources.dtool_tree import (
    HAVE_INOTIFY,
    DtoolTreeObserver,
    default_observer,
    polling_observer,
)
from lookup_events.sources.filesystem import DatasetWatcher, decide
from lookup_events.sources.scan import rescan
from lookup_events.store import Stores
from lookup_events.uris import normalise_uri
from tests.support.datasets import README, make_dataset

REPO = Path(__file__).resolve().parents[3]
TIMEOUT = 10.0

# Run as root of a new user namespace, whose inotify limits it may lower for itself alone.
LIMIT_PROBE = """
import json, logging, sys, time
from pathlib import Path
from lookup_events.sources.filesystem import DatasetWatcher
from tests.support.datasets import make_dataset

LIMIT = Path("/proc/sys/user/max_inotify_watches")
root = Path(sys.argv[1])
first, second = root / "first", root / "second"
for i in range(5):
    make_dataset(first, f"old{i}")
second.mkdir()
logging.basicConfig(level=logging.WARNING)
events, result = [], {}

def frozen(base):
    return sorted(e.uri.rsplit("/", 1)[1] for e in events
                  if e.kind == "frozen" and e.base_uri.endswith("/" + base.name))

def wait(condition):
    deadline = time.monotonic() + 30
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)

LIMIT.write_text("30")  # the start needs 1 + 5 * 5 = 26
with DatasetWatcher([str(first)], events.append, debounce=0.1, poll_interval=0.2) as watcher:
    result["at_start"] = next(iter(watcher.modes().values()))
    for i in range(3):
        make_dataset(first, f"new{i}")
    wait(lambda: len(frozen(first)) >= 3)
    result["after_limit"] = next(iter(watcher.modes().values()))
    result["frozen"] = frozen(first)
    LIMIT.write_text("0")
    with DatasetWatcher([str(second)], events.append, debounce=0.1, poll_interval=0.2) as other:
        result["second_watcher"] = next(iter(other.modes().values()))
        make_dataset(second, "late")
        wait(lambda: frozen(second) == ["late"])
        result["second_frozen"] = frozen(second)
print(json.dumps(result))
"""


class Recorder:
    """Collects published events; waits (with a timeout) for the ones expected."""

    def __init__(self) -> None:
        self.events: list[DatasetEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: DatasetEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def kinds(self, name: str) -> list[str]:
        """Return the kinds of the events published for dataset ``name``, in order."""
        with self._cond:
            return [e.kind for e in self.events if e.uri.rsplit("/", 1)[1] == name]

    def wait_for(self, name: str, *kinds: str) -> None:
        """Wait until the events for ``name`` are exactly ``kinds``."""
        deadline = time.monotonic() + TIMEOUT
        with self._cond:
            while self.kinds(name) != list(kinds):
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"events for {name}: {self.kinds(name)}, expected {list(kinds)}")
                self._cond.wait(left)


def barrier(base: Path, recorder: Recorder) -> None:
    """Freeze a new dataset and wait for its event: everything earlier has been settled.

    Datasets are settled in the order they were first touched, so once the
    barrier's event is out, no event for an earlier change is still to come.
    """
    name = f"barrier-{uuid.uuid4().hex[:8]}"
    make_dataset(base, name)
    recorder.wait_for(name, "frozen")


def polling(root: str) -> BaseObserver:
    return polling_observer(root, 0.1)


OBSERVERS = [
    pytest.param(
        None,
        id="inotify",
        marks=pytest.mark.skipif(not HAVE_INOTIFY, reason="inotify is Linux only"),
    ),
    pytest.param(polling, id="polling"),
]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    path = tmp_path / "base"
    path.mkdir()
    return path


@pytest.fixture(params=OBSERVERS)
def recorder(request: pytest.FixtureRequest, base: Path) -> Iterator[Recorder]:
    """Watch ``base`` with each kind of observer; yield what gets published."""
    factory: Callable[[str], BaseObserver] = request.param or default_observer
    published = Recorder()
    with DatasetWatcher([str(base)], published, debounce=0.1, observer_factory=factory):
        yield published


def test_a_freeze_publishes_one_frozen_event_and_a_proto_none(
    base: Path, recorder: Recorder, tmp_path: Path
) -> None:
    proto = dtoolcore.create_proto_dataset("fruit", str(base), README, "grumpy")
    item = tmp_path / "apple.txt"
    item.write_text("apple")
    proto.put_item(str(item), "a.txt")
    proto.put_item(str(item), "deep/er/b.txt")
    proto.add_item_metadata(dtoolcore.utils.generate_identifier("a.txt"), "colour", "red")
    proto.add_item_metadata(dtoolcore.utils.generate_identifier("deep/er/b.txt"), "colour", "g")
    proto.put_tag("ripe")
    proto.put_annotation("project", "orchard")
    barrier(base, recorder)
    assert recorder.kinds("fruit") == []

    proto.freeze()

    recorder.wait_for("fruit", "frozen")
    barrier(base, recorder)
    assert recorder.kinds("fruit") == ["frozen"]
    event = next(e for e in recorder.events if e.uri.endswith("/fruit"))
    assert event.uri == normalise_uri(str(base / "fruit"))
    assert event.base_uri == normalise_uri(str(base))
    assert event.source == "watch"


@pytest.mark.slow
def test_the_dtool_command_line_create_and_freeze(
    base: Path, recorder: Recorder, tmp_path: Path
) -> None:
    dtool = Path(sys.executable).with_name("dtool")
    item = tmp_path / "pear.txt"
    item.write_text("pear")

    uri = _dtool(dtool, "create", "--quiet", "cli-ds", str(base)).strip()
    _dtool(dtool, "add", "item", str(item), uri)
    barrier(base, recorder)
    assert recorder.kinds("cli-ds") == []
    _dtool(dtool, "freeze", uri)

    recorder.wait_for("cli-ds", "frozen")
    barrier(base, recorder)
    assert recorder.kinds("cli-ds") == ["frozen"]


def test_datasets_moved_in_renamed_and_moved_out(
    base: Path, recorder: Recorder, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    make_dataset(outside, "travel")

    shutil.move(outside / "travel", base / "travel")
    recorder.wait_for("travel", "frozen")
    (base / "travel").rename(base / "trip")
    recorder.wait_for("travel", "frozen", "removed")
    recorder.wait_for("trip", "frozen")
    shutil.move(base / "trip", outside / "back")
    recorder.wait_for("trip", "frozen", "removed")


@pytest.mark.slow
def test_changes_after_freeze_are_updates(base: Path, recorder: Recorder) -> None:
    dataset = dtoolcore.DataSet.from_uri(make_dataset(base, "fruit"))
    recorder.wait_for("fruit", "frozen")

    dataset.put_readme("---\ndescription: ripe apples\n")
    recorder.wait_for("fruit", "frozen", "updated")
    dataset.put_tag("ripe")
    recorder.wait_for("fruit", "frozen", "updated", "updated")
    dataset.put_annotation("colour", "red")
    recorder.wait_for("fruit", "frozen", "updated", "updated", "updated")
    dataset.delete_tag("ripe")
    recorder.wait_for("fruit", "frozen", *["updated"] * 4)
    dataset.update_name("apples")  # rewrites .dtool/dtool: register again
    recorder.wait_for("fruit", "frozen", *["updated"] * 4, "frozen")


def test_rm_rf_removes_a_frozen_dataset_and_is_silent_for_a_proto(
    base: Path, recorder: Recorder
) -> None:
    make_dataset(base, "fruit")
    make_dataset(base, "draft", freeze=False)
    recorder.wait_for("fruit", "frozen")

    shutil.rmtree(base / "fruit")
    shutil.rmtree(base / "draft")

    recorder.wait_for("fruit", "frozen", "removed")
    barrier(base, recorder)
    assert recorder.kinds("fruit") == ["frozen", "removed"]
    assert recorder.kinds("draft") == []


def test_datasets_there_before_the_start_are_left_to_the_rescan(
    base: Path, sqlite_stores: Stores
) -> None:
    make_dataset(base, "old")
    make_dataset(base, "older-draft", freeze=False)
    watched, scanned = Recorder(), Recorder()

    with DatasetWatcher([str(base)], watched, debounce=0.1):
        barrier(base, watched)
        counts = rescan([str(base)], sqlite_stores.datasets.frozen_at_by_uri, scanned)

    assert watched.kinds("old") == []
    assert scanned.kinds("old") == ["frozen"]
    assert scanned.kinds("older-draft") == []
    assert counts.frozen == 2  # "old" and the barrier dataset


@pytest.mark.skipif(not HAVE_INOTIFY, reason="inotify is Linux only")
def test_inotify_watches_the_metadata_directories_and_never_data(base: Path) -> None:
    for name in ("a", "b"):
        make_dataset(base, name, items={"x/y/z.txt": b"1", "top.txt": b"2"})
    published = Recorder()

    with DatasetWatcher([str(base)], published, debounce=0.1):
        assert _watched_dirs(base) == _metadata_dirs(base, "a", "b")
        make_dataset(base, "c", items={"deep/dir/f.txt": b"3"})
        published.wait_for("c", "frozen")
        _wait_until(lambda: _watched_dirs(base) == _metadata_dirs(base, "a", "b", "c"))
        shutil.rmtree(base / "a")
        published.wait_for("a", "removed")
        _wait_until(lambda: _watched_dirs(base) == _metadata_dirs(base, "b", "c"))
        data_dirs = {_key(p) for p in base.glob("*/data/**") if p.is_dir()}
        assert data_dirs and not data_dirs & _inotify_watches()

    assert not _watched_dirs(base)


@pytest.mark.parametrize(
    ("code", "setting"),
    [(errno.ENOSPC, "fs.inotify.max_user_watches"), (errno.EMFILE, "max_user_instances")],
)
def test_an_exhausted_inotify_limit_falls_back_to_polling(
    base: Path, caplog: pytest.LogCaptureFixture, code: int, setting: str
) -> None:
    # NOTE(dev): the kernel limit cannot be lowered for this process alone, so
    # the refusal is injected here; the user-namespace test below is the real one.
    def refusing(root: str) -> BaseObserver:
        raise OSError(code, os.strerror(code))

    published = Recorder()
    caplog.set_level(logging.WARNING, logger="lookup_events.sources.filesystem")
    watcher = DatasetWatcher([str(base)], published, observer_factory=refusing, poll_interval=0.1)
    with watcher:
        assert watcher.modes() == {normalise_uri(str(base)): "polling"}
        make_dataset(base, "fruit")
        published.wait_for("fruit", "frozen")

    assert setting in caplog.text
    assert "sysctl -w" in caplog.text
    assert normalise_uri(str(base)) in caplog.text


if HAVE_INOTIFY:
    from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent, InotifyFD

    class _FaultyInotify(InotifyFD):  # type: ignore[misc]
        """A real inotify instance that refuses watches past ``limit`` and can lose events."""

        def __init__(self, limit: int = 1_000) -> None:
            super().__init__()
            self.limit, self.added, self.losing = limit, 0, False
            self.lost: list[InotifyEvent] = []

        def add_callback(self, path: bytes, mask: int, callback: Any, id_: int) -> int:
            if self.added >= self.limit:
                raise OSError(errno.ENOSPC, "inotify watch limit reached")
            self.added += 1
            return int(super().add_callback(path, mask, callback, id_))

        def handle_event(self, event: InotifyEvent) -> None:
            if self.losing and not event.is_queue_overflow:
                self.lost.append(event)
            else:
                super().handle_event(event)


@pytest.mark.skipif(not HAVE_INOTIFY, reason="inotify is Linux only")
def test_a_watch_refused_while_running_switches_that_base_to_polling(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_dataset(base, "a")
    make_dataset(base, "b")
    inotify = _FaultyInotify(limit=1 + 5 * 2)
    published = Recorder()
    caplog.set_level(logging.WARNING, logger="lookup_events.sources.filesystem")
    watcher = DatasetWatcher(
        [str(base)],
        published,
        debounce=0.1,
        poll_interval=0.1,
        observer_factory=lambda root: DtoolTreeObserver(inotify_fd=inotify),
    )

    with watcher:
        assert watcher.modes() == {normalise_uri(str(base)): "events"}
        make_dataset(base, "c")  # its first watch is refused
        published.wait_for("c", "frozen")
        _wait_until(lambda: watcher.modes() == {normalise_uri(str(base)): "polling"})
        make_dataset(base, "d")
        published.wait_for("d", "frozen")
        assert _watched_dirs(base) == set()  # the refused inotify instance is gone

    assert "fs.inotify.max_user_watches" in caplog.text


@pytest.mark.skipif(not HAVE_INOTIFY, reason="inotify is Linux only")
def test_events_lost_in_a_queue_overflow_are_recovered(base: Path) -> None:
    proto = dtoolcore.create_proto_dataset("fruit", str(base), README)
    inotify = _FaultyInotify()
    published = Recorder()
    watcher = DatasetWatcher(
        [str(base)],
        published,
        debounce=0.1,
        observer_factory=lambda root: DtoolTreeObserver(inotify_fd=inotify),
    )

    with watcher:
        barrier(base, published)  # the start's own look at "fruit" is over
        inotify.losing = True  # as if the kernel queue overflowed
        proto.freeze()
        _wait_until(lambda: any(e.name == b"dtool" and e.is_close_write for e in inotify.lost))
        inotify.losing = False
        barrier(base, published)
        assert published.kinds("fruit") == []  # the freeze went unnoticed

        inotify.handle_event(InotifyEvent(-1, InotifyConstants.IN_Q_OVERFLOW, 0, b""))

        published.wait_for("fruit", "frozen")


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_INOTIFY, reason="inotify is Linux only")
def test_the_real_kernel_watch_limit_in_a_user_namespace(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-Ur", "true"], check=False).returncode:
        pytest.skip("cannot create a user namespace to lower the inotify limit in")
    script = tmp_path / "probe.py"
    script.write_text(LIMIT_PROBE)
    done = subprocess.run(
        [unshare, "-Ur", sys.executable, str(script), str(tmp_path / "bases")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert result["at_start"] == "events"
    assert result["after_limit"] == "polling"  # new0's last watch would be the 31st of 30
    assert result["frozen"] == ["new0", "new1", "new2"]
    assert result["second_watcher"] == "polling"  # with the limit at 0, not even its base
    assert result["second_frozen"] == ["late"]
    assert "fs.inotify.max_user_watches (now 30)" in done.stderr


@pytest.mark.parametrize(
    ("before", "now", "content", "expected"),
    [
        (None, {"type": "protodataset"}, True, None),
        ({"type": "protodataset"}, {"type": "dataset"}, True, "frozen"),
        ({"type": "dataset", "name": "a"}, {"type": "dataset", "name": "b"}, False, "frozen"),
        ({"type": "dataset"}, {"type": "dataset"}, True, "updated"),
        ({"type": "dataset"}, {"type": "dataset"}, False, None),
        ({"type": "dataset"}, None, False, "removed"),
        ({"type": "dataset"}, {"type": "protodataset"}, False, "removed"),
        ({"type": "protodataset"}, None, False, None),
    ],
)
def test_what_a_settled_change_amounts_to(
    before: dict[str, str] | None, now: dict[str, str] | None, content: bool, expected: str | None
) -> None:
    assert decide(before, now, content) == expected


def test_only_existing_file_base_uris_are_watched(tmp_path: Path, base: Path) -> None:
    missing = tmp_path / "not-there"
    watcher = DatasetWatcher(["s3://bucket", str(missing), f"{base}/"], Recorder())

    with watcher:
        assert watcher.modes() == {
            normalise_uri(str(missing)): "missing",
            normalise_uri(str(base)): "events" if HAVE_INOTIFY else "polling",
        }


def _dtool(dtool: Path, *args: str) -> str:
    done = subprocess.run([str(dtool), *args], capture_output=True, text=True, check=False)
    if done.returncode and "pkg_resources" in done.stderr:
        pytest.skip("the dtool CLI needs setuptools<81 (it loads plugins with pkg_resources)")
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.02)


def _key(path: Path) -> tuple[int, int]:
    """Return (device as the kernel prints it, inode) of a path."""
    status = path.stat()
    return (os.major(status.st_dev) << 20 | os.minor(status.st_dev), status.st_ino)


def _inotify_watches() -> set[tuple[int, int]]:
    """Return (device, inode) of everything this process's inotify instances watch."""
    watches = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            lines = Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("inotify wd:"):
                fields = dict(part.split(":", 1) for part in line.split()[1:])
                watches.add((int(fields["sdev"], 16), int(fields["ino"], 16)))
    return watches


def _watched_dirs(base: Path) -> set[tuple[int, int]]:
    below = {_key(base)} | {_key(p) for p in base.rglob("*") if p.is_dir()}
    return _inotify_watches() & below


def _metadata_dirs(base: Path, *names: str) -> set[tuple[int, int]]:
    """The directories to be watched: the base and five per dataset."""
    dirs = {_key(base)}
    for name in names:
        dtool = base / name / ".dtool"
        dirs |= {_key(base / name), _key(dtool)}
        dirs |= {_key(dtool / sub) for sub in ("annotations", "tags", "overlays")}
    return dirs

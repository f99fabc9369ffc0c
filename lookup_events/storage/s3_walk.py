"""One walk over a bucket's keys that yields each dataset's stamp, skipping item data.

A bucket holds, per dataset, a registration key ``dtool-<uuid>`` and the keys
under ``<prefix><uuid>/``: a few metadata objects and ``data/``, one object
per item (up to tens of thousands). The walk lists the bucket in key order,
1,000 keys a request, keeping the ETags of the objects a stamp covers
(``storage.stamps``); when a page ends inside a dataset's ``data/``, the
next request starts after it (``StartAfter=<root>data0``, as ``0`` sorts
just after ``/``), so a dataset's items cost at most one request, however
many there are. 100,000 small datasets (about 7 keys each) take about 700
requests; no object is read, except the registration key of a dataset kept
under a prefix (rare: a non-empty registration key).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from lookup_events.storage.stamps import s3_stamp, stamped_s3_name

Page = Callable[[str], dict[str, Any]]  # list_objects_v2 from StartAfter
PrefixOf = Callable[[str], str]  # the prefix a non-empty registration key names

REGISTRATION_KEY = "dtool-"
_DATA = "data/"
_ROOT = re.compile(r"(.*?[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}/)(.*)", re.S)


def bucket_stamps(page: Page, prefix_of: PrefixOf) -> Iterator[tuple[str, str]]:
    """Yield ``(uuid, stamp)`` of every registered dataset with admin metadata."""
    registered: dict[str, int] = {}
    etags: dict[str, dict[str, str]] = {}
    for entry in _walk(page):
        key = str(entry["Key"])
        if key.startswith(REGISTRATION_KEY) and "/" not in key:
            registered[key.removeprefix(REGISTRATION_KEY)] = int(entry.get("Size", 0))
        elif (parts := _ROOT.fullmatch(key)) is not None and stamped_s3_name(parts[2]):
            etags.setdefault(parts[1], {})[parts[2]] = str(entry.get("ETag", ""))
    for uuid, size in sorted(registered.items()):
        root = f"{prefix_of(uuid) if size else ''}{uuid}/"
        found = etags.get(root, {})
        if "dtool" in found:
            yield uuid, s3_stamp(found)


def _walk(page: Page) -> Iterator[dict[str, Any]]:
    """Yield every listed object but those of ``data/`` a page ends in."""
    start = ""
    while True:
        listed = page(start)
        contents = listed.get("Contents", [])
        yield from contents
        if not contents or not listed.get("IsTruncated"):
            return
        start = _next_start(str(contents[-1]["Key"]))


def _next_start(last: str) -> str:
    """Return where the next page starts: past the rest of a ``data/`` block."""
    parts = _ROOT.fullmatch(last)
    if parts is not None and parts[2].startswith(_DATA):
        return parts[1] + "data0"
    return last

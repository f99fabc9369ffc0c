"""dtool's layout on disk, settling admin metadata, and what is frozen.

A dataset directory holds ``README.yml``, ``data/`` and ``.dtool/``, whose
``dtool`` file is the admin metadata; ``.dtool/{annotations,tags,overlays}/``
hold what can change after freezing (``reference/events.md`` §1.1). A
dataset is frozen when its admin metadata says ``type`` is ``dataset``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from lookup_events.errors import InvalidDataset, NotFrozen

DTOOL_DIR = ".dtool"
ADMIN_FILE = "dtool"
README_FILE = "README.yml"
META_DIRS = frozenset({"annotations", "tags", "overlays"})
AdminMetadata = dict[str, Any]
_READ_ATTEMPTS = 5
_READ_PAUSE = 0.02


class Unsettled(Exception):
    """The admin metadata is being written (not yet valid JSON)."""


def read_admin_file(
    dataset_path: str, pause: Callable[[float], None] = time.sleep
) -> AdminMetadata | None:
    """Return the admin metadata of the dataset directory, or None if there is none.

    ``put_text`` truncates and rewrites in place, so a read can see a partial
    file: it is retried a few times before giving up with ``Unsettled``.
    """
    admin_path = os.path.join(dataset_path, DTOOL_DIR, ADMIN_FILE)
    for _ in range(_READ_ATTEMPTS):
        try:
            with open(admin_path, "rb") as admin_file:
                document = json.loads(admin_file.read())
        except (FileNotFoundError, NotADirectoryError):
            return None
        except ValueError:
            pause(_READ_PAUSE)
            continue
        if isinstance(document, dict):
            return document
        break
    raise Unsettled(f"{admin_path} does not hold a JSON object")


def check_frozen(uri: str, admin: object) -> AdminMetadata:
    """Return the admin metadata if it is a frozen dataset's, else raise.

    As ``DataSet.from_uri`` asks: ``type`` must be ``dataset``.

    Raises:
        InvalidDataset: it is not a JSON object with a ``type``.
        NotFrozen: its type is not ``dataset`` (a proto dataset).
    """
    if not isinstance(admin, dict) or "type" not in admin:
        raise InvalidDataset(f"cannot read {uri}: its admin metadata has no type")
    if admin["type"] != "dataset":
        raise NotFrozen(f"{uri} is not a frozen dataset")
    return admin

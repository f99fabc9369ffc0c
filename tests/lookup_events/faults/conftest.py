"""Helpers for fault tests (their fixtures, shared with others, are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookup_events.store import Stores, open_stores
from tests.conftest import settings_for

# NOTE(dev): kombu's SQL transport uses an ORM option SQLAlchemy 2.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")


def open_test_stores(url: str, data_dir: Path) -> Stores:
    """Open the stores at ``url`` (already migrated)."""
    return open_stores(settings_for(url, data_dir))

"""Curated changes: write a dataset's metadata where it lives, then register it.

The registrar stays the only writer of dataset records: a change reaches the
index only by the registrar reading the dataset back from its storage, after
the storage took the change. A write that fails leaves the index as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lookup_events.model import DatasetRecord
from lookup_events.registrar.writer import Registrar
from lookup_events.storage.editing import DatasetEditor


class Curator:
    """Applies one change to a dataset's storage and re-registers the dataset."""

    def __init__(self, registrar: Registrar, editor: DatasetEditor | None = None) -> None:
        self._registrar = registrar
        self._editor = editor or DatasetEditor()

    def set_tags(self, uri: str, tags: Sequence[str]) -> DatasetRecord:
        """Replace the dataset's tags."""
        self._editor.set_tags(uri, tags)
        return self._indexed(uri)

    def add_tag(self, uri: str, tag: str) -> DatasetRecord:
        """Add one tag."""
        self._editor.add_tag(uri, tag)
        return self._indexed(uri)

    def remove_tag(self, uri: str, tag: str) -> DatasetRecord:
        """Remove one tag."""
        self._editor.remove_tag(uri, tag)
        return self._indexed(uri)

    def set_annotations(self, uri: str, annotations: Mapping[str, Any]) -> DatasetRecord:
        """Replace the dataset's annotations."""
        self._editor.set_annotations(uri, annotations)
        return self._indexed(uri)

    def put_annotation(self, uri: str, name: str, value: Any) -> DatasetRecord:
        """Set one annotation."""
        self._editor.put_annotation(uri, name, value)
        return self._indexed(uri)

    def delete_annotation(self, uri: str, name: str) -> DatasetRecord:
        """Delete one annotation."""
        self._editor.delete_annotation(uri, name)
        return self._indexed(uri)

    def put_readme(self, uri: str, text: str) -> DatasetRecord:
        """Replace the README."""
        self._editor.put_readme(uri, text)
        return self._indexed(uri)

    def _indexed(self, uri: str) -> DatasetRecord:
        """Read the changed dataset back from its storage and store its record."""
        return self._registrar.register_uri(uri).record

"""Curation: change a dataset's tags, annotations and README, then index it.

A change is written to the dataset's own storage first (``DatasetEditor``);
only then does the registrar read the dataset back and store its record, so
the index never shows what the storage does not hold, and every route
(search, summary, lookup, the legacy ones) shows the change at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lookup_events.errors import DatasetNotFound, PermissionDenied
from lookup_events.model import DatasetRecord
from lookup_events.registrar.writer import Registrar
from lookup_events.storage.editing import DatasetEditor
from lookup_events.store.protocols import DatasetStore, User
from lookup_events.uris import base_uri_of

Edit = Callable[[DatasetEditor, str], None]


class Curation:
    """Writes curated metadata to storage and re-registers the dataset."""

    def __init__(
        self, datasets: DatasetStore, registrar: Registrar, editor: DatasetEditor | None = None
    ) -> None:
        self._datasets = datasets
        self._registrar = registrar
        self._editor = editor or DatasetEditor()

    def set_tags(self, user: User, uri: str, tags: Sequence[str]) -> DatasetRecord:
        """Replace the dataset's tags."""
        return self._apply(user, uri, lambda editor, at: editor.set_tags(at, tags))

    def add_tag(self, user: User, uri: str, tag: str) -> DatasetRecord:
        """Add one tag."""
        return self._apply(user, uri, lambda editor, at: editor.add_tag(at, tag))

    def remove_tag(self, user: User, uri: str, tag: str) -> DatasetRecord:
        """Remove one tag."""
        return self._apply(user, uri, lambda editor, at: editor.remove_tag(at, tag))

    def set_annotations(
        self, user: User, uri: str, annotations: Mapping[str, Any]
    ) -> DatasetRecord:
        """Replace the dataset's annotations."""
        return self._apply(user, uri, lambda editor, at: editor.set_annotations(at, annotations))

    def put_annotation(self, user: User, uri: str, name: str, value: Any) -> DatasetRecord:
        """Set one annotation."""
        return self._apply(user, uri, lambda editor, at: editor.put_annotation(at, name, value))

    def delete_annotation(self, user: User, uri: str, name: str) -> DatasetRecord:
        """Delete one annotation."""
        return self._apply(user, uri, lambda editor, at: editor.delete_annotation(at, name))

    def put_readme(self, user: User, uri: str, text: str) -> DatasetRecord:
        """Replace the README."""
        return self._apply(user, uri, lambda editor, at: editor.put_readme(at, text))

    def curated(self, user: User, uri: str) -> DatasetRecord:
        """Return the record at ``uri`` if the user may curate it.

        Raises:
            DatasetNotFound: the user may not see the dataset, or there is none
                (one answer for both, so nothing is learnt about hidden datasets).
            PermissionDenied: the user sees it but may not change it.
        """
        base_uri = base_uri_of(uri)
        if not (user.is_admin or base_uri in user.search_permissions_on_base_uris):
            raise DatasetNotFound(f"no dataset registered at {uri!r} that you may see")
        record = self._datasets.get(uri)
        if record is None:
            raise DatasetNotFound(f"no dataset registered at {uri!r}")
        if not (user.is_admin or base_uri in user.register_permissions_on_base_uris):
            raise PermissionDenied(
                f"changing a dataset takes register permission on base URI {base_uri!r}"
            )
        return record

    def _apply(self, user: User, uri: str, edit: Edit) -> DatasetRecord:
        """Check, write to storage, then let the registrar read it back and index it."""
        self.curated(user, uri)
        edit(self._editor, uri)
        return self._registrar.register_uri(uri).record

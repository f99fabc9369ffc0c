"""Curation: who may change a dataset's tags, annotations and README.

Admins and users with register permission on the dataset's base URI may;
a user who cannot see the dataset learns nothing of it (404, as for a
dataset that does not exist). The change itself is the registrar's
``Curator``: storage first, then the index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lookup_events.errors import DatasetNotFound, PermissionDenied
from lookup_events.model import DatasetRecord
from lookup_events.registrar.curation import Curator
from lookup_events.store.protocols import DatasetStore, User
from lookup_events.uris import base_uri_of


class Curation:
    """Checks the caller may curate a dataset, then hands the change to the curator."""

    def __init__(self, datasets: DatasetStore, curator: Curator) -> None:
        self._datasets = datasets
        self._curator = curator

    def set_tags(self, user: User, uri: str, tags: Sequence[str]) -> DatasetRecord:
        """Replace the dataset's tags."""
        return self._curator.set_tags(self.curated(user, uri), tags)

    def add_tag(self, user: User, uri: str, tag: str) -> DatasetRecord:
        """Add one tag."""
        return self._curator.add_tag(self.curated(user, uri), tag)

    def remove_tag(self, user: User, uri: str, tag: str) -> DatasetRecord:
        """Remove one tag."""
        return self._curator.remove_tag(self.curated(user, uri), tag)

    def set_annotations(
        self, user: User, uri: str, annotations: Mapping[str, Any]
    ) -> DatasetRecord:
        """Replace the dataset's annotations."""
        return self._curator.set_annotations(self.curated(user, uri), annotations)

    def put_annotation(self, user: User, uri: str, name: str, value: Any) -> DatasetRecord:
        """Set one annotation."""
        return self._curator.put_annotation(self.curated(user, uri), name, value)

    def delete_annotation(self, user: User, uri: str, name: str) -> DatasetRecord:
        """Delete one annotation."""
        return self._curator.delete_annotation(self.curated(user, uri), name)

    def put_readme(self, user: User, uri: str, text: str) -> DatasetRecord:
        """Replace the README."""
        return self._curator.put_readme(self.curated(user, uri), text)

    def curated(self, user: User, uri: str) -> str:
        """Return ``uri`` if the user may curate the dataset registered there.

        Raises:
            DatasetNotFound: the user may not see the dataset, or there is none
                (one answer for both, so nothing is learnt about hidden datasets).
            PermissionDenied: the user sees it but may not change it.
        """
        base_uri = base_uri_of(uri)
        if not (user.is_admin or base_uri in user.search_permissions_on_base_uris):
            raise DatasetNotFound(f"no dataset registered at {uri!r} that you may see")
        if self._datasets.get(uri) is None:
            raise DatasetNotFound(f"no dataset registered at {uri!r}")
        if not (user.is_admin or base_uri in user.register_permissions_on_base_uris):
            raise PermissionDenied(
                f"changing a dataset takes register permission on base URI {base_uri!r}"
            )
        return uri

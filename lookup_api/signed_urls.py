"""Signed URLs: short-lived links to a dataset's components, as dserver's plugin gives.

Only a user who may search a dataset gets links to it. An S3 dataset's links
are presigned S3 URLs; a disk dataset's point at our own
``/signed-urls/content/<token>`` route, whose token (``signing.py``) names
the dataset, the component and the expiry, and is checked again on download.
The storage side (presigning, finding files safely) is handed in as a
``DatasetContent``, built by the composition root.
"""

from __future__ import annotations

import datetime
from typing import Any, Protocol

from lookup_api.catalog import Catalog
from lookup_api.signing import Grant, Signer
from lookup_events.errors import DatasetNotFound
from lookup_events.model import DatasetRecord
from lookup_events.store.protocols import User

CONTENT_PATH = "/signed-urls/content/"
_SINGLE = (("admin_metadata_url", "admin_metadata"), ("manifest_url", "manifest"))
_NO_SECRET = (
    "links to datasets on disk need DTOOL_LOOKUP_SIGNED_URL_SECRET (a long random string "
    "shared by every server process)"
)


class NotConfigured(RuntimeError):
    """Links to disk datasets were asked for, but no secret signs them."""


class LocalFile(Protocol):
    """A file of a disk dataset, ready to be streamed."""

    @property
    def path(self) -> str:
        """Its path."""
        ...

    @property
    def size(self) -> int:
        """Its size in bytes."""
        ...

    @property
    def filename(self) -> str:
        """The name to save it as."""
        ...

    @property
    def media_type(self) -> str:
        """Its content type."""
        ...


class DatasetContent(Protocol):
    """Where a dataset's components are: presigned by the storage, or files we serve."""

    def overlay_names(self, uri: str) -> list[str]:
        """Return the dataset's overlay names."""
        ...

    def presigned_urls(
        self, uri: str, components: list[tuple[str, str]], expiry: int
    ) -> list[str] | None:
        """Return presigned URLs, or None where the storage cannot presign."""
        ...

    def local_file(self, uri: str, kind: str, name: str) -> LocalFile:
        """Return a component's file inside the dataset."""
        ...


class NoContent:
    """The content of a process that serves no dataset files: every link is refused."""

    def overlay_names(self, uri: str) -> list[str]:
        """Refuse."""
        raise NotConfigured("this server process gives no links to datasets")

    def presigned_urls(
        self, uri: str, components: list[tuple[str, str]], expiry: int
    ) -> list[str] | None:
        """Refuse."""
        raise NotConfigured("this server process gives no links to datasets")

    def local_file(self, uri: str, kind: str, name: str) -> LocalFile:
        """Refuse."""
        raise NotConfigured("this server process serves no dataset files")


class SignedURLs:
    """Makes links for users who may search a dataset; resolves our own links."""

    def __init__(
        self, catalog: Catalog, content: DatasetContent, signer: Signer | None, expiry: int
    ) -> None:
        self._catalog = catalog
        self._content = content
        self._signer = signer
        self._expiry = expiry

    def dataset(self, user: User, uri: str, server: str) -> dict[str, Any]:
        """Return links to every component of the dataset (dserver's dataset shape)."""
        record = self._catalog.record(user, uri)
        items = sorted(record.manifest.get("items", {}))
        overlays = self._content.overlay_names(uri)
        annotations = sorted(record.annotations)
        components = [("admin_metadata", ""), ("manifest", ""), ("readme", "")]
        components += [("item", i) for i in items] + [("overlay", o) for o in overlays]
        components += [("annotation", a) for a in annotations]
        urls = iter(self._links(uri, components, server))
        body = self._header(record)
        body.update({key: next(urls) for key, _ in _SINGLE})
        body["readme_url"] = next(urls)
        body["item_urls"] = {i: next(urls) for i in items}
        body["overlay_urls"] = {o: next(urls) for o in overlays}
        body["annotation_urls"] = {a: next(urls) for a in annotations}
        body["tags"] = list(record.entry.tags)
        return body

    def item(self, user: User, uri: str, identifier: str, server: str) -> dict[str, Any]:
        """Return a link to one item (dserver's item shape).

        Raises:
            DatasetNotFound: the manifest has no such item.
        """
        record = self._catalog.record(user, uri)
        if identifier not in record.manifest.get("items", {}):
            raise DatasetNotFound(f"no item {identifier!r} in the dataset {uri}")
        (url,) = self._links(uri, [("item", identifier)], server)
        return {**self._header(record), "identifier": identifier, "url": url}

    def download(self, token: str) -> LocalFile:
        """Return the file a token of ours grants.

        Raises:
            BadSignature, Expired: the token is not valid (any more).
            NotConfigured: no secret to check it with.
            DatasetNotFound: the component is gone, or was never inside the dataset.
        """
        grant = self._need_signer().verify(token)
        return self._content.local_file(grant.uri, grant.kind, grant.name)

    def _header(self, record: DatasetRecord) -> dict[str, Any]:
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=self._expiry)
        return {
            "uri": record.entry.uri,
            "expiry_seconds": self._expiry,
            "expiry_timestamp": expires.isoformat().replace("+00:00", "Z"),
        }

    def _links(self, uri: str, components: list[tuple[str, str]], server: str) -> list[str]:
        presigned = self._content.presigned_urls(uri, components, self._expiry)
        if presigned is not None:
            return presigned
        signer = self._need_signer()
        expires = signer.now() + self._expiry
        return [
            f"{server}{CONTENT_PATH}{signer.sign(Grant(uri, kind, name, expires))}"
            for kind, name in components
        ]

    def _need_signer(self) -> Signer:
        if self._signer is None:
            raise NotConfigured(_NO_SECRET)
        return self._signer

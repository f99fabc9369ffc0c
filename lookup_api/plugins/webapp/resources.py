"""The web app's routes: its page, its assets, and datasets per month."""

from __future__ import annotations

import hashlib
import mimetypes
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import falcon

from lookup_api.access import Access, searchable
from lookup_api.plugins import PluginContext
from lookup_events.store.protocols import DatasetStore

ASSETS_DIR = Path(__file__).parent / "assets"
ASSETS_PREFIX = "/webapp/assets"
# NOTE(dev): only these kinds are served; anything else in the folder (a
# licence, notes) stays private, and no name from a request reaches the disk.
_SERVED = {".html", ".js", ".mjs", ".css", ".svg"}
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".svg": "image/svg+xml"}
# Every asset is revalidated: the app is small, and a stale module after an
# upgrade would break the page in ways a user cannot explain.
_CACHE = "no-cache"
# The page may load only what we serve, and talk only to us.
_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Asset:
    """One file of the app, read once at start."""

    data: bytes
    content_type: str
    etag: str


def asset_names(folder: Path = ASSETS_DIR) -> list[str]:
    """Return the names of the servable files of ``folder``, sorted."""
    return sorted(
        path.name for path in folder.iterdir() if path.is_file() and path.suffix in _SERVED
    )


def media_type(name: str) -> str:
    """Return the media type a file of the app is served as."""
    suffix = Path(name).suffix
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "text/plain"


def load_assets(folder: Path = ASSETS_DIR) -> dict[str, Asset]:
    """Return every servable file of ``folder`` by name, read now."""
    assets = {}
    for name in asset_names(folder):
        data = (folder / name).read_bytes()
        assets[name] = Asset(data, f"{media_type(name)}; charset=utf-8", _etag(data))
    return assets


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


_TOKEN_MODE = b'<meta name="dtool-lookup-auth" content="token">'
_NO_TOKEN_MODE = b'<meta name="dtool-lookup-auth" content="none">'


class PageResource:
    """``GET /``: the web app's page."""

    def __init__(self, html: bytes, single_user: bool = False) -> None:
        # NOTE(webapp): the page says whether tokens are needed, so a browser never
        # probes the API without one (a 401 the user would see in the console).
        self._html = html.replace(_TOKEN_MODE, _NO_TOKEN_MODE) if single_user else html

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the page; everything else it needs comes from the assets."""
        resp.data = self._html
        resp.content_type = falcon.MEDIA_HTML
        resp.cache_control = [_CACHE]
        resp.set_header("Content-Security-Policy", _POLICY)
        resp.set_header("X-Content-Type-Options", "nosniff")


class AssetResource:
    """``GET /webapp/assets/<name>``: one module or stylesheet of the app."""

    def __init__(self, asset: Asset) -> None:
        self._asset = asset

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the asset, or 304 when the browser's copy is current."""
        asset = self._asset
        resp.etag = asset.etag
        resp.cache_control = [_CACHE]
        resp.set_header("X-Content-Type-Options", "nosniff")
        if req.if_none_match and any(tag == asset.etag for tag in req.if_none_match):
            resp.status = falcon.HTTP_304
            return
        resp.data = asset.data
        resp.content_type = asset.content_type


class TimelineResource:
    """``GET /webapp/timeline``: how many datasets were frozen in each month."""

    def __init__(self, context: PluginContext) -> None:
        self._access: Access = context.access
        self._datasets: DatasetStore = context.datasets

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return ``{"datasets_per_month": {"YYYY-MM": n}}`` over what the caller may search."""
        user = self._access.user(req)
        months: Counter[str] = Counter()
        for base_uri in searchable(user):
            frozen = self._datasets.frozen_at_by_uri(base_uri).values()
            months.update(month_of(stamp) for stamp in frozen)
        resp.media = {"datasets_per_month": dict(sorted(months.items()))}


def month_of(timestamp: float) -> str:
    """Return the UTC month (``YYYY-MM``) of a POSIX timestamp."""
    return time.strftime("%Y-%m", time.gmtime(timestamp))

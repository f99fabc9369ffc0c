"""The JSON bodies both API generations send: one shape per object, in one place.

The legacy (0.18) routes and the dserver routes answer with the same
objects for a dataset entry, a user, a base URI's permissions, a summary and
the configuration; the pure model knows nothing of these shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lookup_events.config import Settings
from lookup_events.model import DatasetEntry
from lookup_events.store.protocols import BaseURI, ResultPage, Summary, User

JSONDict = dict[str, Any]

# Keys 0.18 reported from flask-jwt-extended and Flask-SQLAlchemy, which clients
# and the anchor tests read; fixed by this server's design.
_LEGACY_CONFIG = {
    "jwt_header_name": "Authorization",
    "jwt_header_type": "Bearer",
    "jwt_token_location": "headers",
    "sqlalchemy_track_modifications": False,
}


def list_item(entry: DatasetEntry) -> JSONDict:
    """Return the item shape of ``/dataset/list`` and the dserver routes."""
    return {
        "base_uri": entry.base_uri,
        "created_at": entry.created_at,
        "creator_username": entry.creator_username,
        "frozen_at": entry.frozen_at,
        "name": entry.name,
        "number_of_items": entry.number_of_items,
        "size_in_bytes": entry.size_in_bytes,
        "uri": entry.uri,
        "uuid": entry.uuid,
    }


def search_item(entry: DatasetEntry) -> JSONDict:
    """Return the item shape of 0.18's ``/dataset/search``: adds tags, type, extras."""
    item = dict(entry.extra)
    item.update(list_item(entry))
    item["tags"] = list(entry.tags)
    item["type"] = entry.type
    return item


def entries(page: ResultPage[DatasetEntry], search: bool = False) -> Sequence[dict[str, Any]]:
    """Return the JSON items of a page: 0.18's list or search shape."""
    if search:
        return [search_item(entry) for entry in page.items]
    return [list_item(entry) for entry in page.items]


def user_body(user: User) -> dict[str, Any]:
    """Return 0.18's user object with both permission lists."""
    return {
        "username": user.username,
        "is_admin": user.is_admin,
        "search_permissions_on_base_uris": list(user.search_permissions_on_base_uris),
        "register_permissions_on_base_uris": list(user.register_permissions_on_base_uris),
    }


def permissions_body(base_uri: BaseURI) -> dict[str, Any]:
    """Return 0.18's permission object of a base URI."""
    return {
        "base_uri": base_uri.base_uri,
        "users_with_search_permissions": list(base_uri.users_with_search_permissions),
        "users_with_register_permissions": list(base_uri.users_with_register_permissions),
    }


def summary_body(summary: Summary) -> dict[str, Any]:
    """Return 0.18's summary object: counts plus sorted name lists."""
    return {
        "number_of_datasets": summary.number_of_datasets,
        "creator_usernames": sorted(summary.datasets_per_creator),
        "base_uris": sorted(summary.datasets_per_base_uri),
        "datasets_per_creator": dict(summary.datasets_per_creator),
        "datasets_per_base_uri": dict(summary.datasets_per_base_uri),
        "tags": sorted(summary.datasets_per_tag),
        "datasets_per_tag": dict(summary.datasets_per_tag),
    }


def sized_summary_body(summary: Summary) -> dict[str, Any]:
    """Return dservercore's summary: 0.18's keys plus the size facets."""
    body = summary_body(summary)
    body["total_size_in_bytes"] = summary.total_size_in_bytes
    body["size_in_bytes_per_creator"] = dict(summary.size_in_bytes_per_creator)
    body["size_in_bytes_per_base_uri"] = dict(summary.size_in_bytes_per_base_uri)
    body["size_in_bytes_per_tag"] = dict(summary.size_in_bytes_per_tag)
    return body


def config_body(settings: Settings) -> dict[str, Any]:
    """Return the settings as ``/config/info`` shows them, secrets as ``***``."""
    body = settings.public_view()
    body.update(_LEGACY_CONFIG)
    body["jwt_algorithm"] = settings.jwt_algorithm
    body["jwt_public_key"] = settings.jwt_public_key
    return dict(sorted(body.items()))

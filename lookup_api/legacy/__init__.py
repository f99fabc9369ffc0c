"""The HTTP API of dtool-lookup-server 0.18: its 17 routes, as a route table."""

from __future__ import annotations

from collections.abc import Mapping

from lookup_api.access import Access
from lookup_api.catalog import Catalog
from lookup_api.legacy import admin, datasets, users
from lookup_events.config import Settings
from lookup_events.store.protocols import AdminStore


def routes(
    access: Access,
    catalog: Catalog,
    admin_store: AdminStore,
    settings: Settings,
    versions: Mapping[str, str | None],
) -> list[tuple[str, object]]:
    """Return ``(URI template, resource)`` for every legacy route."""
    return [
        ("/config/info", users.ConfigInfoResource(access, settings)),
        ("/config/versions", users.VersionsResource(versions)),
        ("/dataset/summary", datasets.SummaryResource(access, catalog)),
        ("/dataset/list", datasets.ListResource(access, catalog)),
        ("/dataset/lookup/{uuid}", datasets.LookupResource(access, catalog)),
        ("/dataset/search", datasets.SearchResource(access, catalog)),
        ("/dataset/register", datasets.RegisterResource(access, catalog)),
        ("/dataset/readme", datasets.ReadmeResource(access, catalog)),
        ("/dataset/manifest", datasets.ManifestResource(access, catalog)),
        ("/dataset/annotations", datasets.AnnotationsResource(access, catalog)),
        ("/user/info/{username}", users.UserInfoResource(access, admin_store)),
        ("/admin/user/register", admin.UserRegisterResource(access, admin_store)),
        ("/admin/user/list", admin.UserListResource(access, admin_store)),
        ("/admin/base_uri/register", admin.BaseURIRegisterResource(access, admin_store)),
        ("/admin/base_uri/list", admin.BaseURIListResource(access, admin_store)),
        ("/admin/permission/info", admin.PermissionInfoResource(access, admin_store)),
        (
            "/admin/permission/update_on_base_uri",
            admin.PermissionUpdateResource(access, admin_store),
        ),
    ]

"""The REST API of dserver (dservercore 0.22), as a route table.

``/config/info`` and ``/config/versions`` belong to both generations; the
resources here answer in a form clients of either understand, so the app
registers them in place of the legacy ones.
"""

from __future__ import annotations

from collections.abc import Mapping

from lookup_api.access import Access
from lookup_api.catalog import Catalog
from lookup_api.curation import Curation
from lookup_api.dserver import base_uris, config, curation, datasets, signed_urls, users
from lookup_api.dserver.admin import Administration
from lookup_api.signed_urls import SignedURLs
from lookup_events.config import Settings
from lookup_events.registrar.writer import Registrar
from lookup_events.store.protocols import AdminStore


def routes(
    access: Access,
    catalog: Catalog,
    *,
    admin: AdminStore,
    registrar: Registrar,
    curator: Curation,
    links: SignedURLs,
    settings: Settings,
    versions: Mapping[str, str | None],
) -> list[tuple[str, object]]:
    """Return ``(URI template, resource)`` for every dserver route."""
    administration = Administration(admin, registrar)
    return [
        ("/config/info", config.ConfigInfoResource(access, settings)),
        ("/config/versions", config.VersionsResource(versions)),
        ("/config/health", config.HealthResource(admin)),
        ("/uris", datasets.URIsResource(access, catalog)),
        ("/uris/{uri:path}", datasets.URIResource(access, catalog)),
        ("/uuids/{uuid}", datasets.UUIDResource(access, catalog)),
        ("/readmes/{uri:path}", curation.CuratedReadmeResource(access, catalog, curator)),
        ("/manifests/{uri:path}", datasets.ManifestResource(access, catalog)),
        (
            "/annotations/{uri:path}",
            curation.CuratedAnnotationsResource(access, catalog, curator),
        ),
        ("/tags/{uri:path}", curation.CuratedTagsResource(access, catalog, curator)),
        ("/me", users.MeResource(access)),
        ("/me/summary", users.MySummaryResource(access, catalog)),
        ("/users", users.UsersResource(access, admin)),
        ("/users/{username}", users.UserResource(access, admin, administration)),
        ("/users/{username}/summary", users.UserSummaryResource(access, catalog, administration)),
        (
            "/users/{username}/search/{base_uri:path}",
            users.PermissionResource(access, administration, "search"),
        ),
        (
            "/users/{username}/register/{base_uri:path}",
            users.PermissionResource(access, administration, "register"),
        ),
        ("/base-uris", base_uris.BaseURIsResource(access, admin)),
        ("/base-uris/{base_uri:path}", base_uris.BaseURIResource(access, administration)),
        ("/signed-urls/dataset/{uri:path}", signed_urls.DatasetLinksResource(access, links)),
        ("/signed-urls/item/{uri:path}", signed_urls.ItemLinkResource(access, links)),
        ("/signed-urls/content/{token}", signed_urls.ContentResource(links)),
    ]

"""Composition: build the Falcon app from settings and stores (STYLE 1).

``create_app`` is pure: it takes every collaborator. ``get_app`` reads the
environment, prepares keys and the database, and calls it; ``wsgi.py`` holds
the one line a WSGI server imports.
"""

from __future__ import annotations

import logging

import falcon

from lookup_api import docs, dserver, legacy, openapi, webhook
from lookup_api.access import Access
from lookup_api.auth import Authenticator, TokenVerifier
from lookup_api.catalog import Catalog
from lookup_api.errors import PROJECT_EXCEPTIONS, handle_project_error, serialize_error
from lookup_api.headers import CasedResponse
from lookup_api.validation import PathGuard
from lookup_events.config import Settings
from lookup_events.keys import with_embedded_keys
from lookup_events.queue.event_queue import EventQueue
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores, open_stores, revision_view, upgrade_database
from lookup_events.versions import component_versions

_MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")

log = logging.getLogger(__name__)

WSGIApp = falcon.App[falcon.Request, falcon.Response]


def create_app(
    settings: Settings,
    stores: Stores,
    registrar: Registrar | None = None,
    publisher: webhook.EventPublisher | None = None,
) -> WSGIApp:
    """Return the WSGI app serving the API over ``stores`` (the webhook needs ``publisher``)."""
    registrar = registrar or Registrar(stores.admin, stores.datasets)
    verifier = TokenVerifier(settings.jwt_public_key, settings.jwt_algorithm, settings.jwt_leeway)
    default_user = settings.default_user if settings.disable_jwt_authorisation else None
    access = Access(Authenticator(verifier, default_user), stores.admin)
    catalog = Catalog(stores.datasets, registrar)

    app: WSGIApp = falcon.App(
        middleware=[cors_middleware(settings), PathGuard(), RevisionView()],
        response_type=CasedResponse,
    )
    app.req_options.keep_blank_qs_values = True
    app.set_error_serializer(serialize_error)
    app.add_error_handler(PROJECT_EXCEPTIONS, handle_project_error)
    versions = component_versions()
    # NOTE(dev): both generations serve /config/info and /config/versions; the
    # dserver resources answer in a form clients of either read, so they win.
    routes = dict(legacy.routes(access, catalog, stores.admin, settings, versions))
    routes.update(dserver.routes(access, catalog, stores, settings, versions))
    hooks = webhook.routes(settings.webhook_secret, publisher)
    routes.update(docs.routes(openapi.document(webhook=bool(hooks))))
    routes.update(hooks)
    for template, resource in routes.items():
        app.add_route(template, resource)
    app.add_static_route(docs.STATIC_PREFIX, str(docs.STATIC_DIR))
    if default_user is not None:
        log.warning(
            "DISABLE_JWT_AUTHORISATION is on: tokens are not checked and every request "
            "acts as user %r. Never run a shared server like this.",
            default_user,
        )
    return app


def get_app() -> WSGIApp:
    """Build the app from the environment (the WSGI entry point's factory)."""
    settings = with_embedded_keys(Settings.from_env())
    for url in dict.fromkeys((settings.database_url, settings.dataset_store_url)):
        if url and not url.startswith(_MONGO_SCHEMES):
            upgrade_database(url)
    publisher = EventQueue(settings.broker_url) if settings.webhook_secret else None
    return create_app(settings, open_stores(settings), publisher=publisher)


class RevisionView:
    """Middleware: a request reads the store revisions once (``revision_view``)."""

    def process_request(self, req: falcon.Request, _resp: falcon.Response) -> None:
        """Open the request's view; its first revision read fetches them all."""
        req.context.revision_view = view = revision_view()
        view.__enter__()

    def process_response(
        self, req: falcon.Request, _resp: falcon.Response, _resource: object, _ok: bool
    ) -> None:
        """Close the request's view."""
        view = req.context.get("revision_view")
        if view is not None:
            view.__exit__(None, None, None)


# NOTE(dev): falcon 4.4 types CORSMiddleware over ASGI request types only.
def cors_middleware(settings: Settings) -> falcon.CORSMiddleware:  # type: ignore[type-arg]
    """Return the CORS policy: origins from settings, ``X-Pagination`` exposed."""
    origins = settings.cors_origins
    allow: str | tuple[str, ...] = "*" if not origins or "*" in origins else origins
    return falcon.CORSMiddleware(
        allow_origins=allow, expose_headers=list(settings.cors_expose_headers) or None
    )

"""Composition: build the Falcon app from settings and stores (STYLE 1).

``create_app`` is pure: it takes every collaborator. ``app_from`` asks a
process's ``Services`` (the composition root, which decides the schema and key
policies) for them; ``get_app`` does so from the environment, and ``wsgi.py``
holds the one line a WSGI server imports.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import falcon

from lookup_api import docs, dserver, legacy, monitoring, openapi, plugins, webhook
from lookup_api.access import Access
from lookup_api.auth import Authenticator, TokenVerifier
from lookup_api.catalog import Catalog
from lookup_api.curation import Curation
from lookup_api.dserver import audit, subscriptions
from lookup_api.errors import (
    PROJECT_EXCEPTIONS,
    ClaimError,
    handle_claim_error,
    handle_project_error,
    serialize_error,
)
from lookup_api.headers import CasedResponse
from lookup_api.limits import BodyLimit
from lookup_api.operations.subscriptions import SubscriptionExtension
from lookup_api.signed_urls import DatasetContent, NoContent, SignedURLs
from lookup_api.signing import Signer
from lookup_api.validation import PathGuard
from lookup_events.config import Settings
from lookup_events.observability import listener, metrics
from lookup_events.registrar.curation import Curator
from lookup_events.registrar.writer import Registrar
from lookup_events.services import Services
from lookup_events.store import Stores, close_revision_view, open_revision_view
from lookup_events.store.feeds import SubscriptionStore
from lookup_events.subscriptions.addresses import policy_for
from lookup_events.subscriptions.manager import SubscriptionManager
from lookup_events.versions import component_versions

log = logging.getLogger(__name__)

WSGIApp = falcon.App[falcon.Request, falcon.Response]


def create_app(
    settings: Settings,
    stores: Stores,
    registrar: Registrar | None = None,
    publisher: webhook.EventPublisher | None = None,
    content: DatasetContent | None = None,
    *,
    checks: Mapping[str, listener.Check] | None = None,
    queue_counts: metrics.QueueCounter | None = None,
) -> WSGIApp:
    """Return the WSGI app serving the API over ``stores``.

    The webhook needs ``publisher``; signed URLs need ``content`` (the
    storage side) and, for datasets on disk, ``settings.signed_url_secret``.
    ``checks`` are what ``/config/ready`` checks (default: the database
    only); ``queue_counts`` gives the queue's waiting messages to ``/metrics``.
    """
    registrar = registrar or Registrar(stores.admin, stores.datasets)
    verifier = TokenVerifier(settings.jwt_public_key, settings.jwt_algorithm, settings.jwt_leeway)
    default_user = settings.default_user if settings.disable_jwt_authorisation else None
    access = Access(Authenticator(verifier, default_user), stores.admin)
    catalog = Catalog(stores.datasets, registrar)

    app: WSGIApp = falcon.App(
        middleware=[
            monitoring.Telemetry(access_lines=settings.access_log),
            cors_middleware(settings),
            BodyLimit(settings.max_register_bytes),
            PathGuard(),
            RevisionView(),
        ],
        response_type=CasedResponse,
    )
    app.req_options.keep_blank_qs_values = True
    app.set_error_serializer(serialize_error)
    app.add_error_handler(PROJECT_EXCEPTIONS, handle_project_error)
    app.add_error_handler(ClaimError, handle_claim_error)
    versions = component_versions()
    # NOTE(dev): both generations serve /config/info and /config/versions; the
    # dserver resources answer in a form clients of either read, so they win.
    routes = dict(legacy.routes(access, catalog, stores.admin, settings, versions))
    checks = checks or {"database": functools.partial(stores.admin.get_base_uri, "")}
    routes.update(monitoring.routes(access, settings.api_metrics, checks, queue_counts))
    routes.update(
        dserver.routes(
            access,
            catalog,
            admin=stores.admin,
            registrar=registrar,
            curator=Curation(stores.datasets, Curator(registrar)),
            links=signed_urls(settings, catalog, content),
            settings=settings,
            versions=versions,
        )
    )
    mounted = plugins.mount(
        plugins.discover(settings.plugins),
        routes,
        functools.partial(
            plugins.PluginContext,
            access,
            catalog,
            stores.admin,
            stores.datasets,
            registrar,
            settings,
        ),
    )
    routes.update(audit.routes(access, stores.audit, stores.datasets))
    routes.update(plugin_config_routes(access, settings, versions, mounted))
    for item in mounted:
        routes.update(item.routes)
    described: list[object] = [item.plugin for item in mounted]
    if stores.subscriptions is not None:
        routes.update(subscription_routes(settings, access, stores.subscriptions))
        described.append(SubscriptionExtension)
    hooks = webhook.routes(settings.webhook_secret, publisher)
    extension = openapi.Extension.of(described)
    routes.update(docs.routes(openapi.document(webhook=bool(hooks), extension=extension)))
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


def app_from(services: Services, *, serverless: bool = False) -> WSGIApp:
    """Build the app over a process's services (gunicorn workers, ``serve``, Lambda).

    ``serverless`` (AWS Lambda): the API uses no event queue there, so
    readiness and metrics leave it out, and the runtime owns the log handler.

    Raises:
        SetupError: the schema is behind, or no public key is configured.
    """
    settings = services.api_settings()
    if not serverless:
        services.configure_logging("api")
    return create_app(
        settings,
        services.stores,
        services.registrar(),
        services.webhook_publisher(),
        services.dataset_content(),
        checks=services.readiness_checks(queue=not serverless),
        queue_counts=None if serverless else services.queue_counts,
    )


def signed_urls(
    settings: Settings, catalog: Catalog, content: DatasetContent | None
) -> SignedURLs:
    """Return the signed-URL service (refusing every link when ``content`` is None)."""
    signer = Signer(settings.signed_url_secret) if settings.signed_url_secret else None
    return SignedURLs(catalog, content or NoContent(), signer, settings.signed_url_expiry)


def plugin_config_routes(
    access: Access,
    settings: Settings,
    versions: Mapping[str, str | None],
    mounted: Sequence[plugins.Mounted],
) -> list[tuple[str, object]]:
    """Return ``/config/info`` and ``/config/versions`` with the plugins' settings and versions."""
    extra: dict[str, Any] = {}
    for item in mounted:
        extra.update({name.lower(): value for name, value in item.public_config().items()})
    every = {**versions, **{item.plugin.name: item.plugin.version for item in mounted}}
    return [
        ("/config/info", dserver.config.ConfigInfoResource(access, settings, extra)),
        ("/config/versions", dserver.config.VersionsResource(every)),
    ]


def subscription_routes(
    settings: Settings, access: Access, store: SubscriptionStore
) -> list[tuple[str, object]]:
    """Return the ``/subscriptions`` routes, checking webhooks as the settings say."""
    policy = policy_for(settings)
    queues = [name for name, _ in settings.subscription_queues]
    return subscriptions.routes(access, store, SubscriptionManager(store, policy, queues))


def get_app() -> WSGIApp:
    """Build the app from the environment (the WSGI entry point's factory)."""
    return app_from(Services.from_env())


class RevisionView:
    """Middleware: a request reads the store revisions once (``revision_view``)."""

    def process_request(self, req: falcon.Request, _resp: falcon.Response) -> None:
        """Open the request's view; its first revision read fetches them all."""
        req.context.revision_view = open_revision_view()

    def process_response(
        self, req: falcon.Request, _resp: falcon.Response, _resource: object, _ok: bool
    ) -> None:
        """Close the request's view."""
        token = req.context.get("revision_view")
        if token is not None:
            close_revision_view(token)


# NOTE(dev): falcon 4.4 types CORSMiddleware over ASGI request types only.
def cors_middleware(settings: Settings) -> falcon.CORSMiddleware:  # type: ignore[type-arg]
    """Return the CORS policy: origins from settings, ``X-Pagination`` exposed."""
    origins = settings.cors_origins
    allow: str | tuple[str, ...] = "*" if not origins or "*" in origins else origins
    return falcon.CORSMiddleware(
        allow_origins=allow, expose_headers=list(settings.cors_expose_headers) or None
    )

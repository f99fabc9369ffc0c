"""The documentation's own operations, and the webhook's (served when configured)."""

from __future__ import annotations

from lookup_api.operations.base import DOCS, WEBHOOK, Operation

DOC_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get", "/doc/openapi.json", "This document", DOCS, "OpenAPI", auth=False, store=False
    ),
    Operation(
        "get",
        "/doc/swagger",
        "This document in Swagger UI",
        DOCS,
        "HTML",
        auth=False,
        store=False,
        media="text/html",
    ),
    Operation(
        "get",
        "/doc/redoc",
        "This document in ReDoc",
        DOCS,
        "HTML",
        auth=False,
        store=False,
        media="text/html",
    ),
)


_WEBHOOK_ERRORS = {
    400: "The body is no notification this server can read.",
    401: "The webhook secret is missing or wrong.",
    413: "The body is too large.",
    503: "The event queue cannot be reached; send again later (see Retry-After).",
}
_WEBHOOK_DESCRIPTION = (
    "S3 bucket notifications (S3 event records, SNS, EventBridge, StorageGRID form posts) "
    "are turned into dataset events and queued; the registrar does the rest. Only served "
    "when `DTOOL_LOOKUP_WEBHOOK_SECRET` is set; the secret goes in `Authorization` as "
    "`Bearer <secret>`, bare, or as the Basic password."
)

# The webhook's operations, documented when the app serves it.
WEBHOOK_OPERATIONS: tuple[Operation, ...] = tuple(
    Operation(
        "post",
        path,
        "Receive a bucket notification",
        WEBHOOK,
        "Queued",
        ok=(202,),
        body="Notification",
        params=params,
        errors=_WEBHOOK_ERRORS,
        description=_WEBHOOK_DESCRIPTION,
        scheme="webhookSecret",
        derived_errors=False,
    )
    for path, params in (("/webhook/notify", ()), ("/webhook/notify/{path}", ("webhook_path",)))
)

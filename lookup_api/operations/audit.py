"""The operations of the audit trail (``GET /audit``, ``GET /audit/datasets/{uri}``)."""

from __future__ import annotations

from lookup_api.operations.base import AUDIT, NOT_ADMIN, NOT_REGISTERED, PAGED, Operation

_FILTERS = "Unknown or repeated filters, a URI or time that is none, or until < since."

AUDIT_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/audit",
        "Changes to datasets, users, base URIs and permissions (admins only)",
        AUDIT,
        "AuditEntryList",
        params=(*PAGED, "audit_uri", "audit_user", "since", "until"),
        headers=("X-Pagination",),
        errors={400: _FILTERS, 401: NOT_REGISTERED, 403: NOT_ADMIN},
        description="Newest first. `user` matches what the user did and what was done to "
        "them; `since` and `until` are inclusive. A page past the last one is empty (200).",
    ),
    Operation(
        "get",
        "/audit/datasets/{uri}",
        "The history of one dataset the caller may search",
        AUDIT,
        "AuditEntryList",
        params=("uri", *PAGED, "since", "until"),
        headers=("X-Pagination",),
        errors={
            400: _FILTERS,
            401: NOT_REGISTERED,
            404: "No search permission on the dataset's base URI, or no trail at that URI.",
        },
        description="Newest first; a removed dataset's history stays readable.",
    ),
)

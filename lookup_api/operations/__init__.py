"""Every operation of both API generations, as the OpenAPI document describes them.

A flat registry: one ``Operation`` per method and path, naming the schemas
(from ``schemas.py`` and ``responses.py``) its body and replies follow. The
statuses every operation can answer with (a refused token, a malformed body,
an unreachable database) are added by ``openapi.py``; only the route's own
ones are listed here, one module per generation.
"""

from __future__ import annotations

from lookup_api.operations.audit import AUDIT_OPERATIONS
from lookup_api.operations.base import Operation
from lookup_api.operations.curation import CURATION_OPERATIONS, SHARED_ROUTES
from lookup_api.operations.docs import DOC_OPERATIONS, WEBHOOK_OPERATIONS
from lookup_api.operations.dserver import DSERVER_OPERATIONS
from lookup_api.operations.legacy import LEGACY_OPERATIONS
from lookup_api.operations.links import LINKS

OPERATIONS: tuple[Operation, ...] = (
    *LEGACY_OPERATIONS,
    *DSERVER_OPERATIONS,
    *CURATION_OPERATIONS,
    *AUDIT_OPERATIONS,
    *DOC_OPERATIONS,
)

__all__ = ["LINKS", "OPERATIONS", "SHARED_ROUTES", "WEBHOOK_OPERATIONS", "Operation"]

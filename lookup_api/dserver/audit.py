"""Audit routes: ``GET /audit`` for admins, ``GET /audit/datasets/{uri}`` for who may see it.

Both answer a page of entries, newest first, each a summary of one change
and who or what made it (``store.audit``). Filters are checked strictly:
an unknown parameter, a time that is no time, or a range ending before it
begins is a 400 naming the parameter, never an empty page (400, not 422:
the document's schemas allow these strings; their meaning is wrong).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import falcon

from lookup_api import schemas
from lookup_api.access import Access, searchable
from lookup_api.dserver.paths import path_value, uri_from_path
from lookup_api.errors import APIError
from lookup_api.paging import page_request, paginate
from lookup_api.validation import check, storable
from lookup_events.store.audit import AuditEntry, AuditLog, AuditQuery, parse_time
from lookup_events.store.protocols import DatasetStore, PageRequest
from lookup_events.uris import base_uri_of, normalise_uri

_PAGING = frozenset({"page", "page_size"})
_FILTERS = frozenset({"uri", "user", "since", "until"})
_HIDDEN = "no audit trail for a dataset you may see at that URI"


def entry_body(entry: AuditEntry) -> dict[str, Any]:
    """Return the JSON form of one audit entry."""
    return {
        "at": entry.at,
        "time": datetime.fromtimestamp(entry.at, UTC).isoformat(),
        "subject_kind": entry.subject_kind,
        "subject": entry.subject,
        "action": entry.action,
        "base_uri": entry.base_uri,
        "uuid": entry.uuid,
        "changes": dict(entry.changes),
        "actor": {
            "kind": entry.actor.kind,
            "name": entry.actor.name,
            "cause": dict(entry.actor.cause),
        },
    }


def audit_query(params: Mapping[str, Any], allowed: frozenset[str]) -> AuditQuery:
    """Return the filters of a query string, each checked.

    Raises:
        APIError: 400 naming each parameter that is unknown, repeated or
            meaningless; 422 for values the documented schema forbids (too long).
    """
    errors: dict[str, list[str]] = {}
    for name in sorted(params.keys() - allowed - _PAGING):
        errors[name] = ["Unknown parameter."]
    values: dict[str, Any] = {}
    for name in sorted(params.keys() & allowed):
        raw = params[name]
        if isinstance(raw, list):
            errors[name] = ["Give this parameter once."]
        elif not raw or not storable(raw):
            errors[name] = ["Not a value this filter can match."]
        else:
            values[name] = raw
    check(values, schemas.AUDIT_QUERY, "query")  # 422 for what the document forbids
    for name in ("since", "until"):
        if name in values:
            try:
                values[name] = parse_time(values[name])
            except ValueError as ex:
                errors[name] = [str(ex)]
    if "uri" in values:
        try:
            values["uri"] = normalise_uri(values["uri"])
        except ValueError:
            errors["uri"] = ["Not a valid URI."]
    if not errors and values.get("since", -math.inf) > values.get("until", math.inf):
        errors["until"] = ["The range ends before it begins (until < since)."]
    if errors:
        raise APIError(400, errors={"query": errors}, message="invalid audit filter")
    return AuditQuery(
        subject=values.get("uri"),
        user=values.get("user"),
        since=values.get("since"),
        until=values.get("until"),
    )


class AuditResource:
    """``GET /audit``: every change, filtered and paged (admins only)."""

    def __init__(self, access: Access, audit: AuditLog) -> None:
        self._access = access
        self._audit = audit

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of entries matching ``uri``, ``user``, ``since``, ``until``."""
        page = page_request(req)
        query = audit_query(req.params, _FILTERS)
        self._access.admin(req)
        result = self._audit.entries(query, page)
        paginate(resp, page, result)
        resp.media = [entry_body(entry) for entry in result.items]


class DatasetAuditResource:
    """``GET /audit/datasets/{uri}``: the history of one dataset the caller may see."""

    def __init__(self, access: Access, audit: AuditLog, datasets: DatasetStore) -> None:
        self._access = access
        self._audit = audit
        self._datasets = datasets

    def on_get(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Return one page of the dataset's entries (``since``, ``until`` filter them).

        A caller without search permission on its base URI gets the 404 of
        a dataset that never was: the trail must not tell them it exists.
        """
        page = page_request(req)
        dataset_uri = uri_from_path(path_value("uri", uri))
        query = audit_query(req.params, frozenset({"since", "until"}))
        user = self._access.user(req)
        if base_uri_of(dataset_uri) not in searchable(user):
            raise APIError(404, message=_HIDDEN)
        asked = AuditQuery(dataset_uri, since=query.since, until=query.until)
        result = self._audit.entries(asked, page)
        if result.total == 0 and not self._ever_existed(dataset_uri):
            raise APIError(404, message=_HIDDEN)
        paginate(resp, page, result)
        resp.media = [entry_body(entry) for entry in result.items]

    def _ever_existed(self, uri: str) -> bool:
        """Tell whether the dataset is registered or left any entry (before any time filter)."""
        if self._datasets.get(uri) is not None:
            return True
        return self._audit.entries(AuditQuery(uri), PageRequest(1, 1)).total > 0


def routes(access: Access, audit: AuditLog, datasets: DatasetStore) -> list[tuple[str, object]]:
    """Return ``(URI template, resource)`` for the audit routes."""
    return [
        ("/audit", AuditResource(access, audit)),
        ("/audit/datasets/{uri:path}", DatasetAuditResource(access, audit, datasets)),
    ]

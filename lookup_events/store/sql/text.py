"""Free-text matching in SQL: SQLite FTS5 and PostgreSQL ``tsvector``.

Both build on ``store.text.parse_free_text``: terms OR-ed, phrases AND-ed
(terms then no longer widen), exclusions removed. No user text is ever
query syntax: FTS5 gets every word double-quoted (words are ``\\w+`` so a
quote cannot occur in them), PostgreSQL gets every word quoted in one
``to_tsquery`` parameter. Filter terms (digits only, made by the store
from metadata) narrow a match inside the index, in a column of their own
that no dataset text reaches.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal_column,
    null,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from lookup_events.store.sql.schema import (
    FTS_TABLE,
    PG_FILTER_COLUMN,
    PG_SEARCH_COLUMN,
    dataset_texts,
    datasets,
)
from lookup_events.store.text import TextQuery

_ENGLISH: ColumnElement[str] = literal_column("'english'::regconfig")
# Filter terms a match must contain: one of each group (``store.text.filter_term``).
FilterGroups = Sequence[Sequence[str]]


def fts5_expression(query: TextQuery) -> str:
    """Return the FTS5 MATCH string for a parsed query with something positive."""
    if query.phrases:
        positive = " AND ".join(_quoted(phrase) for phrase in query.phrases)
    else:
        positive = " OR ".join(_quoted((term,)) for term in query.terms)
    if not query.excluded:
        return positive
    negative = " OR ".join(_quoted(phrase) for phrase in query.excluded)
    return f"({positive}) NOT ({negative})"


def _quoted(words: tuple[str, ...]) -> str:
    return '"' + " ".join(word.replace('"', '""') for word in words) + '"'


def sqlite_match(query: TextQuery, required: FilterGroups = ()) -> ColumnElement[bool]:
    """Return a WHERE clause keeping datasets that match on SQLite."""
    return datasets.c.id.in_(sqlite_ids(query, required).scalar_subquery())


def sqlite_ids(query: TextQuery, required: FilterGroups = ()) -> Select[tuple[int]]:
    """Return the ids of the datasets matching on SQLite, as the FTS5 index holds them.

    ``required`` filter terms (one of each group) are matched in the
    ``filter_terms`` column, the words in ``search_text`` alone.
    """
    expression = f"search_text : ({fts5_expression(query)})"
    for group in required:
        expression += f" AND filter_terms : ({' OR '.join(group)})"
    fts = table(FTS_TABLE, column("rowid"))
    match = literal_column(FTS_TABLE).match(bindparam(None, expression, unique=True))
    return select(fts.c.rowid).where(match)


def postgres_match(query: TextQuery, required: FilterGroups = ()) -> ColumnElement[bool]:
    """Return a WHERE clause keeping datasets that match on PostgreSQL."""
    return datasets.c.id.in_(postgres_ids(query, required))


def postgres_ids(query: TextQuery, required: FilterGroups = ()) -> Select[tuple[int]]:
    """Return the ids of the datasets matching on PostgreSQL.

    The words are matched in ``search_vector`` and the ``required`` filter
    terms (one of each group) in ``filter_vector``, made from the dataset's
    metadata alone: no README can hold a term that passes a filter. Both
    vectors are columns of one GIN index, which intersects them.

    NOTE(dev): the query is one ``to_tsquery`` of one string parameter,
    whatever the number of words. Nesting a function call per word made an
    expression as deep as the text was long: SQLAlchemy's compiler and
    cache-key walk recursed once per level, a ``RecursionError`` (500) at
    about 500 words and a C stack overflow (SIGSEGV, the worker killed) at
    tens of thousands.
    """
    positive = _search_tsquery(query)
    vector: ColumnElement[object] = literal_column(f"{dataset_texts.name}.{PG_SEARCH_COLUMN}")
    match: ColumnElement[bool] = vector.bool_op("@@")(positive)
    if required:
        filters: ColumnElement[object] = literal_column(f"{dataset_texts.name}.{PG_FILTER_COLUMN}")
        terms = " & ".join("(" + " | ".join(group) + ")" for group in required)
        match = and_(match, filters.bool_op("@@")(cast(_bound(terms), TSQUERY)))
    return select(dataset_texts.c.dataset_id).where(match)


def _search_tsquery(query: TextQuery) -> ColumnElement[object]:
    """Return the tsquery of the words: ``to_tsquery`` stems them as the vectors hold them.

    A quoted operand of several words is a phrase, as ``phraseto_tsquery``
    makes it (stop words skipped, their distance kept).
    """
    if query.phrases:
        positive = " & ".join(_operand(words) for words in query.phrases)
    else:
        positive = " | ".join(_operand((term,)) for term in query.terms)
    tsquery: ColumnElement[object] = func.to_tsquery(_ENGLISH, _bound(positive))
    if not query.excluded:
        return tsquery
    excluded = func.to_tsquery(_ENGLISH, _bound(" | ".join(map(_operand, query.excluded))))
    # NOTE(dev): a positive part of stop words only is empty, and an empty
    # tsquery AND-ed with a NOT is that NOT alone (every dataset without the
    # excluded words); NULL matches nothing, as a search of stop words should.
    return case(
        (func.numnode(tsquery) == 0, null()),
        else_=func.tsquery_and(tsquery, func.tsquery_not(excluded)),
    )


def _operand(words: tuple[str, ...]) -> str:
    # NOTE(dev): words are \w+, so they never hold the quote or the backslash
    # that are the only special characters inside a quoted operand.
    return "'" + " ".join(words) + "'"


def _bound(value: str) -> ColumnElement[str]:
    return bindparam(None, value, unique=True)

"""Free-text matching in SQL: SQLite FTS5 and PostgreSQL ``tsvector``.

Both build on ``store.text.parse_free_text``: terms OR-ed, phrases AND-ed
(terms then no longer widen), exclusions removed. No user text is ever
query syntax: FTS5 gets every word double-quoted (words are ``\\w+`` so a
quote cannot occur in them), PostgreSQL gets each term and phrase as a
bound parameter of ``plainto_tsquery`` / ``phraseto_tsquery``. Filter
terms (digits only, made by the store) narrow a match inside the index.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from lookup_events.store.sql.schema import FTS_TABLE, PG_SEARCH_COLUMN, dataset_texts, datasets
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

    ``required`` filter terms (one of each group) are AND-ed into the
    tsquery, so the GIN index intersects them with the words.
    """
    if query.phrases:
        parts = [_tsquery("phraseto_tsquery", words) for words in query.phrases]
        positive = _combine("tsquery_and", parts)
    else:
        positive = _combine("tsquery_or", [_tsquery("plainto_tsquery", (t,)) for t in query.terms])
    if query.excluded:
        excluded = [_tsquery("phraseto_tsquery", words) for words in query.excluded]
        positive = func.tsquery_and(positive, func.tsquery_not(_combine("tsquery_or", excluded)))
    for group in required:
        terms = cast(bindparam(None, " | ".join(group), unique=True), TSQUERY)
        positive = func.tsquery_and(positive, terms)
    vector: ColumnElement[object] = literal_column(f"{dataset_texts.name}.{PG_SEARCH_COLUMN}")
    return select(dataset_texts.c.dataset_id).where(vector.bool_op("@@")(positive))


def _tsquery(function: str, words: tuple[str, ...]) -> ColumnElement[object]:
    call: ColumnElement[object] = getattr(func, function)(
        _ENGLISH, bindparam(None, " ".join(words), unique=True)
    )
    return call


def _combine(function: str, parts: list[ColumnElement[object]]) -> ColumnElement[object]:
    combined = parts[0]
    for part in parts[1:]:
        combined = getattr(func, function)(combined, part)  # a tsquery, like its parts
    return combined

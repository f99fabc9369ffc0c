"""The audit trail in SQL: rows written in the caller's transaction, read newest first.

``record`` and ``record_removals`` take the connection of the
transaction that makes the change, so a change and its entry commit or roll
back together. ``SqlAuditLog`` reads and prunes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)

from lookup_events.store.actors import Actor
from lookup_events.store.audit import AuditEntry, AuditQuery
from lookup_events.store.protocols import PageRequest, ResultPage
from lookup_events.store.sql.bulk import insert_rows
from lookup_events.store.sql.engine import reader, translate_errors, writer
from lookup_events.store.sql.schema import audit_entries, datasets

Clock = Callable[[], float]


_COLUMNS = ["at", "subject_kind", "subject", "action", "base_uri", "uuid"]
_COLUMNS += ["actor_kind", "actor", "cause", "changes"]


def _removals(where: ColumnElement[bool]) -> Insert:
    """Return the INSERT ... SELECT of a ``removed`` entry per dataset matching ``where``."""
    rows = select(
        bindparam("at", type_=audit_entries.c.at.type),
        literal("dataset"),
        datasets.c.uri,
        literal("removed"),
        datasets.c.base_uri,
        datasets.c.uuid,
        bindparam("actor_kind", type_=audit_entries.c.actor_kind.type),
        bindparam("actor", type_=audit_entries.c.actor.type),
        bindparam("cause", type_=audit_entries.c.cause.type),
        bindparam("changes", type_=audit_entries.c.changes.type),
    ).where(where)
    return insert(audit_entries).from_select(_COLUMNS, rows)


# NOTE(dev): built once, so each removal reuses the compiled statement; building
# it per call cost a quarter of a removal's time.
_REMOVED_DATASET = _removals(datasets.c.uri == bindparam("where"))
_REMOVED_BASE_URI = _removals(datasets.c.base_uri == bindparam("where"))


def record(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    """Insert ``entries`` in the transaction of ``conn`` (one statement)."""
    if entries:
        insert_rows(conn, audit_entries, [_row(entry) for entry in entries])


def record_removals(
    conn: Connection, base_uri: str | None, at: float, actor: Actor, *, uri: str | None = None
) -> None:
    """Insert a ``removed`` entry for every dataset in ``base_uri`` (or at ``uri``).

    Called before the rows are deleted. One INSERT ... SELECT: deleting a
    base URI of 100,000 datasets moves no row through Python. The summary
    holds no name: JSON built in SQL differs per dialect, and the subject
    and UUID identify the dataset.
    """
    statement = _REMOVED_DATASET if base_uri is None else _REMOVED_BASE_URI
    reason = "dataset removed" if base_uri is None else "base URI removed"
    parameters = {
        "where": uri if base_uri is None else base_uri,
        "at": at,
        "actor_kind": actor.kind,
        "actor": actor.name,
        "cause": dict(actor.cause),
        "changes": {"reason": reason},
    }
    conn.execute(statement, parameters)


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "subject_kind": entry.subject_kind,
        "subject": entry.subject,
        "action": entry.action,
        "base_uri": entry.base_uri,
        "uuid": entry.uuid,
        "actor_kind": entry.actor.kind,
        "actor": entry.actor.name,
        "cause": dict(entry.actor.cause),
        "changes": dict(entry.changes),
    }


def entry_of(row: Any) -> AuditEntry:
    """Return the entry of an ``audit_entries`` row."""
    return AuditEntry(
        at=float(row.at),
        subject_kind=row.subject_kind,
        subject=row.subject,
        action=row.action,
        changes=row.changes,
        actor=Actor(row.actor_kind, row.actor, row.cause),
        base_uri=row.base_uri,
        uuid=row.uuid,
    )


def conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    """Return the WHERE clauses of ``query``.

    A user filter matches what the user did and what was done to them.
    """
    where: list[ColumnElement[bool]] = []
    if query.subject is not None:
        where.append(audit_entries.c.subject == query.subject)
    if query.user is not None:
        acted = and_(audit_entries.c.actor_kind == "user", audit_entries.c.actor == query.user)
        subject = and_(
            audit_entries.c.subject_kind == "user", audit_entries.c.subject == query.user
        )
        where.append(or_(acted, subject))
    if query.since is not None:
        where.append(audit_entries.c.at >= query.since)
    if query.until is not None:
        where.append(audit_entries.c.at <= query.until)
    return where


class SqlAuditLog:
    """AuditLog on the SQL database holding ``audit_entries``."""

    def __init__(self, engine: Engine) -> None:
        self._writer = writer(engine)
        self._reader = reader(engine)

    @translate_errors()
    def entries(self, query: AuditQuery, page: PageRequest) -> ResultPage[AuditEntry]:
        """Return one page of the entries matching ``query``, newest first."""
        where = conditions(query)
        statement = (
            select(audit_entries)
            .where(*where)
            .order_by(audit_entries.c.at.desc(), audit_entries.c.id.desc())
            .limit(page.size)
            .offset(page.offset)
        )
        with self._reader.connect() as conn:
            rows = conn.execute(statement).all()
            total = conn.scalar(select(func.count()).select_from(audit_entries).where(*where))
        return ResultPage([entry_of(row) for row in rows], int(total or 0))

    @translate_errors()
    def prune(self, before: float) -> int:
        """Delete the entries older than ``before``; return how many."""
        with self._writer.begin() as conn:
            statement = delete(audit_entries).where(audit_entries.c.at < before)
            return int(conn.execute(statement).rowcount)

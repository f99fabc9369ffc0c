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
    and_,
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
from lookup_events.store.sql.engine import reader, translate_errors, writer
from lookup_events.store.sql.schema import audit_entries, datasets

Clock = Callable[[], float]


def record(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    """Insert ``entries`` in the transaction of ``conn`` (one statement)."""
    if entries:
        conn.execute(insert(audit_entries), [_row(entry) for entry in entries])


def record_removals(
    conn: Connection, base_uri: str | None, at: float, actor: Actor, *, uri: str | None = None
) -> None:
    """Insert a ``removed`` entry for every dataset in ``base_uri`` (or at ``uri``).

    Called before the rows are deleted. One INSERT ... SELECT: deleting a
    base URI of 100,000 datasets moves no row through Python.
    """
    reason = "dataset removed" if base_uri is None else "base URI removed"
    where = datasets.c.uri == uri if base_uri is None else datasets.c.base_uri == base_uri
    rows = select(
        literal(at),
        literal("dataset"),
        datasets.c.uri,
        literal("removed"),
        datasets.c.base_uri,
        datasets.c.uuid,
        literal(actor.kind),
        literal(actor.name),
        literal(dict(actor.cause), audit_entries.c.cause.type),
        literal({"reason": reason}, audit_entries.c.changes.type),
    ).where(where)
    # NOTE(dev): the name is not selected into the summary: JSON built in SQL
    # differs per dialect, and the subject and UUID identify the dataset.
    columns = ["at", "subject_kind", "subject", "action", "base_uri", "uuid"]
    columns += ["actor_kind", "actor", "cause", "changes"]
    conn.execute(insert(audit_entries).from_select(columns, rows))


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

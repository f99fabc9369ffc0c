"""SqlAdminStore: users, base URIs and permissions in SQLite or PostgreSQL.

Every write bumps the ``admin`` revision in its own transaction;
``get_user`` (called on every API request) and ``get_base_uri`` (on every
registration) are served from a ``RevisionCache`` after one primary-key
read of that revision on a raw connection (``RevisionReader``).

Lists keep registration order (``id``) unless sort keys say otherwise;
permission lists follow the registration order of the users or base URIs
they name.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from lookup_events.errors import UnknownBaseURI, UnknownUser
from lookup_events.store.actors import SYSTEM, Actor
from lookup_events.store.audit import AuditEntry, SubjectKind, set_difference
from lookup_events.store.protocols import (
    BASE_URI_SORT_FIELDS,
    USER_SORT_FIELDS,
    BaseURI,
    PageRequest,
    PermissionKind,
    ResultPage,
    SortKey,
    User,
)
from lookup_events.store.sql.audit import Clock
from lookup_events.store.sql.audit import record as record_audit
from lookup_events.store.sql.engine import (
    reader,
    translate_errors,
    writer,
)
from lookup_events.store.sql.query import order_by, paged
from lookup_events.store.sql.revisions import RevisionCache, RevisionReader, bump_revision
from lookup_events.store.sql.schema import (
    ADMIN_REVISION,
    base_uris,
    register_permissions,
    search_permissions,
    users,
)

_PERMISSION_TABLES: dict[str, Table] = {
    "search": search_permissions,
    "register": register_permissions,
}


class SqlAdminStore:
    """AdminStore on an SQLAlchemy engine."""

    def __init__(
        self,
        engine: Engine,
        follow_revisions: bool = True,
        *,
        audit: bool = False,
        clock: Clock = time.time,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._clock = clock
        self._writer = writer(engine)
        self._reader = reader(engine)
        self._cache = RevisionCache()
        self._revisions = RevisionReader(engine, follow_revisions)

    @translate_errors()
    def add_user(self, username: str, is_admin: bool = False, actor: Actor = SYSTEM) -> bool:
        """Create the user; False (and no change) if it exists."""
        with self._writer.begin() as conn:
            bump_revision(conn, ADMIN_REVISION)
            if _user_id(conn, username) is not None:
                return False
            conn.execute(insert(users).values(username=username, is_admin=is_admin))
            self._note(
                conn, actor, "user", username, action="added", changes={"is_admin": is_admin}
            )
            return True

    @translate_errors()
    def put_user(self, username: str, is_admin: bool, actor: Actor = SYSTEM) -> bool:
        """Create the user or set its admin flag; True if it was created."""
        with self._writer.begin() as conn:
            bump_revision(conn, ADMIN_REVISION)
            found = conn.execute(_USER_BY_NAME, {"username": username}).first()
            if found is None:
                conn.execute(insert(users).values(username=username, is_admin=is_admin))
                self._note(
                    conn, actor, "user", username, action="added", changes={"is_admin": is_admin}
                )
                return True
            conn.execute(update(users).where(users.c.id == found.id).values(is_admin=is_admin))
            if bool(found.is_admin) != is_admin:
                changes = {"is_admin": [bool(found.is_admin), is_admin]}
                self._note(conn, actor, "user", username, action="updated", changes=changes)
            return False

    @translate_errors()
    def delete_user(self, username: str, actor: Actor = SYSTEM) -> bool:
        """Delete the user and its permissions; True if it existed."""
        with self._writer.begin() as conn:
            bump_revision(conn, ADMIN_REVISION)
            deleted = conn.execute(delete(users).where(users.c.username == username)).rowcount > 0
            if deleted:
                self._note(conn, actor, "user", username, action="removed", changes={})
            return deleted

    @translate_errors()
    def get_user(self, username: str) -> User | None:
        """Return the user with its permissions, or None."""
        key = ("user", username)
        revision = self._revisions.read(ADMIN_REVISION)
        cached = self._cache.get(revision, key)
        if cached is not None:
            return cached[0]  # type: ignore[no-any-return]
        with self._reader.connect() as conn:
            rows = conn.execute(_USER_BY_NAME, {"username": username}).all()
            found = _users(conn, rows)
            user = found[0] if found else None
        self._cache.put(revision, key, (user,))
        return user

    @translate_errors()
    def list_users(
        self, page: PageRequest | None = None, sort: Sequence[SortKey] = ()
    ) -> ResultPage[User]:
        """Return users (registration order by default); all of them without a page."""
        query = select(users.c.id, users.c.username, users.c.is_admin)
        query = query.order_by(*order_by(users, sort, USER_SORT_FIELDS))
        with self._reader.connect() as conn:
            rows = conn.execute(paged(query, page)).all()
            total = _total(conn, users, page, len(rows))
            return ResultPage(_users(conn, rows), total)

    @translate_errors()
    def add_base_uri(self, base_uri: str, actor: Actor = SYSTEM) -> bool:
        """Register the base URI; False (and no change) if it exists."""
        with self._writer.begin() as conn:
            bump_revision(conn, ADMIN_REVISION)
            if _base_uri_id(conn, base_uri) is not None:
                return False
            conn.execute(insert(base_uris).values(base_uri=base_uri))
            self._note(
                conn, actor, "base_uri", base_uri, action="added", changes={}, base_uri=base_uri
            )
            return True

    @translate_errors()
    def delete_base_uri(self, base_uri: str, actor: Actor = SYSTEM) -> bool:
        """Delete the base URI and its permissions; True if it existed."""
        with self._writer.begin() as conn:
            bump_revision(conn, ADMIN_REVISION)
            statement = delete(base_uris).where(base_uris.c.base_uri == base_uri)
            deleted = conn.execute(statement).rowcount > 0
            if deleted:
                self._note(
                    conn,
                    actor,
                    "base_uri",
                    base_uri,
                    action="removed",
                    changes={},
                    base_uri=base_uri,
                )
            return deleted

    @translate_errors()
    def get_base_uri(self, base_uri: str) -> BaseURI | None:
        """Return the base URI with its permissions, or None."""
        key = ("base_uri", base_uri)
        revision = self._revisions.read(ADMIN_REVISION)
        cached = self._cache.get(revision, key)
        if cached is not None:
            return cached[0]  # type: ignore[no-any-return]
        with self._reader.connect() as conn:
            found = _base_uris(conn, conn.execute(_BASE_URI_BY_NAME, {"base_uri": base_uri}).all())
        self._cache.put(revision, key, (found[0] if found else None,))
        return found[0] if found else None

    @translate_errors()
    def list_base_uris(
        self, page: PageRequest | None = None, sort: Sequence[SortKey] = ()
    ) -> ResultPage[BaseURI]:
        """Return base URIs (registration order by default); all without a page."""
        query = select(base_uris.c.id, base_uris.c.base_uri)
        query = query.order_by(*order_by(base_uris, sort, BASE_URI_SORT_FIELDS))
        with self._reader.connect() as conn:
            rows = conn.execute(paged(query, page)).all()
            total = _total(conn, base_uris, page, len(rows))
            return ResultPage(_base_uris(conn, rows), total)

    @translate_errors()
    def set_permissions(
        self,
        base_uri: str,
        search: Iterable[str],
        register: Iterable[str],
        actor: Actor = SYSTEM,
    ) -> None:
        """Replace both permission lists of ``base_uri``; unknown users are ignored."""
        wanted = {"search": list(search), "register": list(register)}
        with self._writer.begin() as conn:
            bump_revision(conn, ADMIN_REVISION)
            base_uri_id = _base_uri_id(conn, base_uri)
            if base_uri_id is None:
                raise UnknownBaseURI(f"base URI {base_uri!r} is not registered")
            before = _base_uri_now(conn, base_uri) if self._audit else None
            for kind, usernames in wanted.items():
                table = _PERMISSION_TABLES[kind]
                conn.execute(delete(table).where(table.c.base_uri_id == base_uri_id))
                ids = select(users.c.id).where(users.c.username.in_(usernames))
                rows = [{"user_id": uid, "base_uri_id": base_uri_id} for uid in conn.scalars(ids)]
                if rows:
                    conn.execute(insert(table), rows)
            if before is not None:
                self._note_permissions(conn, actor, before)

    @translate_errors()
    def grant(
        self, username: str, base_uri: str, kind: PermissionKind, actor: Actor = SYSTEM
    ) -> bool:
        """Give ``username`` a permission on ``base_uri``; False if held already."""
        table = _PERMISSION_TABLES[kind]
        with self._writer.begin() as conn:
            bump_revision(conn, ADMIN_REVISION)
            base_uri_id = _base_uri_id(conn, base_uri)
            if base_uri_id is None:
                raise UnknownBaseURI(f"Base URI {base_uri!r} not registered")
            user_id = _user_id(conn, username)
            if user_id is None:
                raise UnknownUser(f"User {username!r} not registered")
            key = {"user_id": user_id, "base_uri_id": base_uri_id}
            held = select(table.c.user_id).filter_by(**key)
            if conn.execute(held).first() is not None:
                return False
            conn.execute(insert(table).values(**key))
            changes = {"user": username, "permission": kind}
            self._note(
                conn,
                actor,
                "permission",
                base_uri,
                action="granted",
                changes=changes,
                base_uri=base_uri,
            )
            return True

    @translate_errors()
    def revoke(
        self, username: str, base_uri: str, kind: PermissionKind, actor: Actor = SYSTEM
    ) -> bool:
        """Take a permission away; False if it was not held."""
        table = _PERMISSION_TABLES[kind]
        user_ids = select(users.c.id).where(users.c.username == username)
        base_ids = select(base_uris.c.id).where(base_uris.c.base_uri == base_uri)
        statement = delete(table).where(
            table.c.user_id.in_(user_ids.scalar_subquery()),
            table.c.base_uri_id.in_(base_ids.scalar_subquery()),
        )
        with self._writer.begin() as conn:
            bump_revision(conn, ADMIN_REVISION)
            revoked = conn.execute(statement).rowcount > 0
            if revoked:
                changes = {"user": username, "permission": kind}
                self._note(
                    conn,
                    actor,
                    "permission",
                    base_uri,
                    action="revoked",
                    changes=changes,
                    base_uri=base_uri,
                )
            return revoked

    def _note(
        self,
        conn: Connection,
        actor: Actor,
        kind: SubjectKind,
        subject: str,
        *,
        action: str,
        changes: Mapping[str, Any],
        base_uri: str | None = None,
    ) -> None:
        """Write the audit entry of a change in its transaction (when auditing)."""
        if self._audit:
            entry = AuditEntry(self._clock(), kind, subject, action, changes, actor, base_uri)
            record_audit(conn, [entry])

    def _note_permissions(self, conn: Connection, actor: Actor, before: BaseURI) -> None:
        """Write what replacing a base URI's permission lists changed, if anything."""
        after = _base_uri_now(conn, before.base_uri)
        changes = {
            "search": set_difference(
                before.users_with_search_permissions, after.users_with_search_permissions
            ),
            "register": set_difference(
                before.users_with_register_permissions, after.users_with_register_permissions
            ),
        }
        changed = {
            kind: diff for kind, diff in changes.items() if diff["added"] or diff["removed"]
        }
        if changed:
            name = before.base_uri
            self._note(
                conn, actor, "permission", name, action="replaced", changes=changed, base_uri=name
            )

    def close(self) -> None:
        """Release connections."""
        self._revisions.close()
        self._engine.dispose()


_USER_BY_NAME = select(users.c.id, users.c.username, users.c.is_admin).where(
    users.c.username == bindparam("username")
)


_BASE_URI_BY_NAME = select(base_uris.c.id, base_uris.c.base_uri).where(
    base_uris.c.base_uri == bindparam("base_uri")
)


def _base_uri_now(conn: Connection, base_uri: str) -> BaseURI:
    """Return a registered base URI with its permissions, inside a transaction."""
    row = conn.execute(_BASE_URI_BY_NAME, {"base_uri": base_uri}).one()
    return _base_uris(conn, [row])[0]


def _user_id(conn: Connection, username: str) -> int | None:
    found = conn.scalar(select(users.c.id).where(users.c.username == username))
    return None if found is None else int(found)


def _base_uri_id(conn: Connection, base_uri: str) -> int | None:
    found = conn.scalar(select(base_uris.c.id).where(base_uris.c.base_uri == base_uri))
    return None if found is None else int(found)


def _total(conn: Connection, table: Table, page: PageRequest | None, found: int) -> int:
    if page is None:
        return found
    return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _granted(conn: Connection, kind: str, by: str, ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Map user (or base URI) ids to the base URIs (or users) of one permission kind."""
    table = _PERMISSION_TABLES[kind]
    if by == "user":
        key, other, name = table.c.user_id, base_uris, base_uris.c.base_uri
        join = table.c.base_uri_id == base_uris.c.id
    else:
        key, other, name = table.c.base_uri_id, users, users.c.username
        join = table.c.user_id == users.c.id
    query = select(key, name).join(other, join).where(key.in_(ids)).order_by(other.c.id)
    granted: dict[int, list[str]] = {}
    for owner, value in conn.execute(query):
        granted.setdefault(owner, []).append(value)
    return {owner: tuple(values) for owner, values in granted.items()}


def _users(conn: Connection, rows: Sequence[Any]) -> list[User]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    search = _granted(conn, "search", "user", ids)
    register = _granted(conn, "register", "user", ids)
    return [
        User(row.username, bool(row.is_admin), search.get(row.id, ()), register.get(row.id, ()))
        for row in rows
    ]


def _base_uris(conn: Connection, rows: Sequence[Any]) -> list[BaseURI]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    search = _granted(conn, "search", "base_uri", ids)
    register = _granted(conn, "register", "base_uri", ids)
    return [
        BaseURI(row.base_uri, search.get(row.id, ()), register.get(row.id, ())) for row in rows
    ]

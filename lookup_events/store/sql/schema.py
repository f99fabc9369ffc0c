"""SQL schema of both stores: SQLAlchemy 2 typed models, one metadata.

Registration order is the ``id`` of each table. The free-text index lives
outside these models because it differs per dialect (an FTS5 table on
SQLite, a generated ``tsvector`` column on PostgreSQL); the migrations
create it and Alembic autogenerate is told to ignore it (``FTS_OBJECTS``).

``revisions`` holds one counter per store, bumped in the same transaction
as every write of that store; readers key their in-process caches on it.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Computed,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from lookup_events.store.structured import SHORT

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Objects of the free-text index, made by the migrations, unknown to the models.
FTS_TABLE = "dataset_fts"
PG_SEARCH_COLUMN = "search_vector"
# The filter terms' own vector (migration 0009): made from metadata only, so
# no dataset text can forge a filter term; one GIN index holds both vectors.
PG_FILTER_COLUMN = "filter_vector"
PG_SEARCH_INDEX = "ix_dataset_texts_vectors"
FTS_OBJECTS = frozenset({FTS_TABLE, PG_SEARCH_COLUMN, PG_FILTER_COLUMN, PG_SEARCH_INDEX})
# How PostgreSQL keeps the free-text heap narrow (``DatasetTextRow``): these
# columns are stored EXTERNAL, toasted down to this target, from rows the
# ballast makes big enough to be toasted at all.
PG_OUT_OF_LINE_COLUMNS = ("search_text", "filter_terms", PG_SEARCH_COLUMN, PG_FILTER_COLUMN)
PG_TOAST_TUPLE_TARGET = 128
PG_BALLAST_LENGTH = 2100

# The indexed prefix of a structured-query value.
SHORT_TEXT = SHORT

DATASETS_REVISION = "datasets"
ADMIN_REVISION = "admin"


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave the hand-made free-text objects out of Alembic autogenerate."""
    return name is None or (name not in FTS_OBJECTS and not name.startswith(FTS_TABLE))


class Base(DeclarativeBase):
    """Declarative base holding the metadata of every table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


def _string(length: int) -> TypeEngine[str]:
    # NOTE(dev): byte-order collation on PostgreSQL, so sorting matches SQLite and MongoDB.
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _text() -> TypeEngine[str]:
    return Text().with_variant(Text(collation="C"), "postgresql")


def _permission_table(name: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        Column(
            "base_uri_id",
            ForeignKey("base_uris.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
    )


search_permissions = _permission_table("search_permissions")
register_permissions = _permission_table("register_permissions")


class UserRow(Base):
    """A registered user."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(_string(255), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class BaseURIRow(Base):
    """A registered base URI."""

    __tablename__ = "base_uris"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_uri: Mapped[str] = mapped_column(_string(1024), unique=True)


class DatasetRow(Base):
    """One registered dataset, keyed on its URI."""

    __tablename__ = "datasets"
    __table_args__ = (
        # Covering indexes: filters and counts by base URI and creator, the
        # summary's GROUP BYs, and every sort field.
        # NOTE(dev): every sort order has an index ending in base_uri, so a page
        # is found by scanning a narrow index, never the wide rows.
        Index("ix_datasets_base_uri_id", "base_uri", "id"),
        Index("ix_datasets_id_filters", "id", "base_uri", "creator_username", "uuid"),
        Index("ix_datasets_creator_username", "creator_username", "base_uri", "size_in_bytes"),
        Index("ix_datasets_facets", "base_uri", "creator_username", "size_in_bytes"),
        Index("ix_datasets_uri_base_uri", "uri", "base_uri"),
        Index("ix_datasets_name", "name", "base_uri"),
        Index("ix_datasets_frozen_at", "frozen_at", "base_uri"),
        Index("ix_datasets_created_at", "created_at", "base_uri"),
        Index("ix_datasets_uuid", "uuid", "base_uri"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(_string(2048), unique=True)
    base_uri: Mapped[str] = mapped_column(_string(1024))
    uuid: Mapped[str] = mapped_column(_string(36))
    name: Mapped[str] = mapped_column(_string(1024))
    type: Mapped[str] = mapped_column(_string(64), default="dataset")
    creator_username: Mapped[str] = mapped_column(_string(255))
    frozen_at: Mapped[float] = mapped_column(Double)
    created_at: Mapped[float] = mapped_column(Double)
    number_of_items: Mapped[int | None] = mapped_column(BigInteger)
    size_in_bytes: Mapped[int | None] = mapped_column(BigInteger)
    tags: Mapped[list[str]] = mapped_column(JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)
    readme: Mapped[str] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What storage listed when the registrar read the dataset (``DatasetRecord.stamp``).
    stamp: Mapped[str | None] = mapped_column(_string(64), nullable=True)


class DatasetCountRow(Base):
    """How many datasets each base URI holds, kept in every write's transaction.

    An unfiltered list's exact total is then a sum over the caller's base
    URIs instead of a count of every visible dataset (a million index entries
    after every write at a million datasets).
    """

    __tablename__ = "dataset_counts"

    base_uri: Mapped[str] = mapped_column(_string(1024), primary_key=True)
    datasets: Mapped[int] = mapped_column(BigInteger)


class SummaryCountRow(Base):
    """Datasets and bytes per base URI and creator or tag, kept in every write's transaction.

    A summary over some base URIs is then a read of their few hundred rows
    instead of a GROUP BY over every dataset they hold (0.6-2 s at a million,
    and every summary after a write is a first-time one).
    """

    __tablename__ = "summary_counts"

    base_uri: Mapped[str] = mapped_column(_string(1024), primary_key=True)
    facet: Mapped[str] = mapped_column(_string(16), primary_key=True)  # "creator" or "tag"
    value: Mapped[str] = mapped_column(_string(255), primary_key=True)
    datasets: Mapped[int] = mapped_column(BigInteger)
    size_in_bytes: Mapped[int] = mapped_column(BigInteger)


class AnnotationKeyCountRow(Base):
    """Datasets per base URI and annotation key, kept in every write's transaction.

    The key facet over some base URIs with no other filter (a search page's
    first view) then sums a row per base URI and key instead of grouping
    every dataset's annotation rows.
    """

    __tablename__ = "annotation_key_counts"

    base_uri: Mapped[str] = mapped_column(_string(1024), primary_key=True)
    key: Mapped[str] = mapped_column(_string(255), primary_key=True)
    datasets: Mapped[int] = mapped_column(BigInteger)


class AnnotationCountRow(Base):
    """Datasets per base URI and annotation pair, kept in every write's transaction.

    A key's value facet over some base URIs with no other filter then sums
    a row per base URI and value instead of grouping the key's rows.
    """

    __tablename__ = "annotation_counts"

    base_uri: Mapped[str] = mapped_column(_string(1024), primary_key=True)
    key: Mapped[str] = mapped_column(_string(255), primary_key=True)
    value: Mapped[str] = mapped_column(_string(256), primary_key=True)
    datasets: Mapped[int] = mapped_column(BigInteger)


class DatasetTextRow(Base):
    """The searchable words of one dataset, apart from its wide row.

    NOTE(dev): kept apart so a free-text match that hits tens of thousands
    of datasets visits small rows. A search's bitmap heap scan on
    PostgreSQL needs only the ids, so the text, filter terms and vector are
    stored EXTERNAL (``PG_OUT_OF_LINE_COLUMNS``) and toasted down to the
    ``toast_tuple_target`` below: the heap holds little more than the ids.
    PostgreSQL runs its toaster only for rows over about 2 kB, whatever
    that target says, and most rows are smaller: ``toast_ballast`` makes
    every row that big. No narrower table would do instead: the vector,
    which the GIN index needs beside the ids, is the widest value of a row.
    """

    __tablename__ = "dataset_texts"
    __table_args__ = {"postgresql_with": {"toast_tuple_target": PG_TOAST_TUPLE_TARGET}}

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    search_text: Mapped[str] = mapped_column(Text)
    # Base URI, creator and tags as index terms (``store.text.filter_term``).
    filter_terms: Mapped[str] = mapped_column(Text, server_default="")
    # NOTE(dev): a constant, never written or read; its dashes compress to a few
    # bytes. Stored on PostgreSQL, where it matters; migration 0003 makes it
    # virtual on SQLite, where storing it would only take space.
    toast_ballast: Mapped[str] = mapped_column(
        Text, Computed(text(f"'{'-' * PG_BALLAST_LENGTH}'"), persisted=True), deferred=True
    )


class DatasetTagRow(Base):
    """One tag of one dataset, for tag filters and tag facets.

    The dataset's base URI and size are copied here so the per-tag summary
    reads one covering index instead of joining every dataset row.
    """

    __tablename__ = "dataset_tags"
    __table_args__ = (
        Index("ix_dataset_tags_facets", "tag", "base_uri", "size_in_bytes", "dataset_id"),
    )

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(_string(255), primary_key=True)
    base_uri: Mapped[str] = mapped_column(_string(1024))
    size_in_bytes: Mapped[int | None] = mapped_column(BigInteger)


class DatasetAnnotationRow(Base):
    """One scalar annotation of one dataset, for annotation filters and facets.

    Written with the dataset row by the registrar's transaction
    (``store.annotations`` says which annotations count); the base URI is
    copied here so key facets read one covering index.
    """

    __tablename__ = "dataset_annotations"
    __table_args__ = (
        Index("ix_dataset_annotations_pairs", "key", "value", "dataset_id"),
        Index("ix_dataset_annotations_facets", "base_uri", "key", "value", "dataset_id"),
    )

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(_string(255), primary_key=True)
    value: Mapped[str] = mapped_column(_string(256))
    base_uri: Mapped[str] = mapped_column(_string(1024))


class DatasetFieldRow(Base):
    """One value of one dataset's queryable document, for structured queries.

    ``store.structured.field_rows`` says what is written: every value under
    ``readme`` (the README's YAML), ``annotations`` and ``tags``, array
    elements under their array's path. Strings are compared in ``text`` and
    found through ``short``, their indexed prefix (a long README value
    cannot be a b-tree key on PostgreSQL); numbers (and array lengths) in
    ``number``. Written with the dataset row by the registrar's transaction.
    """

    __tablename__ = "dataset_fields"
    __table_args__ = (
        # NOTE(dev): the kind is part of each key, so a type-bracketed test
        # (``kind = 'number' AND number >= ...``) reads the index alone.
        Index("ix_dataset_fields_short", "path", "kind", "short", "dataset_id"),
        Index("ix_dataset_fields_number", "path", "kind", "number", "dataset_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(_string(512))
    element: Mapped[str] = mapped_column(_text())
    item: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(_string(8))
    number: Mapped[float | None] = mapped_column(Double)
    short: Mapped[str | None] = mapped_column(_string(SHORT_TEXT))
    text: Mapped[str | None] = mapped_column(_text())


class DatasetDependencyRow(Base):
    """One direction of one dependency link of one dataset, for graph walks.

    A dataset ``c`` naming ``p`` under ``key`` owns two rows: ``c -> p``
    (``parent`` true) and ``p -> c``, so a walk follows ``uuid`` to
    ``neighbour`` both ways through one index. Written with the dataset row
    by the registrar's transaction (``store.dependencies`` says which links
    count) and deleted with it; ``base_uri`` is the owner's, so a walk uses
    only links of datasets the caller may see. ``component`` is a UUID shared
    by every row of the links that connect each other (``sql.dependencies``),
    so a graph reads its candidate links in one range (``sql.graph``).
    """

    __tablename__ = "dataset_dependencies"
    __table_args__ = (
        # NOTE(dev): the key and base URI after the neighbour, not before: a UUID has
        # a few rows, and one range scan filtering them beats a probe for every
        # pair of key and base URI asked for (ten for the default keys and five
        # base URIs), as a walk makes one step per dataset.
        Index("ix_dataset_dependencies_walk", "uuid", "neighbour", "parent", "key", "base_uri"),
        # NOTE(dev): covering, so a graph's links are one contiguous range per key.
        Index(
            "ix_dataset_dependencies_component",
            "component",
            "parent",
            "key",
            "base_uri",
            "uuid",
            "neighbour",
        ),
    )

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(_string(255), primary_key=True)
    uuid: Mapped[str] = mapped_column(_string(36), primary_key=True)
    neighbour: Mapped[str] = mapped_column(_string(36), primary_key=True)
    parent: Mapped[bool] = mapped_column(Boolean)
    base_uri: Mapped[str] = mapped_column(_string(1024))
    component: Mapped[str] = mapped_column(_string(36))


class AuditRow(Base):
    """One change to a record, in the transaction of the change (``store.audit``).

    ``subject`` is a dataset URI, a username or a base URI; ``base_uri``
    and ``uuid`` locate a dataset's entries for the permission check;
    ``changes`` summarises the difference, ``cause`` the event behind it.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_subject", "subject", "id"),
        Index("ix_audit_entries_actor", "actor_kind", "actor", "id"),
        Index("ix_audit_entries_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Double)
    subject_kind: Mapped[str] = mapped_column(_string(16))
    subject: Mapped[str] = mapped_column(_string(2048))
    action: Mapped[str] = mapped_column(_string(32))
    base_uri: Mapped[str | None] = mapped_column(_string(1024))
    uuid: Mapped[str | None] = mapped_column(_string(36))
    actor_kind: Mapped[str] = mapped_column(_string(16))
    actor: Mapped[str] = mapped_column(_string(255))
    cause: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


class RevisionRow(Base):
    """A store's write counter; caches are keyed on it."""

    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(_string(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class DatasetChangeRow(Base):
    """One write of a dataset record: the subscriptions' outbox.

    Written in the transaction of the write itself (when the store keeps an
    outbox), so a committed change is never missed and a rolled-back one never
    announced; the deliverer reads the rows in ``id`` order and deletes them.
    """

    __tablename__ = "dataset_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(_string(2048))
    base_uri: Mapped[str] = mapped_column(_string(1024))
    uuid: Mapped[str] = mapped_column(_string(36))
    name: Mapped[str] = mapped_column(_string(1024))
    removed: Mapped[bool] = mapped_column(Boolean)
    committed_at: Mapped[float] = mapped_column(Double)


class SubscriptionRow(Base):
    """A user's saved search and where its notifications go."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(_string(255))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    webhook: Mapped[str | None] = mapped_column(_string(2048))
    queue: Mapped[str | None] = mapped_column(_string(255))
    secret: Mapped[str | None] = mapped_column(_string(128))
    created_at: Mapped[float] = mapped_column(Double)


class SubscriptionMatchRow(Base):
    """A dataset URI that matched a subscription when last notified."""

    __tablename__ = "subscription_matches"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    uri: Mapped[str] = mapped_column(_string(2048), primary_key=True)


class SubscriptionDeliveryRow(Base):
    """A notification waiting to be delivered, or parked with the reason."""

    __tablename__ = "subscription_deliveries"
    __table_args__ = (Index("ix_subscription_deliveries_parked_id", "parked", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    uri: Mapped[str] = mapped_column(_string(2048))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[float] = mapped_column(Double)
    parked: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)


users = cast(Table, UserRow.__table__)
base_uris = cast(Table, BaseURIRow.__table__)
datasets = cast(Table, DatasetRow.__table__)
dataset_counts = cast(Table, DatasetCountRow.__table__)
summary_counts = cast(Table, SummaryCountRow.__table__)
annotation_counts = cast(Table, AnnotationCountRow.__table__)
annotation_key_counts = cast(Table, AnnotationKeyCountRow.__table__)
dataset_tags = cast(Table, DatasetTagRow.__table__)
dataset_annotations = cast(Table, DatasetAnnotationRow.__table__)
dataset_texts = cast(Table, DatasetTextRow.__table__)
dataset_dependencies = cast(Table, DatasetDependencyRow.__table__)
revisions = cast(Table, RevisionRow.__table__)
dataset_fields = cast(Table, DatasetFieldRow.__table__)
audit_entries = cast(Table, AuditRow.__table__)
dataset_changes = cast(Table, DatasetChangeRow.__table__)
subscriptions = cast(Table, SubscriptionRow.__table__)
subscription_matches = cast(Table, SubscriptionMatchRow.__table__)
subscription_deliveries = cast(Table, SubscriptionDeliveryRow.__table__)

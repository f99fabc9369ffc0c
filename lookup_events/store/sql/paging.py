"""Deep pages of very long lists without scanning everything before them.

A list in registration order that matches more datasets than the id cache
holds (``datasets.MAX_CACHED_IDS``) would page with ``OFFSET``, and page
99,999 of a million datasets would then walk 999,990 index entries for
ten rows. Instead one pass over the narrow index, cached until the next
write like the ids themselves, keeps every ``ANCHOR_EVERY``-th id (about
1,000 ids for a million) and the exact total; a page then seeks to the
anchor before it and skips fewer than ``ANCHOR_EVERY`` entries.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Select, func, select

from lookup_events.store.protocols import PageRequest
from lookup_events.store.sql.schema import datasets

ANCHOR_EVERY = 1000


@dataclass(frozen=True, slots=True)
class Anchors:
    """Every ``ANCHOR_EVERY``-th id of a list in id order, and its exact length."""

    ids: array[int]
    total: int

    @property
    def weight(self) -> int:
        """Return the cache weight (as an id array's: a unit per 64 ids)."""
        return 1 + len(self.ids) // 64


def read_anchors(conn: Connection, where: list[ColumnElement[bool]]) -> Anchors:
    """Return the anchors and total of the datasets ``where`` selects, in one pass."""
    number = func.row_number().over(order_by=datasets.c.id)
    numbered = select(datasets.c.id, number.label("n")).where(*where).subquery()
    statement = (
        select(numbered.c.id, numbered.c.n)
        .where((numbered.c.n - 1) % ANCHOR_EVERY == 0)
        .order_by(numbered.c.id)
    )
    rows = conn.execute(statement).all()
    if not rows:
        return Anchors(array("q"), 0)
    last_id, last_number = rows[-1]
    after = select(func.count()).where(*where, datasets.c.id >= last_id)
    total = int(last_number) - 1 + int(conn.scalar(after) or 0)
    return Anchors(array("q", (row[0] for row in rows)), total)


def anchored_page(
    anchors: Anchors, where: list[ColumnElement[bool]], page: PageRequest
) -> Select[tuple[int]] | None:
    """Return the ids of ``page`` sought from its anchor, or None past the end."""
    index = page.offset // ANCHOR_EVERY
    if index >= len(anchors.ids):
        return None
    return (
        select(datasets.c.id)
        .where(*where, datasets.c.id >= anchors.ids[index])
        .order_by(datasets.c.id)
        .limit(page.size)
        .offset(page.offset % ANCHOR_EVERY)
    )

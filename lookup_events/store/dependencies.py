"""Dependency links: which datasets a dataset names as its parents, and where.

A dataset names a parent by writing the parent's UUID somewhere in its README
(YAML) or its annotations, for example ``readme.derived_from.uuid``. Every
store keeps, per dataset, each ``(key, parent UUID)`` link found anywhere in
that document (``dependency_links``): ``key`` is the dotted path of the field
from the document's root (``readme`` or ``annotations``), with lists looked
through as the dependency-graph plugin's README describes, so
``{"derived_from": {"uuid": [a, b]}}`` and ``{"derived_from": [{"uuid": a},
{"uuid": b}]}`` both give ``readme.derived_from.uuid`` links to ``a`` and ``b``.
Because every path is kept, a graph can be asked for any set of keys without
reading a dataset again: the configured keys, or a client's, only choose rows.

Only strings in the 36-character UUID form count, in any letter case; they
are kept lower case, the form every store keeps dataset UUIDs in, so a
parent registered over HTTP and one registered from storage join alike
(0.18 stored one as a BSON UUID and the other as text, and never joined them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lookup_events.model import shared_readme_document

# NOTE(dev): the key is one column of a B-tree index on PostgreSQL; a path
# this long names no field anyone configures, and a document's bound on links
# keeps one huge README from costing a registration thousands of rows.
MAX_KEY_LENGTH = 255
MAX_LINKS = 1000
MAX_DEPTH = 32
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DEFAULT_KEYS = ("readme.derived_from.uuid", "annotations.source_dataset_uuid")

Link = tuple[str, str]


def uuid_text(value: Any) -> str | None:
    """Return a UUID string in canonical (lower-case) form; None for anything else."""
    if isinstance(value, str) and _UUID.fullmatch(value):
        return value.lower()
    return None


def dependency_links(uuid: str, readme: str, annotations: Mapping[str, Any]) -> list[Link]:
    """Return the ``(key, parent UUID)`` links of one dataset, without repeats.

    A link to the dataset's own UUID is no dependency and is left out; past
    ``MAX_LINKS`` links (in document order) the rest are ignored.
    """
    document = {"readme": shared_readme_document(readme), "annotations": dict(annotations)}
    found: dict[Link, None] = {}
    for link in _links(document, "", 0):
        if link[1] != uuid:
            found[link] = None
            if len(found) >= MAX_LINKS:
                break
    return list(found)


def _links(value: Any, path: str, depth: int) -> Iterator[Link]:
    """Yield ``(path, uuid)`` for every UUID string under ``value``."""
    if depth > MAX_DEPTH or len(path) > MAX_KEY_LENGTH:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _links(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _links(item, path, depth + 1)
    elif path and (text := uuid_text(value)) is not None:
        yield path, text


def key_problem(key: str) -> str | None:
    """Return why ``key`` is no dotted field path; None if it is one.

    A path outside ``readme.`` and ``annotations.`` is no error: it holds no
    links, so a graph along it is the dataset alone, as in the original.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        return f"must be 1 to {MAX_KEY_LENGTH} characters"
    if "" in key.split("."):
        return "must not hold an empty field name"
    return None


def components(pairs: Iterable[tuple[str, str]]) -> list[set[str]]:
    """Return the groups of names that ``pairs`` connect (each pair joins its two names)."""
    leader: dict[str, str] = {}

    def find(name: str) -> str:
        root = leader.setdefault(name, name)
        while root != leader[root]:
            root = leader[root]
        while name != root:
            leader[name], name = root, leader[name]
        return root

    for first, second in pairs:
        leader[find(first)] = find(second)
    groups: dict[str, set[str]] = {}
    for name in leader:
        groups.setdefault(find(name), set()).add(name)
    return list(groups.values())

"""Free text: MongoDB ``$text`` search rules, shared by every dataset store.

A search string is split into terms, ``"quoted phrases"`` and ``-exclusions``.
Terms are OR-ed; if there are phrases, every phrase must match and the plain
terms no longer widen the match (MongoDB behaves so); an excluded term or
phrase removes a dataset. A string with nothing positive in it matches
nothing, as in MongoDB. Any text is valid: nothing a user types is syntax
the database sees.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lookup_events.model import DatasetEntry, DatasetRecord

_WORD = re.compile(r"\w+", re.UNICODE)
_PIECE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
FILTER_KINDS = {"base_uri": "1", "creator": "2", "tag": "3"}


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A parsed free-text search: each term and phrase is a tuple of words."""

    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[tuple[str, ...], ...] = ()

    @property
    def matches_nothing(self) -> bool:
        """True when nothing positive is asked for."""
        return not self.terms and not self.phrases


def words(text: str) -> list[str]:
    """Split text into lower-case words, as the indexes tokenise it."""
    return _WORD.findall(text.lower())


def parse_free_text(text: str) -> TextQuery:
    """Parse a search string by MongoDB ``$search`` rules."""
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    for negated, quoted, bare in _PIECE.findall(text):
        if quoted or (negated and not bare):
            phrase = tuple(words(quoted))
            target = excluded if negated else phrases
            if phrase:
                target.append(phrase)
        elif bare.startswith("-"):
            excluded.extend((word,) for word in words(bare[1:]))
        else:
            terms.extend(words(bare))
    return TextQuery(tuple(dict.fromkeys(terms)), tuple(phrases), tuple(excluded))


def searchable_text(record: DatasetRecord) -> str:
    """Return every searchable string of a record, words separated by spaces.

    Indexed: name, creator, UUID, URI, README, tags, annotation values (at
    any depth), manifest relpaths, and extra admin metadata values.
    Punctuation becomes a space, so ``U00096.3.rev.1.bt2`` is found by
    ``U00096`` in every backend.
    """
    entry = record.entry
    parts: list[str] = [entry.name, entry.creator_username, entry.uuid, entry.uri, record.readme]
    parts.extend(entry.tags)
    parts.extend(_strings(record.annotations))
    parts.extend(_strings(dict(entry.extra)))
    items = record.manifest.get("items", {})
    if isinstance(items, Mapping):
        parts.extend(
            item["relpath"]
            for item in items.values()
            if isinstance(item, Mapping) and isinstance(item.get("relpath"), str)
        )
    # NOTE(dev): one scan of the parts joined by spaces finds the same words,
    # in the same order, as a scan of each part (a word never holds a space).
    return " ".join(_WORD.findall(" ".join(parts)))


def filter_term(kind: str, value: str) -> str:
    """Return the index term standing for one base URI, creator or tag.

    A dataset's filter values are indexed as terms beside its words, so the
    text index itself intersects a search's words with its filters (a
    common word and one creator: two posting lists merged, not tens of
    thousands of matches joined in SQL). A term is a kind digit and the 20
    digits of a 64-bit hash: no tokeniser or stemmer alters digits, and the
    SQL filters still apply, so the hash only narrows, never decides.
    """
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return f"{FILTER_KINDS[kind]}{int.from_bytes(digest, 'big'):020d}"


def filter_terms(entry: DatasetEntry) -> str:
    """Return the filter terms of ``entry``, separated by single spaces."""
    terms = [
        filter_term("base_uri", entry.base_uri),
        filter_term("creator", entry.creator_username),
    ]
    terms.extend(filter_term("tag", tag) for tag in dict.fromkeys(entry.tags))
    return " ".join(terms)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)

"""A synthetic corpus shaped more like real dtool READMEs, for a million datasets.

Every distribution is rank-based (Zipf: the item of rank ``r`` is drawn with
weight ``1 / r ** s``) and documented in ``tests/bench/README.md``:

- README words: a vocabulary of ``VOCABULARY_SIZE`` words, s = 1. Ranks 1-20
  are English function words, 21-110 the classic corpus's 90 scientific words
  (so ``workload.py``'s "common words" stay the most common content words),
  the rest pronounceable made-up words, fixed by the vocabulary seed.
- README length: 1-4 sentences of 6-14 words; one dataset in ``LONG_ONE_IN``
  has a long README (20-200 sentences in a ``notes`` block, 1-12 kB).
- Tags: 0-6 a dataset (weights ``TAG_COUNT_WEIGHTS``) from a pool of
  ``TAG_POOL`` (the classic 30 first), s = 1.
- Creators: ``CREATOR_POOL`` usernames (the classic 50 first), s = 1.
- Base URIs: the classic five, s = 1 (44%, 22%, 15%, 11%, 9%).
- Manifests: 1 to 10,000 items, P(k) proportional to ``(k + 3) ** -2.2``
  (median 3 items, mean about 14, one dataset in about 1,000 has more than 1,000).
- Annotations, README fields and dependency links as in ``synthetic.py``
  (``LinkedCorpus``: one tree of 1,000, then families of ten), so one
  database serves the API, structured-query and dependency-graph benchmarks.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.bench.synthetic import (
    BASE_URIS,
    CREATORS,
    EPOCH_SPAN,
    EPOCH_START,
    PROJECTS,
    TAGS,
    WORDS,
    Corpus,
    LinkedCorpus,
)

VOCABULARY_SIZE = 4000
FUNCTION_WORDS = (
    "the", "of", "and", "in", "to", "a", "with", "for", "from", "by",
    "at", "on", "as", "is", "was", "were", "this", "each", "per", "after",
)  # fmt: skip
TAG_POOL = 120
CREATOR_POOL = 500
TAG_COUNT_WEIGHTS = (25, 25, 20, 12, 8, 6, 4)  # 0, 1, ... 6 tags
LONG_ONE_IN = 20
MAX_ITEMS = 10_000
MANIFEST_EXPONENT = 2.2
MANIFEST_SHIFT = 3
_VOCABULARY_SEED = 18
_ONSETS = ("b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "br", "cr", "dr", "fl", "gr", "pl", "pr", "st", "tr", "ch", "sh", "th")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "ou")
_CODAS = ("", "", "", "n", "r", "s", "l", "m", "t", "x", "nd")


def _made_up_words(count: int, taken: set[str]) -> list[str]:
    """Return ``count`` new pronounceable words, the same every time."""
    rng = random.Random(_VOCABULARY_SEED)
    made: list[str] = []
    while len(made) < count:
        syllables = rng.choice((1, 2, 2, 2, 3))
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
            for _ in range(syllables)
        )
        if word not in taken:
            taken.add(word)
            made.append(word)
    return made


def _zipf_cumulative(count: int, exponent: float = 1.0, shift: int = 0) -> list[float]:
    ranks = range(1 + shift, count + 1 + shift)
    return list(itertools.accumulate(1 / rank**exponent for rank in ranks))


def _extend(first: Sequence[str], total: int, make: str) -> tuple[str, ...]:
    """Return ``first`` followed by generated names up to ``total``."""
    return (*first, *(make.format(n=n) for n in range(total - len(first))))


VOCABULARY = (
    *FUNCTION_WORDS,
    *WORDS,
    *_made_up_words(VOCABULARY_SIZE - len(FUNCTION_WORDS) - len(WORDS), {*FUNCTION_WORDS, *WORDS}),
)
ALL_TAGS = _extend(TAGS, TAG_POOL, "topic-{n:02d}")
ALL_CREATORS = _extend(CREATORS, CREATOR_POOL, "user{n:03d}")
_WORD_CUM = _zipf_cumulative(len(VOCABULARY))
_TAG_CUM = _zipf_cumulative(len(ALL_TAGS))
_CREATOR_CUM = _zipf_cumulative(len(ALL_CREATORS))
_BASE_URI_CUM = _zipf_cumulative(len(BASE_URIS))
_ITEMS_CUM = _zipf_cumulative(MAX_ITEMS, MANIFEST_EXPONENT, MANIFEST_SHIFT)
_ITEM_COUNTS = range(1, MAX_ITEMS + 1)


@dataclass(frozen=True)
class _ProseDocuments(Corpus):
    """Info documents drawn from the distributions of this module."""

    def info(self, index: int) -> dict[str, Any]:
        """Return the info document of dataset ``index``."""
        rng = random.Random(f"{self.seed}:prose:{index}")
        dataset_uuid = self.uuid_of(index)
        (base_uri,) = rng.choices(BASE_URIS, cum_weights=_BASE_URI_CUM)
        name = f"{rng.choice(PROJECTS)}-{'-'.join(_words(rng, 2))}-{index:07d}"
        (creator,) = rng.choices(ALL_CREATORS, cum_weights=_CREATOR_CUM)
        frozen_at = EPOCH_START + rng.random() * EPOCH_SPAN
        return {
            "uuid": dataset_uuid,
            "base_uri": base_uri,
            "uri": f"{base_uri}/{dataset_uuid if base_uri.startswith('s3://') else name}",
            "name": name,
            "type": "dataset",
            "dtoolcore_version": "3.18.2",
            "creator_username": creator,
            "created_at": frozen_at - rng.uniform(60.0, 30 * 86400.0),
            "frozen_at": frozen_at,
            "readme": _readme(rng, name, creator, frozen_at),
            "manifest": _manifest(rng),
            "tags": _tags(rng),
            "annotations": _annotations(rng),
        }


@dataclass(frozen=True)
class ProseCorpus(LinkedCorpus, _ProseDocuments):
    """The prose corpus with ``LinkedCorpus``'s dependency links."""


def _words(rng: random.Random, count: int) -> list[str]:
    return rng.choices(VOCABULARY, cum_weights=_WORD_CUM, k=count)


def _sentence(rng: random.Random) -> str:
    return " ".join(_words(rng, rng.randint(6, 14))).capitalize() + "."


def _readme(rng: random.Random, name: str, creator: str, frozen_at: float) -> str:
    description = " ".join(_sentence(rng) for _ in range(rng.randint(1, 4)))
    readme = (
        "---\n"
        f"description: {description}\n"
        f"project: {name.split('-', 1)[0]}\n"
        "owners:\n"
        f"  - name: {creator.capitalize()}\n"
        f"    email: {creator}@example.org\n"
        f"    username: {creator}\n"
        f"funding_source: grant {rng.randint(100000, 999999)}\n"
        f"creation_date: {int(frozen_at)}\n"
        f"instrument: {rng.choice(('confocal', 'sequencer', 'cluster', 'diffractometer'))}\n"
    )
    if rng.randrange(LONG_ONE_IN) == 0:
        lines = (_sentence(rng) for _ in range(rng.randint(20, 200)))
        readme += "notes: |\n" + "".join(f"  {line}\n" for line in lines)
    return readme


def _manifest(rng: random.Random) -> dict[str, Any]:
    (count,) = rng.choices(_ITEM_COUNTS, cum_weights=_ITEMS_CUM)
    folders = ("raw", "processed", "figures", "logs")
    items: dict[str, Any] = {}
    for number in range(count):
        word = _words(rng, 1)[0]
        relpath = f"{rng.choice(folders)}/{word}_{number:05d}.{rng.choice(('csv', 'tif', 'h5'))}"
        items[hashlib.sha1(relpath.encode()).hexdigest()] = {
            "relpath": relpath,
            "size_in_bytes": rng.randint(100, 50_000_000),
            "hash": f"{rng.getrandbits(128):032x}",
            "utc_timestamp": EPOCH_START + rng.random() * EPOCH_SPAN,
        }
    return {"dtoolcore_version": "3.18.2", "hash_function": "md5sum_hexdigest", "items": items}


def _tags(rng: random.Random) -> list[str]:
    (count,) = rng.choices(range(len(TAG_COUNT_WEIGHTS)), weights=TAG_COUNT_WEIGHTS)
    return list(dict.fromkeys(rng.choices(ALL_TAGS, cum_weights=_TAG_CUM, k=count)))


def _annotations(rng: random.Random) -> dict[str, Any]:
    return {
        "experiment_id": f"EXP-{rng.randint(1, 5000):05d}",
        "temperature_K": round(rng.uniform(4.0, 400.0), 1),
        "replicate": rng.randint(1, 6),
        "status": rng.choice(("ok", "ok", "ok", "needs-review")),
    }

"""What each benchmarked endpoint is asked: the request mix of one load run."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from tests.bench.synthetic import BASE_URIS, CREATORS, TAGS, WORDS, Corpus

LOOKUP_SAMPLES = 500
LEGACY_LOOKUP = "/dataset/lookup"  # 0.18's route
SUCCESSOR_LOOKUP = "/uuids"  # dserver's (dtool-lookup-api >= 0.8, the web app)
LIST_PAGES = 50
SEARCH_BODIES = 60
PAGE_SIZE = 10
LONG_PAGE_SIZE = 100


@dataclass(frozen=True)
class Request:
    """One HTTP request of a load run: method, path and optional JSON body."""

    method: str
    path: str
    body: str | None = None


@dataclass(frozen=True)
class Target:
    """One benchmarked endpoint and the requests a load run cycles through."""

    endpoint: str
    requests: tuple[Request, ...]


def bare_target() -> Target:
    """Return the baseline's target: the constant list at ``/``."""
    return Target("bare GET /", (Request("GET", "/"),))


def api_targets(corpus: Corpus, seed: int = 7) -> list[Target]:
    """Return lookup, list, search and summary targets over ``corpus``."""
    return [
        lookup_target(corpus),
        lookup_target(corpus, route=SUCCESSOR_LOOKUP),
        list_target(corpus.size),
        list_target(corpus.size, page_size=LONG_PAGE_SIZE),
        search_target(random.Random(seed)),
        summary_target(),
    ]


def single_client_targets(corpus: Corpus, seed: int = 7) -> list[Target]:
    """Return the API targets again, asking what the loaded runs did not.

    A request asked before is answered from the revision cache; these runs
    come after the loaded ones and must meet first-time requests as they did:
    other UUIDs, the pages after theirs, search bodies drawn with another seed.
    """
    return [
        lookup_target(corpus, first=max(1, corpus.size // LOOKUP_SAMPLES) // 2),
        lookup_target(corpus, max(1, corpus.size // LOOKUP_SAMPLES) // 2, SUCCESSOR_LOOKUP),
        list_target(corpus.size, shift=1),
        list_target(corpus.size, shift=1, page_size=LONG_PAGE_SIZE),
        search_target(random.Random(seed + 1)),
        summary_target(),
    ]


def summary_target() -> Target:
    """Ask for the one summary."""
    return Target("GET /dataset/summary", (Request("GET", "/dataset/summary"),))


def lookup_target(corpus: Corpus, first: int = 0, route: str = LEGACY_LOOKUP) -> Target:
    """Look up UUIDs spread evenly over the corpus, from the ``first``-th on, at ``route``."""
    step = max(1, corpus.size // LOOKUP_SAMPLES)
    indices = range(first, corpus.size, step)
    requests = tuple(Request("GET", f"{route}/{corpus.uuid_of(i)}") for i in indices)
    return Target(f"GET {route}/<uuid>", requests)


def list_target(size: int, shift: int = 0, page_size: int = PAGE_SIZE) -> Target:
    """Ask for list pages spread evenly from the first to the last (each ``shift`` later)."""
    last = max(1, -(-size // page_size))
    count = min(LIST_PAGES, last)
    spread = {1 + round(i * (last - 1) / max(1, count - 1)) for i in range(count)}
    pages = sorted({min(last, page + shift) for page in spread})
    requests = tuple(
        Request("GET", f"/dataset/list?page={page}&page_size={page_size}") for page in pages
    )
    name = "GET /dataset/list?page=P" + (
        "" if page_size == PAGE_SIZE else f"&page_size={page_size}"
    )
    return Target(name, requests)


def search_target(rng: random.Random) -> Target:
    """Search for a common README word plus one creator, tag or base URI filter."""
    common = WORDS[:30]
    filters = (
        lambda: {"creator_usernames": [rng.choice(CREATORS)]},
        lambda: {"tags": [rng.choice(TAGS)]},
        lambda: {"base_uris": [rng.choice(BASE_URIS)]},
    )
    bodies = []
    for number in range(SEARCH_BODIES):
        query = {"free_text": rng.choice(common), **filters[number % len(filters)]()}
        bodies.append(json.dumps(query))
    requests = tuple(Request("POST", "/dataset/search", body) for body in bodies)
    return Target("POST /dataset/search", requests)

"""Response header names in the case 0.18 and dserver sent them (``X-Pagination``).

Falcon sends header names in lower case, which HTTP allows, but
dtool-lookup-api (0.6 to 0.10) copies the headers into a plain dict and then
looks for ``'X-Pagination'`` and ``'X-Sort'`` by exact name: with lower-case
names it silently loses the paging and sorting metadata. So every name goes
out as werkzeug sent it: ``Content-Type``, ``X-Pagination``, ``X-Sort``.
"""

from __future__ import annotations

from functools import lru_cache

import falcon


@lru_cache(maxsize=256)
def canonical(name: str) -> str:
    """Return a header name with each dash-separated part capitalised."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


class CasedResponse(falcon.Response):
    """A Falcon response whose header names are sent capitalised."""

    # NOTE(dev): Falcon has no public hook for the case of header names; this private
    # method is what falcon.App.__call__ hands to start_response (Falcon 4.x). The
    # real-client tests (tests/clients) fail if it ever stops being called.
    def _wsgi_headers(self, media_type: str | None = None) -> list[tuple[str, str]]:
        headers = super()._wsgi_headers(media_type)
        return [(canonical(name), value) for name, value in headers]

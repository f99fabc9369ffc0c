"""Read Prometheus text the way a scraper does: one sample by name and labels."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float:
    """Return the value of the sample ``name`` with exactly ``labels`` (0 if absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


def total(text: str, name: str, **labels: str) -> float:
    """Return the sum of the samples ``name`` whose labels include ``labels``."""
    values = [
        float(found.value)
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if found.name == name and labels.items() <= found.labels.items()
    ]
    return sum(values)


def scrape(url: str, timeout: float = 10.0) -> str:
    """Return the text a GET of ``url`` answers."""
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return str(reply.read().decode())

"""Smoke test of the dependency-graph benchmark: tiny N, every operation timed."""

from __future__ import annotations

import pytest

from tests.bench.dependency_graph import OPERATIONS, run
from tests.bench.synthetic import LinkedCorpus
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_benchmark_prints_a_row_per_operation_and_backend() -> None:
    table = run((300,), ("sqlite", "postgres"), 2, DEFAULT_POSTGRES_URL, graph_size=100)
    rows = table.splitlines()[2:]
    assert len(rows) == 2 * len(OPERATIONS)
    assert all(row.endswith("x |") for row in rows)
    assert rows[0].endswith("| 1.00x |")


def test_the_corpus_links_a_tree_then_families() -> None:
    corpus = LinkedCorpus(40, graph_size=10)
    assert [corpus.parent_of(i) for i in (0, 1, 3, 4, 9)] == [None, 0, 0, 1, 2]
    assert [corpus.parent_of(i) for i in (10, 11, 19, 20)] == [None, 10, 18, None]
    assert corpus.info(4)["annotations"]["source_dataset_uuid"] == corpus.uuid_of(1)
    assert f"uuid: {corpus.uuid_of(0)}" in corpus.info(3)["readme"]

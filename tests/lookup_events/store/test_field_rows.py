"""The fast field rows of a registration equal the reference ``field_rows``, value for value."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lookup_events.store.structured import field_rows, field_tuples

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=150)
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)


def reference(dataset_id: int, parts: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (dataset_id, row.path, row.element, row.item, row.kind, row.number, row.short, row.text)
        for row in field_rows(parts)
    ]


def same(left: list[tuple[Any, ...]], right: list[tuple[Any, ...]]) -> bool:
    """Compare rows with NaN equal to itself (as the database stores it)."""
    return [repr(row) for row in left] == [repr(row) for row in right]


@settings(max_examples=300, deadline=None)
@given(readme=st.dictionaries(st.text(max_size=8), JSON, max_size=5), annotations=JSON, tags=JSON)
def test_field_tuples_equal_the_reference_rows(readme: Any, annotations: Any, tags: Any) -> None:
    parts = {"readme": readme, "annotations": annotations, "tags": tags}
    assert same(field_tuples(7, parts), reference(7, parts))


def test_unusual_values_take_the_reference_path_with_equal_rows() -> None:
    parts: dict[str, Any] = {
        "readme": {
            "when": (1, 2.0, "x"),
            3: "not a string key",
            "nested": {"b": 1.0, "a": [True]},
        },
        "annotations": OrderedDict(z=1, a={"é": "ü" * 120}),
        "tags": ["a", "b"],
    }
    assert same(field_tuples(1, parts), reference(1, parts))

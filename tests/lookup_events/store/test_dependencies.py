"""Which links a dataset's README and annotations hold, under which keys."""

from __future__ import annotations

from lookup_events.store.dependencies import (
    MAX_LINKS,
    components,
    dependency_links,
    key_problem,
    uuid_text,
)

SELF = "11111111-1111-4111-8111-111111111111"
A = "8ecd8e05-558a-48e2-b563-0c9ea273e71e"
B = "faa44606-cb86-4877-b9ea-643a3777e021"


def test_nested_lists_and_dicts_give_the_same_links() -> None:
    as_list = f"derived_from:\n  uuid:\n    - {A}\n    - {B}\n"
    as_dicts = f"derived_from:\n  - uuid: {A}\n  - uuid: {B}\n"
    expected = [("readme.derived_from.uuid", A), ("readme.derived_from.uuid", B)]

    assert dependency_links(SELF, as_list, {}) == expected
    assert dependency_links(SELF, as_dicts, {}) == expected


def test_annotations_are_read_as_they_are_and_uuids_in_any_case_are_lower_case() -> None:
    annotations = {"source_dataset_uuid": A.upper(), "deep": {"list": [[{"id": B}]]}}

    assert dependency_links(SELF, "", annotations) == [
        ("annotations.source_dataset_uuid", A),
        ("annotations.deep.list.id", B),
    ]


def test_self_links_repeats_and_other_values_are_left_out() -> None:
    readme = f"a: {SELF}\nb: [{A}, {A}]\nc: not-{A}\nd: 42\ne: {A}x\n"

    assert dependency_links(SELF, readme, {"n": None, "f": 1.5}) == [("readme.b", A)]


def test_a_readme_that_is_no_mapping_holds_no_links() -> None:
    assert dependency_links(SELF, f"- {A}\n", {}) == []
    assert dependency_links(SELF, "{ unclosed", {}) == []


def test_links_are_bounded_per_dataset() -> None:
    annotations = {f"k{i}": f"{i:08x}-0000-4000-8000-000000000000" for i in range(MAX_LINKS + 5)}

    assert len(dependency_links(SELF, "", annotations)) == MAX_LINKS


def test_uuid_text_accepts_only_the_36_character_form() -> None:
    assert uuid_text(A.upper()) == A
    assert uuid_text(A.replace("-", "")) is None
    assert uuid_text(f"{{{A}}}") is None
    assert uuid_text(7) is None


def test_key_problem_names_what_is_wrong() -> None:
    assert key_problem("readme.derived_from.uuid") is None
    assert key_problem("some_key") is None
    assert key_problem("") == "must be 1 to 255 characters"
    assert key_problem("a" * 256) == "must be 1 to 255 characters"
    assert key_problem("readme..uuid") == "must not hold an empty field name"


def test_components_group_every_name_the_pairs_connect() -> None:
    pairs = [("a", "b"), ("c", "d"), ("b", "e"), ("e", "a"), ("f", "f")]

    groups = sorted(sorted(group) for group in components(pairs))

    assert groups == [["a", "b", "e"], ["c", "d"], ["f"]]


def test_components_join_chains_in_any_order() -> None:
    chain = [(str(i), str(i + 1)) for i in range(100)]

    assert components(reversed(chain)) == [{str(i) for i in range(101)}]

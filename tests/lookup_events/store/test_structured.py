"""Parsing structured queries: what is refused, with a message naming the part (a 422)."""

from __future__ import annotations

from typing import Any

import pytest

from lookup_events.errors import InvalidQuery
from lookup_events.store.structured import (
    MAX_NODES,
    And,
    Condition,
    Not,
    check_regex,
    parse_filter,
)

REFUSED: list[tuple[Any, str]] = [
    ([], "query: a filter must be a JSON object"),
    ({"$where": "this.a == 1"}, r"query\.\$where: \$where is not supported"),
    ({"$expr": {"$eq": ["$a", 1]}}, r"query\.\$expr: \$expr is not supported"),
    ({"$function": {}}, r"\$function is not supported"),
    ({"$text": {"$search": "x"}}, r"\$text is not supported"),
    ({"$lookup": {}}, r"\$lookup is not supported"),
    ({"$comment": "x"}, r"unknown or unsupported operator \$comment"),
    ({"name": {"$type": "string"}}, r"query\.name\.\$type: unknown or unsupported operator"),
    ({"name": {"$mod": [2, 0]}}, r"\$mod"),
    ({"name": {"$gt": [1]}}, r"query\.name\.\$gt: comparisons take a string, number or boolean"),
    ({"name": {"$gt": None}}, "comparisons take"),
    ({"name": {"$in": "alpha"}}, r"query\.name\.\$in: takes a list"),
    ({"name": {"$in": list(range(1001))}}, "at most 1000 values"),
    ({"name": {"$exists": "yes"}}, r"\$exists takes true or false"),
    ({"tags": {"$size": -1}}, r"\$size takes a non-negative integer"),
    ({"tags": {"$size": True}}, r"\$size takes a non-negative integer"),
    ({"tags": {"$all": []}}, r"\$all takes a list"),
    ({"tags": {"$elemMatch": []}}, r"\$elemMatch takes a non-empty object"),
    ({"tags": {"$elemMatch": {"$size": 1}}}, r"\$size: not supported on array elements"),
    ({"name": {"$not": "x"}}, r"\$not takes an operator object"),
    ({"$and": []}, r"query\.\$and: \$and takes a non-empty list"),
    ({"$or": [1]}, r"query\.\$or\[0\]: each item of \$or must be an object"),
    ({"name": {"$gt": 1, "x": 2}}, "do not mix operators and field names"),
    ({"name": {"$options": "i"}}, r"\$options needs \$regex"),
    ({"name": {"$regex": "a", "$options": "m"}}, r"\$options may only be 'i'"),
    ({"manifest.items": 1}, r"query\.manifest\.items: unknown field 'manifest'"),
    ({"readme_document.x": 1}, "unknown field 'readme_document'"),
    ({"search_text": "x"}, "unknown field 'search_text'"),
    ({"name.first": "x"}, "'name' has no fields"),
    ({"tags.0": "x"}, r"array positions \('0'\) are not supported"),
    ({"readme..x": 1}, "is not a field path"),
    ({"readme.$x": 1}, "is not a field path"),
    ({"readme.x": {"a": {"$gt": 1}}}, r"query\.readme\.x\.a\.\$gt: operators cannot appear"),
    ({"readme.x": float("nan")}, "numbers must be finite"),
    ({"readme." + ".".join("a" * 20): 1}, "at most 16 parts"),
]

DANGEROUS_REGEXES = [
    ("(a+)+$", "nested quantifiers"),
    ("(a|aa)*b", "nested quantifiers"),
    ("(x*y?)+", "nested quantifiers"),
    ("(a)\\1", r"the escape \\1"),
    ("(?=a)", r"\(\? groups"),
    ("(?i)a", r"\(\? groups"),
    ("a*?", "lazy and possessive"),
    ("a++", "lazy and possessive"),
    ("\\bword", r"the escape \\b"),
    ("a{1,100000}", "repetitions go up to 1000"),
    ("a{x}", "a repetition takes"),
    ("*a", "a quantifier must follow"),
    ("(a", "unbalanced parentheses"),
    ("a)", "unbalanced parentheses"),
    ("[a", "unterminated character class"),
    ("[[:alpha:]]", "nested character classes"),
    ("a" * 201, "at most 200 characters"),
]


@pytest.mark.parametrize(("document", "message"), REFUSED, ids=[str(r[0])[:60] for r in REFUSED])
def test_a_filter_outside_the_subset_is_refused_naming_the_part(
    document: Any, message: str
) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_filter(document)


@pytest.mark.parametrize(("pattern", "message"), DANGEROUS_REGEXES)
def test_a_regex_that_could_run_away_is_refused(pattern: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_filter({"name": {"$regex": pattern}})


@pytest.mark.parametrize(
    "pattern",
    ["^abc$", "a.b", "[a-z]+_\\d{2,4}", "(ab|cd)", "x(ab)?y", "^(al|de)", "\\.csv$", "[^/]*"],
)
def test_ordinary_regexes_are_accepted(pattern: str) -> None:
    assert check_regex(pattern, None, "q").source == pattern


def test_too_many_operators_are_refused() -> None:
    document = {"$or": [{"name": str(i)} for i in range(MAX_NODES)]}
    with pytest.raises(InvalidQuery, match=f"more than {MAX_NODES} operators"):
        parse_filter(document)


def test_too_deep_a_filter_is_refused() -> None:
    document: dict[str, Any] = {"name": "x"}
    for _ in range(20):
        document = {"$and": [document]}
    with pytest.raises(InvalidQuery, match="nested deeper than 12 levels"):
        parse_filter(document)


def test_negations_are_trees_a_store_cannot_misread() -> None:
    assert parse_filter({"name": {"$ne": "a"}}) == Not(Condition("name", "eq", "a"))
    assert parse_filter({"name": {"$nin": ["a"]}}) == Not(Condition("name", "in", ("a",)))
    assert parse_filter({"$nor": [{"name": "a"}]}) == Not(parse_filter({"$or": [{"name": "a"}]}))
    assert parse_filter({}) == And(())

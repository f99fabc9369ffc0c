"""Free-text parsing follows MongoDB $text rules, and any text is safe."""

import pytest

from lookup_events.model import record_from_info
from lookup_events.store.text import TextQuery, parse_free_text, searchable_text
from tests.support.data import dataset_info as info


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apple pear", TextQuery(terms=("apple", "pear"))),
        ('"red apples" pear', TextQuery(terms=("pear",), phrases=(("red", "apples"),))),
        ("fruit -pear", TextQuery(terms=("fruit",), excluded=(("pear",),))),
        ('x -"a b"', TextQuery(terms=("x",), excluded=(("a", "b"),))),
        ("Apple APPLE", TextQuery(terms=("apple",))),
        ('bad"quote', TextQuery(terms=("bad", "quote"))),
        ('"unterminated phrase', TextQuery(phrases=(("unterminated", "phrase"),))),
        ("", TextQuery()),
        ("* NEAR( ) OR -", TextQuery(terms=("near", "or"))),
    ],
)
def test_parse_free_text(text, expected):
    assert parse_free_text(text) == expected


def test_nothing_positive_matches_nothing():
    assert parse_free_text("-pear").matches_nothing
    assert not parse_free_text("apple").matches_nothing


def test_searchable_text_covers_every_string_a_user_may_search():
    body = info(tags=["evil", "fruit"])
    body["annotations"] = {"type": "fruit", "deep": {"list": ["crazystuff"]}, "n": 5}
    words = searchable_text(record_from_info(body)).split()
    for expected in ["my", "dataset", "olssont", "description", "evil", "crazystuff", "U00096"]:
        assert expected in words
    assert "d89117c9da2cc34586e183017cb14851" not in words  # item hashes are not indexed


def test_searchable_text_scans_each_part_alike():
    body = info(tags=["evil-fruit", "x"])
    body["readme"] = "---\ndescription: pears, apples;\n\n"
    body["annotations"] = {"empty": "", "spaced": "  a  b ", "dots": "U00096.3.rev"}
    words = searchable_text(record_from_info(body)).split(" ")
    assert "" not in words
    assert words[words.index("evil") + 1] == "fruit"
    assert words[words.index("U00096") : words.index("U00096") + 3] == ["U00096", "3", "rev"]

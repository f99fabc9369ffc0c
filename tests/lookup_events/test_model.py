"""DatasetRecord validation: what a store may keep, and why the rest is refused."""

import pytest
import yaml

from lookup_events.errors import InvalidDataset
from lookup_events.model import readme_document, record_from_info
from tests.support.data import dataset_info as info

UUID = "af6727bf-29c7-43dd-b42f-a5d7ede28337"


def test_0_18_body_with_string_timestamps():
    record = record_from_info(info())
    assert record.entry.frozen_at == 1536238185.881941
    assert record.entry.created_at == record.entry.frozen_at
    assert record.readme == "---\ndescription: test dataset"


def test_sizes_derive_from_the_manifest_when_absent():
    record = record_from_info(info())
    assert record.entry.number_of_items == 1
    assert record.entry.size_in_bytes == 5741810


def test_given_sizes_win():
    record = record_from_info(info(number_of_items=47, size_in_bytes=12))
    assert (record.entry.number_of_items, record.entry.size_in_bytes) == (47, 12)


def test_seed_readme_form_numeric_timestamps_and_readme_object():
    body = info(
        frozen_at=1536238185.881941, created_at=1536236399.19497, dtoolcore_version="3.7.0"
    )
    body["readme"] = {"description": "test dataset", "project": "dtool-lookup"}
    record = record_from_info(body)
    assert record.entry.created_at == 1536236399.19497
    assert yaml.safe_load(record.readme) == body["readme"]
    assert record.entry.extra["dtoolcore_version"] == "3.7.0"


def test_annotation_values_keep_their_json_types():
    record = record_from_info(info())
    assert record.annotations == {"software": "bowtie2", "n": 5, "nested": {"a": [1, "x"]}}


def test_duplicate_tags_collapse_in_order():
    assert record_from_info(info(tags=["b", "a", "b"])).entry.tags == ("b", "a")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"type": "protodataset"}, "not frozen"),
        ({"uuid": "af6727bf"}, "not a UUID"),
        ({"uuid": "af6727bf29c743ddb42fa5d7ede28337"}, "36-character"),
        ({"base_uri": "s3://snow-white/"}, "must not end with '/'"),
        ({"uri": "s3://mr-men/" + UUID}, "does not lie directly under"),
        ({"frozen_at": "yesterday"}, "seconds since the epoch"),
        ({"frozen_at": "nan"}, "finite"),
        ({"frozen_at": True}, "seconds since the epoch"),
        ({"manifest": []}, "manifest must be an object"),
        ({"annotations": "x"}, "annotations must be an object"),
        ({"tags": "fruit"}, "tags must be a list"),
        ({"tags": ["ok", 3]}, "tags must be a list"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"number_of_items": -1}, "non-negative integer"),
        ({"size_in_bytes": "5"}, "non-negative integer"),
    ],
)
def test_invalid_documents_are_refused_with_a_reason(changes, reason):
    with pytest.raises(InvalidDataset, match=reason):
        record_from_info(info(**changes))


def test_missing_keys_are_named():
    body = info()
    del body["readme"], body["tags"]
    with pytest.raises(InvalidDataset, match="missing required keys: readme, tags"):
        record_from_info(body)


def test_readme_document_gives_yaml_fields_as_json():
    readme = "project: x\nfrozen: 2024-03-01\nderived_from:\n  - uuid: abc\nratio: .nan\n"
    assert readme_document(readme) == {
        "project": "x",
        "frozen": "2024-03-01",
        "derived_from": [{"uuid": "abc"}],
        "ratio": "nan",
    }


@pytest.mark.parametrize("readme", ["", "just words", "- a list", "key: [unclosed", "{1: }: x"])
def test_readme_document_of_text_that_is_not_a_yaml_mapping_is_empty(readme):
    document = readme_document(readme)
    assert document == {} or all(isinstance(key, str) for key in document)

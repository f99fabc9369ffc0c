"""Path parameters are checked against their documented schemas, and sort orders per route.

``path_value`` checks a string's length without a schema walk; what it
refuses (and how the refusal is worded) must stay what the schema says, at
the limit and one past it. Sort orders are remembered by what the client sent:
the same ``sort`` text means different things on routes sorting different fields.
"""

from __future__ import annotations

import json

import pytest
from falcon import testing

from lookup_api import schemas
from tests.support.api import Header
from tests.support.data import SNOW_WHITE

# (method, route template, parameter, who asks): parameters with a length limit.
LIMITED = [
    ("GET", "/users/{}", "username", "snow-white"),
    ("GET", "/uris/s3/{}", "uri", "grumpy"),
    ("GET", "/base-uris/{}", "base_uri", "snow-white"),
    ("DELETE", "/users/grumpy/search/{}", "base_uri", "snow-white"),
]


@pytest.mark.parametrize("case", LIMITED, ids=lambda case: f"{case[0]} {case[1]}")
def test_a_path_value_one_past_its_limit_is_a_422_naming_it(
    data_client: testing.TestClient, auth: Header, case: tuple[str, str, str, str]
) -> None:
    method, template, name, caller = case
    limit = schemas.PATH_PARAMETERS[name]["maxLength"]
    # NOTE(dev): the uri route's value gains "s3://" (one "/" becomes "://").
    filler = limit - len("s3/") if name == "uri" else limit

    at_limit, past = (
        data_client.simulate_request(method, template.format("a" * n), headers=auth(caller))
        for n in (filler, filler + 1)
    )

    assert at_limit.status_code != 422, at_limit.text
    assert past.status_code == 422, past.text
    assert past.json["errors"] == {"path": {name: [f"Longer than maximum length {limit}."]}}


def test_a_uuid_of_any_length_is_looked_up_not_refused(
    data_client: testing.TestClient, auth: Header
) -> None:
    long = data_client.simulate_get("/uuids/" + "a" * 10_000, headers=auth("grumpy"))

    assert (long.status_code, long.json) == (200, [])


def test_a_sort_cached_for_one_route_is_judged_again_on_another(
    data_client: testing.TestClient, auth: Header
) -> None:
    admin = auth("snow-white")
    for _ in range(2):
        datasets = data_client.simulate_get("/uris", query_string="sort=-uri", headers=admin)
        users = data_client.simulate_get("/users", query_string="sort=-uri", headers=admin)
        base_uris = data_client.simulate_get(
            "/base-uris", query_string="sort=-base_uri", headers=admin
        )

        assert json.loads(datasets.headers["X-Sort"]) == {"sort": {"uri": -1}}
        assert users.status_code == 422, users.text
        assert base_uris.json[0]["base_uri"] == SNOW_WHITE
        assert json.loads(base_uris.headers["X-Sort"]) == {"sort": {"base_uri": -1}}

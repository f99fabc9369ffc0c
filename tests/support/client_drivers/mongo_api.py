"""Drive dtool-lookup-api 0.10.3's structured queries and print what each call returned, as JSON.

Runs in the client's own virtual environment (see ../clients.py), never in ours. URL
and token come from ~/.config/dtool/dtool.json (DSERVER_URL, DSERVER_TOKEN).
Usage: python mongo_api.py '{"uuid": "..."}'
"""

import json
import sys

import dtool_lookup_api as api

PARAMS = json.loads(sys.argv[1])


def main():
    """Query and aggregate as dtool-lookup-gui does, through the released client."""
    out = {"pagination": {}}
    out["query"] = api.query({"readme.project": {"$regex": "^apples", "$options": "i"}})
    out["query_string"] = api.query('{"annotations.species": "apple"}')
    out["query_tags"] = api.query({"readme.temperature": {"$gt": 0}}, tags=["fruit"])
    out["by_mongo_query"] = api.get_datasets_by_mongo_query(
        {"readme.derived_from.uuid": PARAMS["uuid"]}, pagination=out["pagination"]
    )
    out["page_2"] = api.query({}, page_number=2, page_size=2)
    out["aggregate"] = api.aggregate(
        [
            {"$unwind": "$tags"},
            {"$group": {"_id": "$tags", "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
            {"$project": {"tag": "$_id", "n": 1}},
        ]
    )
    out["refused"] = api.query({"$where": "sleep(100)"})
    print(json.dumps(out))


main()

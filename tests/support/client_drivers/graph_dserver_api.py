"""Drive dtool-lookup-api 0.10.3's dependency-graph calls and print what they returned, as JSON.

Runs in the client's own virtual environment (see ../clients.py), never in ours. URL
and token come from ~/.config/dtool/dtool.json (DSERVER_URL, DSERVER_TOKEN).
Usage: python graph_dserver_api.py '{"uuid": "...", "keys": [...]}'
"""

import json
import sys

import dtool_lookup_api as api

PARAMS = json.loads(sys.argv[1])
UUID = PARAMS["uuid"]


def outcome(call):
    """Return what a call returned, or the name and text of what it raised."""
    try:
        return {"value": call()}
    except Exception as ex:
        return {"raised": type(ex).__name__, "text": str(ex)}


out = {"pagination": {}, "sorting": {}}
out["graph"] = api.get_graph_by_uuid(UUID, pagination=out["pagination"], sorting=out["sorting"])
out["page_2"] = api.get_graph_by_uuid(UUID, page_number=2, page_size=2)
out["by_keys"] = api.get_graph_by_uuid(UUID, dependency_keys=PARAMS["keys"])
out["deprecated_graph"] = outcome(lambda: api.graph(UUID))
print(json.dumps(out))

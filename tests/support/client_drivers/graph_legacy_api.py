"""Drive dtool-lookup-api 0.7.0's ``graph()`` (0.18 route) and print what it returned, as JSON.

Runs in the client's own virtual environment (see ../clients.py), never in ours.
Usage: python graph_legacy_api.py '{"url": "...", "token": "...", "uuid": "...", "keys": [...]}'
"""

import asyncio
import json
import sys

PARAMS = json.loads(sys.argv[1])


async def main():
    """TokenBasedLookupClient.graph with the default keys, a page, and keys of its own."""
    from dtool_lookup_api.core.LookupClient import TokenBasedLookupClient

    out = {"pagination": {}}
    async with TokenBasedLookupClient(lookup_url=PARAMS["url"], token=PARAMS["token"]) as lc:
        out["graph"] = await lc.graph(PARAMS["uuid"], pagination=out["pagination"])
        out["page_2"] = await lc.graph(PARAMS["uuid"], page_number=2, page_size=2)
        out["by_keys"] = await lc.graph(PARAMS["uuid"], dependency_keys=PARAMS["keys"])
    return out


print(json.dumps(asyncio.run(main())))

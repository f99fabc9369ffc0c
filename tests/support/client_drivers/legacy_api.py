"""Drive dtool-lookup-api 0.7.0 (0.18 routes) and print what each call returned, as JSON.

Runs in the client's own virtual environment (see ../clients.py), never in ours.
Usage: python legacy_api.py '{"flow": "...", "url": "...", "token": "...", ...}'
"""

import asyncio
import json
import sys

PARAMS = json.loads(sys.argv[1])
UUID = PARAMS.get("uuid")
URI = PARAMS.get("uri")


async def token_flow():
    """TokenBasedLookupClient: a token given in code, no configuration file."""
    from dtool_lookup_api.core.LookupClient import TokenBasedLookupClient

    out = {}
    async with TokenBasedLookupClient(lookup_url=PARAMS["url"], token=PARAMS["token"]) as lc:
        out["lookup_pagination"] = {}
        out["lookup"] = await lc.lookup(UUID, pagination=out["lookup_pagination"])
        out["search_pagination"] = {}
        out["search"] = await lc.search("apple", pagination=out["search_pagination"])
        out["all"] = await lc.all(page_size=20, pagination={})
        out["readme"] = await lc.readme(URI)
        out["manifest"] = await lc.manifest(URI)
        out["unknown_manifest"] = await lc.manifest(PARAMS["unknown_uri"])
        out["summary"] = await lc.summary()
        out["config"] = await lc.config()
        out["versions"] = await lc.versions()
        out["user_info"] = await lc.user_info("grumpy")
    return out


async def admin_flow():
    """The admin calls of TokenBasedLookupClient, as an admin."""
    from dtool_lookup_api.core.LookupClient import TokenBasedLookupClient

    out = {}
    async with TokenBasedLookupClient(lookup_url=PARAMS["url"], token=PARAMS["token"]) as lc:
        out["register_base_uri"] = await lc.register_base_uri("s3://new-bucket")
        out["register_user"] = await lc.register_user("dopey")
        out["update_permissions"] = await lc.update_permissions(
            "s3://new-bucket", ["dopey", "grumpy"], ["dopey"]
        )
        out["permission_info"] = await lc.permission_info("s3://new-bucket")
        out["list_users"] = await lc.list_users(pagination={})
        out["list_base_uris"] = await lc.list_base_uris(pagination={})
        out["user_info"] = await lc.user_info("dopey")
    return out


def config_file_flow():
    """The synchronous top-level functions: URL and token from ~/.config/dtool/dtool.json."""
    import dtool_lookup_api as api

    return {
        "lookup": api.lookup(UUID),
        "search": api.search("apple"),
        "all": api.all(),
        "readme": api.readme(URI),
        "manifest": api.manifest(URI),
        "summary": api.summary(),
        "config": api.config(),
        "user_info": api.user_info("grumpy"),
    }


def expired_token_flow():
    """A refused token raises LookupServerError with the server's msg."""
    from dtool_lookup_api.core.LookupClient import LookupServerError, TokenBasedLookupClient

    async def call():
        async with TokenBasedLookupClient(lookup_url=PARAMS["url"], token=PARAMS["token"]) as lc:
            return await lc.summary()

    try:
        return {"result": asyncio.run(call())}
    except LookupServerError as ex:
        return {"error": str(ex)}


FLOWS = {
    "token": lambda: asyncio.run(token_flow()),
    "admin": lambda: asyncio.run(admin_flow()),
    "config_file": config_file_flow,
    "refused_token": expired_token_flow,
}

print(json.dumps(FLOWS[PARAMS["flow"]]()))

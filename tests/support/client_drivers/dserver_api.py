"""Drive dtool-lookup-api 0.10.3 (dserver routes) and print what each call returned, as JSON.

Runs in the client's own virtual environment (see ../clients.py), never in ours. URL
and token come from ~/.config/dtool/dtool.json (DSERVER_URL, DSERVER_TOKEN), and
every call first probes GET /config/info, as the synchronous functions always do.
Usage: python dserver_api.py '{"flow": "...", "uuid": "...", "uri": "..."}'
"""

import json
import sys

import dtool_lookup_api as api

PARAMS = json.loads(sys.argv[1])
UUID = PARAMS.get("uuid")
URI = PARAMS.get("uri")


def user_flow():
    """What a user with search permissions reads."""
    out = {"pagination": {}, "sorting": {}}
    out["datasets"] = api.get_datasets(pagination=out["pagination"], sorting=out["sorting"])
    out["apple"] = api.get_datasets(free_text="apple")
    out["fruit_and_evil"] = api.get_datasets(tags=["fruit", "evil"])
    out["sorted"] = api.get_datasets(sort_fields=["name", "base_uri"], sort_order=[1, -1])
    out["page_2"] = api.get_datasets(page_number=2, page_size=2)
    out["by_uuid"] = api.get_datasets_by_uuid(UUID)
    out["dataset"] = api.get_dataset(URI)
    out["readme"] = api.get_readme(URI)
    out["manifest"] = api.get_manifest(URI)
    out["annotations"] = api.get_annotations(URI)
    out["tags"] = api.get_tags(URI)
    out["summary"] = api.get_summary()
    out["me"] = api.get_user()
    out["grumpy"] = api.get_user("grumpy")
    out["config"] = api.get_config()
    out["versions"] = api.get_versions()
    out["users_forbidden"] = api.get_users()
    out["deprecated_search"] = api.search("apple")
    out["deprecated_lookup"] = api.lookup(UUID)
    out["deprecated_readme"] = api.readme(URI)
    return out


def admin_flow():
    """Users, base URIs and a dataset registered and deleted, as an admin."""
    out = {}
    out["users"] = api.get_users()
    out["base_uris"] = api.get_base_uris()
    out["snow_white"] = api.get_base_uri("s3://snow-white")
    out["register_user"] = api.register_user("dopey", is_admin=False)
    out["register_user_again"] = api.register_user("dopey", is_admin=True)
    out["dopey"] = api.get_user("dopey")
    out["register_base_uri"] = api.register_base_uri(
        "s3://new-bucket", ["snow-white", "dopey"], ["snow-white"]
    )
    out["new_bucket"] = api.get_base_uri("s3://new-bucket")
    out["register_dataset"] = api.register_dataset(**PARAMS["dataset"])
    out["registered"] = api.get_dataset(PARAMS["dataset"]["uri"])
    out["registered_readme"] = api.get_readme(PARAMS["dataset"]["uri"])
    out["grumpy_summary"] = api.get_summary("grumpy")
    out["delete_dataset"] = api.delete_dataset(PARAMS["dataset"]["uri"])
    out["after_delete"] = api.get_datasets(base_uris=["s3://new-bucket"])
    out["deleted"] = api.get_dataset(PARAMS["dataset"]["uri"])
    out["delete_user"] = api.delete_user("dopey")
    out["delete_base_uri"] = api.delete_base_uri("s3://new-bucket")
    out["base_uris_after"] = api.get_base_uris()
    return out


FLOWS = {"user": user_flow, "admin": admin_flow}

print(json.dumps(FLOWS[PARAMS["flow"]]()))

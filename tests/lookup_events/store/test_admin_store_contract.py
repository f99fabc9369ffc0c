"""AdminStore contract: every backend of the ``stores`` fixture must pass it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookup_events.errors import UnknownBaseURI, UnknownUser
from lookup_events.store import Stores, open_stores
from lookup_events.store.protocols import BaseURI, PageRequest, SortKey, User
from tests.support.data import MR_MEN, SNOW_WHITE, load_anchor_data, load_anchor_users
from tests.support.stores import settings_for


def usernames(stores: Stores, page: PageRequest | None = None, *sort: SortKey) -> list[str]:
    """Return the usernames of one listing."""
    return [user.username for user in stores.admin.list_users(page, sort).items]


def test_add_user_is_idempotent_and_keeps_the_flag(stores: Stores) -> None:
    assert stores.admin.add_user("dopey") is True
    assert stores.admin.add_user("dopey", is_admin=True) is False
    assert stores.admin.get_user("dopey") == User("dopey", is_admin=False)
    assert stores.admin.add_user("evil-witch", is_admin=True) is True
    assert stores.admin.get_user("evil-witch") == User("evil-witch", is_admin=True)


def test_put_user_creates_or_sets_the_flag(stores: Stores) -> None:
    assert stores.admin.put_user("grumpy", is_admin=True) is True
    assert stores.admin.put_user("grumpy", is_admin=False) is False
    assert stores.admin.get_user("grumpy") == User("grumpy", is_admin=False)


def test_get_user_unknown_is_none_and_names_are_case_sensitive(stores: Stores) -> None:
    stores.admin.add_user("grumpy")
    assert stores.admin.get_user("noone") is None
    assert stores.admin.get_user("Grumpy") is None


def test_users_with_permissions_as_in_the_anchor(stores: Stores) -> None:
    load_anchor_users(stores)
    assert stores.admin.get_user("snow-white") == User("snow-white", is_admin=True)
    assert stores.admin.get_user("grumpy") == User("grumpy", False, (SNOW_WHITE,), (SNOW_WHITE,))
    assert stores.admin.get_user("sleepy") == User("sleepy", False, (SNOW_WHITE,), ())
    assert stores.admin.get_base_uri(SNOW_WHITE) == BaseURI(
        SNOW_WHITE, ("grumpy", "sleepy"), ("grumpy",)
    )


def test_permission_lists_follow_registration_order(stores: Stores) -> None:
    for base_uri in ("s3://zz", "s3://aa", "s3://mm"):
        stores.admin.add_base_uri(base_uri)
    for username in ("zed", "amy", "max"):
        stores.admin.add_user(username)
    for base_uri in ("s3://mm", "s3://aa", "s3://zz"):
        stores.admin.grant("amy", base_uri, "search")
    stores.admin.set_permissions("s3://aa", search=["max", "zed", "amy"], register=["max", "amy"])
    assert stores.admin.get_user("amy") == User(
        "amy", False, ("s3://zz", "s3://aa", "s3://mm"), ("s3://aa",)
    )
    assert stores.admin.get_base_uri("s3://aa") == BaseURI(
        "s3://aa", ("zed", "amy", "max"), ("amy", "max")
    )


def test_delete_user_drops_its_permissions(stores: Stores) -> None:
    load_anchor_users(stores)
    assert stores.admin.delete_user("grumpy") is True
    assert stores.admin.delete_user("grumpy") is False
    assert stores.admin.get_user("grumpy") is None
    assert stores.admin.get_base_uri(SNOW_WHITE) == BaseURI(SNOW_WHITE, ("sleepy",), ())
    stores.admin.add_user("grumpy")
    assert stores.admin.get_user("grumpy") == User("grumpy")


def test_delete_base_uri_drops_its_permissions(stores: Stores) -> None:
    load_anchor_data(stores)
    assert stores.admin.delete_base_uri(SNOW_WHITE) is True
    assert stores.admin.delete_base_uri(SNOW_WHITE) is False
    assert stores.admin.get_base_uri(SNOW_WHITE) is None
    assert stores.admin.get_user("grumpy") == User("grumpy", False, (MR_MEN,), (MR_MEN,))
    stores.admin.add_base_uri(SNOW_WHITE)
    assert stores.admin.get_base_uri(SNOW_WHITE) == BaseURI(SNOW_WHITE)


def test_add_base_uri_is_idempotent(stores: Stores) -> None:
    load_anchor_users(stores)
    assert stores.admin.add_base_uri(SNOW_WHITE) is False
    assert stores.admin.get_base_uri(SNOW_WHITE) == BaseURI(
        SNOW_WHITE, ("grumpy", "sleepy"), ("grumpy",)
    )
    assert stores.admin.add_base_uri("s3://snow-white-again") is True
    assert stores.admin.get_base_uri("s3://unknown") is None


def test_set_permissions_replaces_both_lists_and_ignores_unknown_users(stores: Stores) -> None:
    load_anchor_users(stores)
    stores.admin.set_permissions(SNOW_WHITE, search=["sleepy", "noone"], register=[])
    assert stores.admin.get_base_uri(SNOW_WHITE) == BaseURI(SNOW_WHITE, ("sleepy",), ())
    assert stores.admin.get_user("grumpy") == User("grumpy")
    stores.admin.set_permissions(SNOW_WHITE, search=[], register=[])
    assert stores.admin.get_base_uri(SNOW_WHITE) == BaseURI(SNOW_WHITE)
    with pytest.raises(UnknownBaseURI):
        stores.admin.set_permissions("s3://no-uri", search=["grumpy"], register=[])


def test_grant_and_revoke(stores: Stores) -> None:
    load_anchor_users(stores)
    assert stores.admin.grant("sleepy", SNOW_WHITE, "register") is True
    assert stores.admin.grant("sleepy", SNOW_WHITE, "register") is False
    assert stores.admin.grant("grumpy", SNOW_WHITE, "search") is False
    assert stores.admin.get_user("sleepy") == User("sleepy", False, (SNOW_WHITE,), (SNOW_WHITE,))
    assert stores.admin.revoke("sleepy", SNOW_WHITE, "search") is True
    assert stores.admin.revoke("sleepy", SNOW_WHITE, "search") is False
    assert stores.admin.revoke("noone", SNOW_WHITE, "search") is False
    assert stores.admin.revoke("sleepy", "s3://no-uri", "register") is False
    assert stores.admin.get_user("sleepy") == User("sleepy", False, (), (SNOW_WHITE,))


def test_grant_checks_the_base_uri_first(stores: Stores) -> None:
    load_anchor_users(stores)
    with pytest.raises(UnknownBaseURI, match="s3://no-uri"):
        stores.admin.grant("noone", "s3://no-uri", "search")
    with pytest.raises(UnknownBaseURI):
        stores.admin.grant("grumpy", "s3://no-uri", "register")
    with pytest.raises(UnknownUser, match="noone"):
        stores.admin.grant("noone", SNOW_WHITE, "search")


def test_list_users_in_registration_order_or_sorted(stores: Stores) -> None:
    for username, is_admin in (("sleepy", False), ("snow-white", True), ("grumpy", False)):
        stores.admin.add_user(username, is_admin)
    assert usernames(stores) == ["sleepy", "snow-white", "grumpy"]
    assert usernames(stores, None, SortKey("username")) == ["grumpy", "sleepy", "snow-white"]
    by_admin_then_name = (SortKey("is_admin", True), SortKey("username", True))
    assert usernames(stores, None, *by_admin_then_name) == ["snow-white", "sleepy", "grumpy"]
    assert usernames(stores, None, SortKey("is_admin")) == ["sleepy", "grumpy", "snow-white"]
    listing = stores.admin.list_users()
    assert listing.total == 3
    assert listing.items[1] == User("snow-white", is_admin=True)


def test_list_users_paged(stores: Stores) -> None:
    for n in range(5):
        stores.admin.add_user(f"user{n}")
    page = stores.admin.list_users(PageRequest(2, 2), [SortKey("username", descending=True)])
    assert ([u.username for u in page.items], page.total) == (["user2", "user1"], 5)
    beyond = stores.admin.list_users(PageRequest(4, 2))
    assert (beyond.items, beyond.total) == ([], 5)


def test_list_base_uris_with_permissions_in_order_or_sorted(stores: Stores) -> None:
    load_anchor_data(stores)
    listing = stores.admin.list_base_uris()
    assert listing.items == [
        BaseURI(SNOW_WHITE, ("grumpy",), ("grumpy",)),
        BaseURI(MR_MEN, ("grumpy",), ("grumpy",)),
    ]
    assert listing.total == 2
    ascending = stores.admin.list_base_uris(None, [SortKey("base_uri")])
    assert [b.base_uri for b in ascending.items] == [MR_MEN, SNOW_WHITE]
    page = stores.admin.list_base_uris(PageRequest(2, 1), [SortKey("base_uri", True)])
    assert ([b.base_uri for b in page.items], page.total) == ([MR_MEN], 2)


def test_unknown_sort_fields_are_refused(stores: Stores) -> None:
    with pytest.raises(ValueError, match="password"):
        stores.admin.list_users(None, [SortKey("password")])
    with pytest.raises(ValueError, match="id"):
        stores.admin.list_base_uris(None, [SortKey("id")])


def test_cached_users_see_writes_from_another_process(
    stores: Stores, database_url: str, tmp_path: Path
) -> None:
    load_anchor_users(stores)
    other = open_stores(settings_for(database_url, tmp_path))
    try:
        assert other.admin.get_user("sleepy") == User("sleepy", False, (SNOW_WHITE,), ())
        stores.admin.grant("sleepy", SNOW_WHITE, "register")
        assert other.admin.get_user("sleepy") == User(
            "sleepy", False, (SNOW_WHITE,), (SNOW_WHITE,)
        )
        stores.admin.delete_user("sleepy")
        assert other.admin.get_user("sleepy") is None
        stores.admin.put_user("sleepy", is_admin=True)
        assert other.admin.get_user("sleepy") == User("sleepy", is_admin=True)
        assert other.admin.get_base_uri(SNOW_WHITE) == BaseURI(
            SNOW_WHITE, ("grumpy",), ("grumpy",)
        )
        stores.admin.set_permissions(SNOW_WHITE, search=["sleepy"], register=[])
        assert other.admin.get_base_uri(SNOW_WHITE) == BaseURI(SNOW_WHITE, ("sleepy",), ())
        stores.admin.delete_base_uri(SNOW_WHITE)
        assert other.admin.get_base_uri(SNOW_WHITE) is None
    finally:
        other.close()

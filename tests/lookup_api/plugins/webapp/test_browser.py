"""The web app in a real browser: headless Chromium against ``dtool-lookup serve``.

Each journey signs in with a token (or none in single-user mode), uses the
app as a person would (labels, roles, the keyboard) and ends with no error
in the browser's console.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import dtoolcore
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import Console, Deployment, chromium, deployment, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One server over the fruit datasets for the module's journeys."""
    with deployment(tmp_path_factory.mktemp("webapp")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser session (its own sessionStorage)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def hits(page: Page) -> str:
    return page.locator("#hits").inner_text()


def test_sign_in_search_filter_and_go_back(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("bob"))
    expect(page.locator("#hits")).to_have_text(re.compile(r"^4 datasets"))
    expect(page.get_by_text("Signed in as bob")).to_be_visible()
    page.get_by_label("Search datasets").fill("plums")
    expect(page.locator("#hits")).to_have_text(re.compile(r"^1 dataset,"))
    assert "free_text=plums" in page.url
    page.get_by_label("Search datasets").fill("")
    expect(page.locator("#hits")).to_have_text(re.compile(r"^4 datasets"))
    page.locator("#facet-creator_usernames").get_by_label(re.compile(r"^bob")).check()
    expect(page.locator("#hits")).to_have_text(re.compile(r"^2 datasets"))
    assert "creator_usernames=bob" in page.url
    page.locator("#facet-tags").get_by_label(re.compile(r"^plums-tag")).check()
    expect(page.locator("#hits")).to_have_text(re.compile(r"^1 dataset,"))
    names = page.locator(".result .name")
    expect(names).to_have_text(["plums"])
    page.go_back()
    expect(page.locator("#hits")).to_have_text(re.compile(r"^2 datasets"))
    expect(page.locator("#facet-tags").get_by_label(re.compile(r"^plums-tag"))).not_to_be_checked()
    assert console.errors == []


def test_annotation_facets_filter_and_sort(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("alice"))
    page.locator("#facet-annotations summary", has_text="species").click()
    page.locator("#facet-annotations").get_by_label(re.compile(r"^quinces")).check()
    expect(page.locator(".result .name")).to_have_text(["quinces"])
    assert "annotations=species%3Dquinces" in page.url
    page.get_by_role("button", name="Remove filter Annotation: species=quinces").click()
    page.get_by_label("Sort").select_option("+name")
    expect(page.locator(".result .name")).to_have_text(["apples", "pears", "plums", "quinces"])
    assert console.errors == []


def test_a_bookmarked_search_opens_as_it_was(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("bob"))
    page.goto(f"{served.url}/#/?tags=fruit&creator_usernames=alice&sort=%2Bname&page_size=25")
    expect(page.locator(".result .name")).to_have_text(["apples", "quinces"])
    expect(page.get_by_label("Per page")).to_have_value("25")
    expect(page.locator("#facet-tags").get_by_label(re.compile(r"^fruit"))).to_be_checked()
    assert console.errors == []


def test_dataset_page_by_keyboard(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("bob"))
    page.get_by_label("Search datasets").fill("quinces")
    expect(page.locator("#hits")).to_have_text(re.compile(r"^1 dataset,"))
    page.get_by_role("link", name="quinces").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("quinces")
    dataset = dtoolcore.DataSet.from_uri(served.uris["quinces"])
    expect(page.locator(".facts")).to_contain_text(dataset.uuid)
    expect(page.locator("#dataset-uri")).to_have_text(served.uris["quinces"])
    readme = page.locator(".readme-yaml")
    expect(readme.locator("dt", has_text="harvest")).to_be_visible()
    expect(readme.locator("li", has_text="ben")).to_be_visible()
    rows = page.locator(".manifest tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Filter items by path").fill("csv")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("sub/table.csv")
    page.get_by_label("Filter items by path").fill("")
    page.get_by_role("button", name=re.compile(r"^Size")).click()
    page.get_by_role("button", name=re.compile(r"^Size")).click()
    expect(rows.first).to_contain_text("a.txt")  # 3 x "quinces" is larger than the csv
    expect(page.locator(".tags")).to_contain_text("quinces-tag")
    expect(page.locator("table.annotations")).to_contain_text("species")
    # bob may search but not register: no curation controls
    expect(page.get_by_role("button", name="Add tag")).to_have_count(0)
    expect(page.get_by_role("button", name="Edit README")).to_have_count(0)
    page.get_by_role("link", name="← Back to search").click()
    expect(page.get_by_label("Search datasets")).to_have_value("quinces")
    assert console.errors == []


def test_overview_draws_the_charts(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("bob"))
    page.get_by_role("link", name="Overview").click()
    for title in ("creator", "base URI", "tag", "month"):
        expect(page.locator("figcaption", has_text=title)).to_be_visible()
    chart = page.get_by_role("img", name=re.compile(r"^Datasets per creator"))
    expect(chart).to_have_attribute("aria-label", re.compile(r"alice 2, bob 2"))
    assert console.errors == []


def test_admin_adds_a_user_and_grants_search(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("alice"))
    page.get_by_role("link", name="Admin").click()
    page.get_by_label("New user").fill("dora")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("row", name=re.compile("dora"))).to_be_visible()
    page.get_by_role("button", name=served.base_uri).click()
    search = page.get_by_label("Users who may search (comma-separated)")
    expect(search).to_have_value(re.compile("bob"))
    search.fill(f"{search.input_value()}, dora")
    page.get_by_role("button", name="Save permissions").click()
    expect(page.get_by_role("status").first).to_have_text("Saved.")
    users = {user["username"]: user for user in served.cli.json("user", "list")}
    assert served.base_uri in users["dora"]["search_permissions_on_base_uris"]
    assert console.errors == []


def test_bob_sees_no_admin_page(served: Deployment, page: Page) -> None:
    sign_in(page, served.url, served.token("bob"))
    expect(page.get_by_role("link", name="Admin")).to_be_hidden()
    page.goto(f"{served.url}/#/admin")
    expect(page.get_by_text("Only admins may see this page.")).to_be_visible()


def test_sign_out_forgets_the_token(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("bob"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Token")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    assert console.errors == []


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("expired", "Your token has expired: paste a new one."),
        ("unknown", "Signing in failed"),
        ("not-a-token", "That is not a valid token"),
    ],
)
def test_a_bad_token_is_refused_in_words(
    served: Deployment, page: Page, token: str, message: str
) -> None:
    if token == "expired":
        token = served.expired_token("bob")
    elif token == "unknown":
        served.cli.ok("user", "add", "carol")
        token = served.token("carol")
        served.cli.ok("user", "delete", "carol")
    page.goto(served.url)
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_contain_text(message)
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()


def test_narrow_screen_has_no_sideways_scroll(served: Deployment, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        sign_in(page, served.url, served.token("alice"))
        page.get_by_role("link", name="apples").click()
        page.locator(".manifest tbody tr").first.wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_every_control_has_a_label(served: Deployment, page: Page) -> None:
    sign_in(page, served.url, served.token("alice"))
    for route in ("#/", f"#/dataset?uri={served.uris['pears']}", "#/admin"):
        page.goto(f"{served.url}/{route}")
        page.wait_for_load_state("networkidle")
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input, select, textarea')]
                .filter((el) => !el.labels.length && !el.getAttribute('aria-label'))
                .map((el) => el.outerHTML)"""
        )
        assert unlabelled == [], route


def test_single_user_mode_needs_no_token(tmp_path: Path, browser: Browser) -> None:
    settings = {"DISABLE_JWT_AUTHORISATION": "true", "DEFAULT_USER": "alice"}
    with deployment(tmp_path, **settings) as running:
        page = browser.new_page()
        console = Console(page)
        page.goto(running.url)
        expect(page.locator("#hits")).to_have_text(re.compile(r"^4 datasets"))
        expect(page.get_by_text("alice (single-user mode)")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        page.close()
        assert console.errors == []


def open_dataset(page: Page, served: Deployment, name: str) -> None:
    """Go to dataset ``name``'s page and wait for its manifest."""
    page.goto(f"{served.url}/#/dataset?uri={served.uris[name]}")
    page.locator(".manifest tbody tr").first.wait_for()


def test_download_an_item(served: Deployment, page: Page, tmp_path: Path) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("bob"))
    open_dataset(page, served, "pears")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download a.txt").click()
    saved = tmp_path / "a.txt"
    download.value.save_as(saved)
    dataset = dtoolcore.DataSet.from_uri(served.uris["pears"])
    (identifier,) = [
        i for i in dataset.identifiers if dataset.item_properties(i)["relpath"] == "a.txt"
    ]
    assert saved.read_bytes() == Path(dataset.item_content_abspath(identifier)).read_bytes()
    assert saved.read_bytes() == b"pears" * 2
    assert console.errors == []


def test_curate_tags_annotations_and_readme(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("alice"))
    open_dataset(page, served, "plums")
    page.get_by_label("New tag").fill("ripe")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator(".tags")).to_contain_text("ripe")
    page.get_by_role("button", name="Remove tag plums-tag").click()
    expect(page.locator(".tags")).not_to_contain_text("plums-tag")
    page.get_by_label("Name", exact=True).fill("stage")
    page.get_by_label("Value (JSON or text)").fill("3")
    page.get_by_role("button", name="Set annotation").click()
    expect(page.locator("table.annotations")).to_contain_text("stage")
    page.get_by_role("button", name="Delete annotation count").click()
    expect(page.locator("table.annotations")).not_to_contain_text("count")
    page.get_by_role("button", name="Edit README").click()
    readme = "---\ndescription: plums, curated in the browser\nproject: orchard\n"
    page.get_by_label("README (YAML)").fill(readme)
    page.get_by_role("button", name="Save README").click()
    expect(page.locator(".readme-yaml")).to_contain_text("plums, curated in the browser")
    on_disk = dtoolcore.DataSet.from_uri(served.uris["plums"])
    assert sorted(on_disk.list_tags()) == ["fruit", "ripe"]
    assert on_disk.get_annotation("stage") == 3
    assert "count" not in on_disk.list_annotation_names()
    assert on_disk.get_readme_content() == readme
    # the index shows it at once: search by the new tag finds the dataset
    page.goto(f"{served.url}/#/?tags=ripe")
    expect(page.locator(".result .name")).to_have_text(["plums"])
    assert console.errors == []


def test_a_refused_change_is_shown_in_words(served: Deployment, page: Page) -> None:
    sign_in(page, served.url, served.token("alice"))
    open_dataset(page, served, "apples")
    page.get_by_label("New tag").fill("no spaces allowed")
    page.get_by_role("button", name="Add tag").click()
    status = page.locator("section[aria-labelledby=tags-title] .status")
    expect(status).to_have_class(re.compile("error"))
    expect(status).to_contain_text(re.compile("tag", re.IGNORECASE))
    expect(page.locator(".tags")).not_to_contain_text("no spaces allowed")
    assert "no spaces allowed" not in dtoolcore.DataSet.from_uri(served.uris["apples"]).list_tags()


def test_the_dependency_graph_is_drawn(served: Deployment, page: Page) -> None:
    console = Console(page)
    sign_in(page, served.url, served.token("bob"))
    open_dataset(page, served, "pears")
    graph = page.get_by_role("img", name=re.compile(r"^Dependency graph of 2 datasets"))
    expect(graph).to_be_visible()
    page.get_by_role("link", name="Open apples").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("apples")
    expect(page.get_by_role("img", name=re.compile(r"^Dependency graph of 2"))).to_be_visible()
    open_dataset(page, served, "plums")
    expect(page.get_by_text("No datasets are derived from or used by this one.")).to_be_visible()
    assert console.errors == []

"""A served deployment with real dtool datasets, and headless Chromium to drive it.

The browser is Debian's ``chromium`` driven by Playwright through its
executable path (no browser is downloaded). The server is ``dtool-lookup
serve`` in a subprocess on a free port, on the embedded defaults, over a
directory of datasets made with dtoolcore and indexed by the command line.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dtoolcore
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from lookup_events.keys import PRIVATE_KEY_NAME
from lookup_events.tokens import issue_token
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.datasets import make_dataset
from tests.support.network import free_port
from tests.support.processes import process_env, run_lookup, wait_until

CHROMIUM = Path("/usr/bin/chromium")
FRUIT = ("apples", "pears", "quinces", "plums")
README = (
    "---\ndescription: fruit from the orchard\nproject: orchard\n"
    "harvest:\n  month: September\n  pickers: [ann, ben]\n"
    "notes: |\n  A long line of text about {name} that wraps in the browser when it is read by "
    "a person on a narrow screen.\n"
)


@dataclass
class Deployment:
    """A running server, its command line, and the datasets it indexed."""

    url: str
    cli: LookupCli
    data_dir: Path
    base: Path
    base_uri: str
    uris: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        """Return a token for ``username`` from ``dtool-lookup user token``."""
        return str(self.cli.ok("user", "token", username).stdout.strip())

    def expired_token(self, username: str) -> str:
        """Return a token for ``username`` that expired an hour ago."""
        private = (self.data_dir / PRIVATE_KEY_NAME).read_text()
        return issue_token(private, username, expires_in=60, now=lambda: time.time() - 3600)


def make_fruit(base: Path) -> dict[str, str]:
    """Freeze the fruit datasets in ``base``; return their URIs by name."""
    uris: dict[str, str] = {}
    for index, name in enumerate(FRUIT):
        readme = README.format(name=name)
        if name == "pears":  # NOTE(webapp): pears derive from apples: a dependency graph
            parent = dtoolcore.DataSet.from_uri(uris["apples"]).uuid
            readme += f"derived_from:\n  uuid: {parent}\n"
        uris[name] = make_dataset(
            base,
            name,
            readme=readme,
            items={"a.txt": name.encode() * (index + 1), "sub/table.csv": b"x,y\n1,2\n"},
            tags=["fruit", f"{name}-tag"],
            annotations={"species": name, "count": index},
            creator=("alice", "bob")[index % 2],
        )
    return uris


@contextlib.contextmanager
def deployment(tmp_path: Path, **settings: str) -> Iterator[Deployment]:
    """Serve the fruit datasets: alice (admin) may search and register, bob may search."""
    data_dir = tmp_path / "data"
    base = tmp_path / "datasets"
    uris = make_fruit(base)
    cli = LookupCli(clean_env(data_dir, **settings))
    cli.ok("user", "add", "--is-admin", "alice")
    cli.ok("user", "add", "bob")
    cli.ok("base-uri", "add", str(base))
    (base_uri,) = [item["base_uri"] for item in cli.json("base-uri", "list")]
    cli.ok("user", "search-permission", "alice", base_uri)
    cli.ok("user", "register-permission", "alice", base_uri)
    cli.ok("user", "search-permission", "bob", base_uri)
    cli.ok("base-uri", "index", str(base))
    port = free_port()
    env = process_env(data_dir, **settings)
    with run_lookup(["serve", "--port", str(port), "--api-only"], env, tmp_path) as server:
        if not wait_until(lambda: "Listening at" in server.log(), 60):
            raise RuntimeError(f"serve did not start:\n{server.log()}")
        yield Deployment(f"http://127.0.0.1:{port}", cli, data_dir, base, base_uri, uris)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Launch Debian's chromium headless; fail (never skip) when it is not installed."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        # NOTE(webapp): --no-sandbox because CI runs as root, where chromium's sandbox refuses.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """The errors a page logged or threw, for a test to assert there were none."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


def sign_in(page: Page, url: str, token: str) -> None:
    """Open the app at ``url`` and sign in with ``token``; wait for the first results."""
    page.goto(url)
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator(".result").first.wait_for()

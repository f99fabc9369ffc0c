"""Take the README's screenshots of the web app: ``python -m tests.support.screenshots``.

Serves the fruit datasets of ``tests/support/browser.py`` and saves
``docs/images/search.png`` and ``docs/images/dataset.png`` (or into the
folder given as the first argument).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.support.browser import chromium, deployment, sign_in

REPO = Path(__file__).resolve().parents[2]
SIZE = {"width": 1200, "height": 760}


def take(folder: Path) -> list[Path]:
    """Save the two screenshots into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    search, dataset = folder / "search.png", folder / "dataset.png"
    with (
        tempfile.TemporaryDirectory() as work,
        deployment(Path(work)) as served,
        chromium() as browser,
    ):
        page = browser.new_page(viewport=SIZE)
        sign_in(page, served.url, served.token("alice"))
        page.locator("#facet-tags").get_by_label("fruit").first.check()
        page.locator("#facet-annotations summary", has_text="species").click()
        page.locator("#facet-annotations .values .check").first.wait_for()
        page.get_by_label("Search datasets").focus()
        page.screenshot(path=str(search))
        page.get_by_role("link", name="quinces").click()
        page.locator(".manifest tbody tr").first.wait_for()
        page.screenshot(path=str(dataset), full_page=True)
    return [search, dataset]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "images"
    for path in take(target):
        print(path)

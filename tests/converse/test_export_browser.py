"""``converse export --format html`` in a real browser: headless Chromium (Debian's package)
driven by Playwright opens the exported file of a hostile log as a reader would, from disk.

The log is a real run (offline model) whose organisation's name, a period and a statement hold
markup meant to run a script, load an image or a frame, hide the page or close our elements.
Nothing of it may run or become an element; all of it must read as text; the debates must be
folded and open on a click, with no script.

Without Chromium the tests skip, unless ``CONVERSE_REQUIRE_BROWSER=1`` (CI sets it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from _helpers import (
    CHROMIUM,
    HOSTILE_NAME,
    HOSTILE_PERIOD,
    HOSTILE_TEXT,
    hostile_copy,
    need_browser,
    run_cli_ok,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("export-browser")
    out = run_cli_ok("run", "three-labs-councils", "--set", "clock.end=2024", "-q", "--out", "runs", cwd=base)
    log = base / out.strip().splitlines()[-1] / "events.jsonl"
    hostile = hostile_copy(log, base / "hostile" / "events.jsonl").parent
    run_cli_ok("export", str(hostile), "--format", "html", "-o", "page.html", cwd=base)
    return base / "page.html"


@pytest.fixture
def page(page_file: Path) -> Any:
    sync_playwright = need_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-sync",
                "--disable-background-networking",
            ],
        )
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            tab.on("pageerror", lambda exc: problems.append(str(exc)))
            tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            requests: list[str] = []
            tab.on("request", lambda r: requests.append(r.url))
            tab.goto(page_file.as_uri())
            yield tab
            assert not problems, problems  # no script error, and nothing the policy had to refuse
            assert requests == [page_file.as_uri()], requests  # the file itself, nothing else
        finally:
            browser.close()


def test_a_hostile_log_runs_nothing_and_reads_as_text(page: Any) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script, img, iframe, object, embed, link, [onerror]").count() == 0
    assert page.locator("style").count() == 1  # the page's own
    assert page.locator("main").is_visible()

    statements = page.locator("article.statement")
    assert statements.count() == 6  # 3 organisations x 2 years
    first = statements.first
    assert first.locator(":scope > header .actor").inner_text() == f"OpenAI{HOSTILE_NAME}"
    assert first.locator(":scope > .text").inner_text().startswith(HOSTILE_TEXT)
    assert first.locator(":scope > .text").is_visible()
    assert page.locator("section.period > h3").all_inner_texts() == ["2023", f"{HOSTILE_PERIOD}2024"]
    assert (
        f"OpenAI{HOSTILE_NAME}" in page.locator(".verdict table").inner_text()
    )  # the judge's table, at the top


def test_debates_are_folded_and_open_on_a_click(page: Any) -> None:
    debates = page.locator("details.debate")
    assert debates.count() == 6
    assert all(debates.nth(i).get_attribute("open") is None for i in range(debates.count()))
    debate = page.locator("article.statement").first.locator(":scope > .folds > details.debate")
    line = debate.locator(":scope > .lines > article.line").first
    assert not line.is_visible()
    debate.locator(":scope > summary").click()
    assert debate.get_attribute("open") is not None
    assert line.is_visible()
    member = line.locator(":scope > header .actor").inner_text()
    assert member.startswith(f"OpenAI{HOSTILE_NAME} ")  # OpenAI CEO, as the log names them
    debate.locator(":scope > summary").click()
    assert not line.is_visible()

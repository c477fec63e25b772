"""``converse view`` in a real browser: headless Chromium (Debian's package) driven by Playwright.

The viewer runs as users start it (``converse view DIR --port 0`` in a process of its own)
over real run directories; each test does what a reader would and checks what they would
see. Screenshots go under the test's tmp directory.

Without Chromium the tests skip, unless ``CONVERSE_REQUIRE_BROWSER=1`` (CI sets it) makes
that a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _helpers import CONVERSE, run_cli
from _viewing import chromium, watched_page
from _viewing import viewer as serving

pytestmark = pytest.mark.slow

PAYLOAD = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> & <b>not bold</b>"


def keep(page: Any, name: str, height: int | None = None) -> None:
    """With ``CONVERSE_SCREENSHOTS=DIR``, save a screenshot for the README there (the
    page's top ``height`` pixels, or all of it)."""
    folder = os.environ.get("CONVERSE_SCREENSHOTS")
    if folder:
        page.evaluate("window.scrollTo(0, 0)")
        clip = None if height is None else {"x": 0, "y": 0, "width": 1280, "height": height}
        page.screenshot(path=str(Path(folder) / name), full_page=True, clip=clip)


def converse(*args: str, cwd: Path) -> None:
    done = run_cli(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("browser")
    root = base / "runs"
    converse("run", "nested-councils", "--out", str(root), cwd=base)
    converse("sweep", "three-labs-councils", "--grid", "clock.end=2024,2025", "--repeats", "3", "--out", str(root / "sweep"), "-q", cwd=base)
    converse("camel", "roleplay", "--critic", "model", "--max-messages", "6", "--out", str(root / "chat"), cwd=base)
    # A run whose model said something hostile: the first public statement carries a payload.
    source = root / "nested-councils-seed0" / "events.jsonl"
    hostile = root / "hostile"
    hostile.mkdir()
    lines, done = [], False
    for line in source.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if not done and event["type"] == "utterance" and event["conversation"] == ["top"]:
            event["text"] = PAYLOAD + "\n" + event["text"]
            done = True
        lines.append(json.dumps(event, ensure_ascii=False))
    (hostile / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # A run with one damaged line: a model call whose messages later calls' prompts share.
    logged = source.read_bytes().splitlines(keepends=True)
    calls = [json.loads(line) for line in logged if line.startswith(b'{"type":"llm_call"')]
    shared = {c["shared"]["call"] for c in calls if c.get("shared")}
    bad = next(i for i, line in enumerate(logged) if line.startswith(b'{"type":"llm_call"') and json.loads(line)["call"] in shared)
    logged[bad] = b"{not an event\n"
    (root / "damaged").mkdir()
    (root / "damaged" / "events.jsonl").write_bytes(b"".join(logged))
    return root


@pytest.fixture(scope="module")
def viewer(library: Path) -> Iterator[str]:
    with serving(library) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with watched_page(browser) as opened:
        yield opened


def test_open_a_run_and_unfold_a_council_debate(viewer: str, page: Any, tmp_path: Path) -> None:
    page.goto(viewer)
    page.get_by_role("link", name="nested-councils-seed0", exact=True).click()
    statements = page.locator("article.statement")
    statements.nth(14).wait_for()
    assert statements.count() == 15  # 3 organisations x 5 years
    assert page.locator("section.period h3").all_inner_texts() == ["2023", "2024", "2025", "2026", "2027"]
    assert page.locator(".run-status .status").inner_text() == "completed"
    assert page.locator(".verdict .summary").inner_text().strip() != ""

    first = statements.first
    debate = first.locator(":scope > .folds > details.debate")
    assert debate.get_attribute("open") is None  # folded under the statement
    line = debate.locator(":scope > .lines > article.line").first
    assert not line.is_visible()
    debate.locator(":scope > summary").click()
    assert line.is_visible()
    assert "council debate" in debate.locator(":scope > summary .label").inner_text()
    keep(page, "view-run.png", height=1500)

    advisers = first.locator("details.debate[data-depth='2']").first  # a member's advisers, inside the debate
    advisers.locator(":scope > summary").click()
    adviser_line = advisers.locator(":scope > .lines > article.line").first
    assert adviser_line.is_visible()
    assert adviser_line.locator(".text").inner_text().strip()
    page.screenshot(path=str(tmp_path / "run.png"), full_page=False)

    # Every call's prompt, on demand.
    first.locator(":scope > header button.prompt").click()
    dialog = page.locator("dialog#call")
    dialog.locator(".message.role-system").first.wait_for()
    assert dialog.locator(".message.role-answer pre").inner_text() == first.locator(":scope > .text").inner_text()
    page.screenshot(path=str(tmp_path / "prompt.png"))
    assert (tmp_path / "run.png").stat().st_size > 10_000


def test_model_output_is_shown_as_text_never_run(viewer: str, page: Any, tmp_path: Path) -> None:
    page.goto(viewer + "#/run/hostile")
    first = page.locator("article.statement").first
    first.wait_for()
    assert first.locator(":scope > .text").inner_text().startswith(PAYLOAD)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main script, main img[src='x'], main .text b").count() == 0
    page.screenshot(path=str(tmp_path / "hostile.png"))


def test_a_running_simulation_updates_without_reload(library: Path, viewer: str, page: Any, tmp_path: Path) -> None:
    lines = (library / "nested-councils-seed0" / "events.jsonl").read_bytes().splitlines(keepends=True)
    run = library / "live"
    run.mkdir()
    log = run / "events.jsonl"
    log.write_bytes(b"".join(lines[:100]))
    page.goto(viewer + "#/run/live")
    page.locator(".run-status .status", has_text="running").wait_for()
    assert page.locator("#live").is_visible()
    page.evaluate("window.__same_page = true")
    before = page.locator("article.statement").count()
    with log.open("ab") as f:
        for start in range(100, len(lines), 40):  # the run goes on, a few events at a time
            f.write(b"".join(lines[start : start + 40]))
            f.flush()
            time.sleep(0.05)
    page.locator(".run-status .status", has_text="completed").wait_for(timeout=15_000)
    assert page.locator("article.statement").count() == 15 > before
    assert page.evaluate("window.__same_page") is True  # updated in place, not reloaded
    assert page.locator("#live").is_hidden()
    page.screenshot(path=str(tmp_path / "live.png"))


def test_a_simulation_running_now_streams_into_the_page(library: Path, viewer: str, page: Any) -> None:
    """The engine itself writes the log (a real run, 0.15 s a model call) while the page is open."""
    with subprocess.Popen(
        [*CONVERSE, "run", "three-labs", "--model", "offline?latency=0.15",
         "--out", str(library / "now")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as run:
        try:
            log = library / "now" / "three-labs-seed0" / "events.jsonl"
            deadline = time.monotonic() + 30
            while not log.exists():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            page.goto(viewer + "#/run/now%2Fthree-labs-seed0")
            page.locator(".run-status .status", has_text="running").wait_for()
            page.evaluate("window.__same_page = true")
            page.locator(".turn", has_text="Turn:").wait_for()  # whose turn it is, as it changes
            early = page.locator("article.statement").count()
            page.locator(".run-status .status", has_text="completed").wait_for(timeout=60_000)
            assert run.wait(timeout=30) == 0
        finally:
            if run.poll() is None:
                run.kill()
    assert page.locator("article.statement").count() == 30 > early
    assert page.evaluate("window.__same_page") is True
    assert page.locator(".verdict .summary").inner_text().strip()  # the judge's verdict came in live too


def test_a_sweep_chart_renders_and_the_table_sorts(viewer: str, page: Any, tmp_path: Path) -> None:
    page.goto(viewer)
    page.get_by_role("link", name="sweep", exact=True).click()
    chart = page.locator("figure.chart[data-dial='clock.end']")
    chart.locator("circle").nth(5).wait_for()
    assert chart.locator("circle").count() == 6  # one dot per run
    assert chart.locator("rect.box").count() == 2  # one box per setting
    assert chart.locator("text", has_text="2024").count() == 1
    score = page.locator("select.score-select")
    options = score.locator("option").all_inner_texts()
    assert "safety_risk" in options
    score.select_option("safety_risk")
    page.locator("figure.chart[data-score='safety_risk'] circle").nth(5).wait_for()

    table = page.locator("table.summary-table")
    assert table.locator("tbody tr").count() == 6
    table.locator("th button.sort[data-key='seed']").click()  # descending first for numbers
    seeds = [int(t) for t in table.locator("tbody tr td:nth-child(3)").all_inner_texts()]
    assert seeds == sorted(seeds, reverse=True)
    table.locator("th button.sort[data-key='seed']").click()
    seeds = [int(t) for t in table.locator("tbody tr td:nth-child(3)").all_inner_texts()]
    assert seeds == sorted(seeds)
    page.screenshot(path=str(tmp_path / "sweep.png"), full_page=True)
    keep(page, "view-sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 10_000


def test_the_list_links_every_run(viewer: str, page: Any) -> None:
    page.goto(viewer)
    page.locator("table.grid a").first.wait_for()
    links = page.locator("table.grid a").all_inner_texts()
    assert {"sweep", "nested-councils-seed0", "hostile"} <= set(links)
    page.locator("input[type=search]").fill("hostile")
    assert page.locator("table.grid a", has_text="nested-councils-seed0").count() == 0


def test_find_in_a_run_and_jump_to_a_period(viewer: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(viewer + "#/run/nested-councils-seed0")
    statements = page.locator("article.statement")
    statements.nth(14).wait_for()
    # Words said only deep down: an adviser's line, inside a member's line, inside a council debate.
    adviser_line = page.locator("details.debate[data-depth='2'] article.line").first
    words = adviser_line.locator(".text").text_content().strip()[:40]
    page.locator("input.find").fill(words)
    page.locator(".found", has_text="match").wait_for()
    visible = statements.filter(has=page.locator("article.line.match"))
    assert visible.count() >= 1
    assert all(s.is_hidden() for s in statements.all() if not s.locator("article.match").count() and "match" not in (s.get_attribute("class") or ""))
    match = page.locator("article.line.match").first
    assert match.is_visible()  # the debates that hold it were opened
    page.locator("input.find").fill("")
    expect(page.locator("article.statement:not([hidden])")).to_have_count(15)

    # (The page's Content-Security-Policy forbids evaluating strings, so no wait_for_function.)
    page.locator(".period-nav button", has_text="2026").click()
    section = page.locator("section.period[data-period='2026']")
    deadline = time.monotonic() + 10
    while abs(section.bounding_box()["y"]) > 120:
        assert time.monotonic() < deadline, section.bounding_box()
        page.wait_for_timeout(50)


def test_the_fidelity_audit_on_demand(viewer: str, page: Any) -> None:
    page.goto(viewer + "#/run/nested-councils-seed0")
    page.locator("article.statement").nth(14).wait_for()
    page.locator("button.run-audit").click()
    assert page.locator(".audit .verdict-ok").inner_text() == "No violations in 186 calls."

    # The hostile run's log was edited after the fact: the statement it changed is not what
    # the other agents were told, and the audit says so, call by call.
    page.goto(viewer + "#/run/hostile")
    page.locator("article.statement").nth(14).wait_for()
    page.locator("button.run-audit").click()
    bad = page.locator(".audit .verdict-bad")
    bad.wait_for()
    assert "violation" in bad.inner_text()
    rules = set(page.locator("table.violations tbody tr td:nth-child(3)").all_inner_texts())
    assert "heard" in rules
    assert page.locator(".calls-table tr.violated").count() >= 1
    page.locator("table.violations button.prompt").first.click()
    page.locator("dialog#call .message.role-user").first.wait_for()


def test_a_role_play_shows_its_task_roles_and_critic(viewer: str, page: Any) -> None:
    page.goto(viewer + "#/run/chat%2Fcamel-trading-bot-seed0")
    first = page.locator("article.statement").first
    first.wait_for()
    assert first.locator(".actor").inner_text() == "Stock Trader (AI user)"
    assert page.locator("article.statement .actor", has_text="Python Programmer (AI assistant)").count() >= 1
    task = page.locator("section.task")
    assert "Python Programmer helps Stock Trader" in task.inner_text()
    assert "null" not in task.inner_text()
    assert "undefined" not in page.locator("main").inner_text()
    assert page.locator("button.unfold-all").is_hidden()  # no debates to unfold
    critic = first.locator("details.critic")
    critic.locator("summary").click()
    chosen = critic.locator("li.chosen")
    assert chosen.count() == 1
    assert chosen.inner_text() == first.locator(":scope > .text").inner_text()


def test_a_damaged_line_is_shown_and_costs_only_itself(library: Path, viewer: str, page: Any) -> None:
    whole = (library / "nested-councils-seed0" / "events.jsonl").read_bytes().splitlines(keepends=True)
    damaged = (library / "damaged" / "events.jsonl").read_bytes().splitlines(keepends=True)
    bad = next(i for i, line in enumerate(damaged) if line.startswith(b"{not an event"))
    lost = json.loads(whole[bad])["call"]
    heir = next(e for e in map(json.loads, whole) if e["type"] == "llm_call" and (e.get("shared") or {}).get("call") == lost)
    page.goto(viewer + "#/run/damaged")
    statements = page.locator("article.statement")
    statements.nth(14).wait_for()
    assert statements.count() == 15  # everything else is there
    assert page.locator("section.errors p.unread").inner_text() == (
        f"Line not read: the line at byte {sum(map(len, damaged[:bad])):,} of events.jsonl: {len(damaged[bad])} bytes "
        "that are not an event this viewer knows (damaged, or from a newer version)."
    )
    # A call whose prompt shared messages with the lost one: its own messages and answer, and
    # a word on what is missing.
    page.locator("details.calls-fold > summary").click()
    number = heir["call"]
    page.locator(f'.calls-table tr[data-call="{number}"] button.prompt').click()
    note = page.locator("dialog#call p.lost")
    note.wait_for()
    assert note.inner_text().startswith(f"{heir['shared']['count']} message")
    assert page.locator("dialog#call .message.role-answer pre").inner_text() == heir["response"]

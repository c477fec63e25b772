"""``converse view`` of a population run: each lab's share of researchers on safety, period
by period, and the last period's census, over real HTTP and in a real browser.

The logs are written here, event by event, as a population run writes them: its start, one
``population_state`` a period, its end. One lab's name and one period's label are markup
meant to run a script (they must read as text). The browser test skips without Chromium,
as ``test_view_browser.py``'s do, unless ``CONVERSE_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import msgspec
import pytest

from _helpers import HOSTILE_NAME, HOSTILE_PERIOD
from _viewing import address, chromium, fetch, viewer, watched_page
from converse.events import Event, LabCensus, Move, PopulationState, RunFinished, RunStarted, Utterance
from converse.web import view_server

LABS = ("Anthropic", "DeepMind", f"OpenAI{HOSTILE_NAME}")
PERIODS = ("2025 Q1", f"{HOSTILE_PERIOD}2025 Q2", "2025 Q3", "2025 Q4")


def census(period: int, lab: int) -> LabCensus:
    """Lab ``lab``'s census after period ``period``: its researchers drift towards safety."""
    safety = 2 + period * (lab + 1)
    return LabCensus(
        lab=LABS[lab],
        researchers=20 + lab - period,
        working={"capabilities": 14 - period, "safety": safety, "policy": 4},
        papers={"capabilities": 6 + lab, "safety": period + lab, "policy": 1},
        joined=lab,
        left=period,
    )


def state(period: int) -> PopulationState:
    moves = [Move(researcher=f"r{period}", area="safety", origin=LABS[0], destination=LABS[1])] * period
    return PopulationState(
        run="pop",
        period=PERIODS[period],
        index=period,
        labs=[census(period, lab) for lab in range(len(LABS))],
        moves=moves,
        meetings=30 + period,
        conference=12 if period == 3 else 0,
    )


def log_lines(events: list[Event]) -> list[bytes]:
    """The lines of a log of ``events``, numbered as the recorder numbers them."""
    return [msgspec.json.encode(msgspec.structs.replace(e, seq=seq, t=float(seq))) + b"\n" for seq, e in enumerate(events)]


def started(run: str) -> RunStarted:
    return RunStarted(
        run=run, scenario_name="labs", source="labs.toml", scenario={"description": "researchers in labs"},
        seed=0, model="offline", engine_version="test",
    )


def finished(run: str, periods: int) -> RunFinished:
    return RunFinished(
        run=run, status="completed", reason="end_period", periods=periods, turns=0, llm_calls=0,
        prompt_tokens=0, completion_tokens=0,
    )


POPULATION = log_lines([started("pop"), *map(state, range(len(PERIODS))), finished("pop", len(PERIODS))])
# A run of another kind: a conversation, no population.
PLAIN = log_lines([
    started("plain"),
    Utterance(run="plain", conversation=("top",), actor="OpenAI", period="2025", turn=1, text="We ship."),
    finished("plain", 1),
])


def write_runs(root: Path, population: list[bytes] = POPULATION) -> Path:
    for name, lines in (("pop", population), ("plain", PLAIN)):
        (root / name).mkdir(parents=True)
        (root / name / "events.jsonl").write_bytes(b"".join(lines))
    return root


def shares(period: int) -> list[float]:
    """What the page must chart for ``period``: each lab's share of those who worked on safety."""
    return [c.working["safety"] / sum(c.working.values()) for c in state(period).labs]


async def test_a_population_runs_page_gets_each_labs_safety_share_by_period(tmp_path: Path, backend: str) -> None:
    async with view_server(write_runs(tmp_path)) as url:
        status, _, body = await fetch(url, "/api/run?path=pop")
        plain = json.loads((await fetch(url, "/api/run?path=plain"))[2])["items"]
    assert status == 200
    censuses = [i for i in json.loads(body)["items"] if i["k"] == "census"]
    assert [c["period"] for c in censuses] == list(PERIODS)
    assert all(c["areas"] == ["capabilities", "safety", "policy"] for c in censuses)
    for period, c in enumerate(censuses):
        assert [lab["lab"] for lab in c["labs"]] == list(LABS)
        assert [lab["safety"] for lab in c["labs"]] == pytest.approx(shares(period))
    assert shares(3) != shares(0)  # the lines move
    last = censuses[-1]
    assert [(lab["researchers"], lab["working"], lab["papers"], lab["joined"], lab["left"]) for lab in last["labs"]] == [
        (17, [11, 5, 4], [6, 3, 1], 0, 3),
        (18, [11, 8, 4], [7, 4, 1], 1, 3),
        (19, [11, 11, 4], [8, 5, 1], 2, 3),
    ]
    assert last["papers"] == [21, 12, 3]  # all the labs' papers, by area
    assert (last["moves"], last["meetings"], last["conference"]) == (3, 33, 12)
    assert any(i["k"] == "statement" for i in plain)
    assert not any(i["k"] == "census" for i in plain)  # nothing of a population for a run without one


async def test_a_running_population_runs_periods_stream_in_as_they_are_logged(tmp_path: Path, backend: str) -> None:
    root = write_runs(tmp_path, POPULATION[:3])  # started, two periods: still running
    log = root / "pop" / "events.jsonl"
    async with view_server(root, poll=0.02) as url, await anyio.connect_tcp(*address(url)) as stream:
        await stream.send(f"GET /api/stream?path=pop HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n\r\n".encode())
        buffer = b""
        with anyio.fail_after(20):
            while b"event: live" not in buffer:
                buffer += await stream.receive()
            before = buffer
            with log.open("ab") as f:  # the other periods, and the end
                f.write(b"".join(POPULATION[3:]))
            while b"event: end" not in buffer:
                buffer += await stream.receive()

    def periods(data: bytes) -> list[str]:
        chunks = [c for c in data.split(b"\n\n") if c.startswith(b"event: items")]
        return [i["period"] for c in chunks for i in json.loads(c.split(b"data: ", 1)[1]) if i["k"] == "census"]

    assert periods(before) == list(PERIODS[:2])
    assert periods(buffer) == list(PERIODS)  # each period once, in order, without a reset
    assert b"event: reset" not in buffer.split(b"event: live", 1)[1]


# --- in a browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_runs(tmp_path_factory.mktemp("population") / "runs", POPULATION[:3])


@pytest.fixture(scope="module")
def served(library: Path) -> Iterator[str]:
    with viewer(library) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with watched_page(browser) as page:
        yield page


@pytest.mark.slow
def test_the_population_panel_charts_each_lab_and_tables_the_last_period(
    library: Path, served: str, page: Any, tmp_path: Path
) -> None:
    page.goto(served + "#/run/pop")
    page.locator(".run-status .status", has_text="running").wait_for()
    chart = page.locator("figure.chart[data-chart='safety-share']")
    lines = chart.locator("g.series path.line")
    lines.first.wait_for()
    assert lines.count() == len(LABS)  # one line per lab
    assert chart.locator("g.series").first.locator("circle").count() == 2  # two periods so far
    assert chart.locator(".legend li").all_inner_texts() == list(LABS)  # the hostile name, as text
    assert page.locator("h3.census-period").inner_text() == f"After {PERIODS[1]}"
    page.evaluate("window.__same_page = true")

    with (library / "pop" / "events.jsonl").open("ab") as log:  # the run goes on, and ends
        log.write(b"".join(POPULATION[3:]))
    page.locator(".run-status .status", has_text="completed").wait_for(timeout=15_000)
    page.locator("h3.census-period", has_text=PERIODS[-1]).wait_for()
    assert page.evaluate("window.__same_page") is True  # updated in place, not reloaded
    assert lines.count() == len(LABS)
    for n in range(len(LABS)):
        assert chart.locator("g.series").nth(n).locator("circle").count() == len(PERIODS)
        assert lines.nth(n).get_attribute("d").count("L") == len(PERIODS) - 1  # one unbroken line
    assert {"0%", "100%", PERIODS[0]} <= set(chart.locator("text.tick").all_text_contents())
    said = chart.locator("circle title").all_text_contents()  # each point's lab, period and share
    assert f"{LABS[2]}, {PERIODS[1]}: {round(100 * shares(1)[2])}%" in said  # hostile names, as text
    papers = page.locator("figure.chart[data-chart='papers']")
    assert papers.locator(".legend li").all_inner_texts() == ["capabilities", "safety", "policy"]

    table = page.locator("table.census-table")
    rows = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
    assert rows == [
        [LABS[0], "17", "11", "5", "4", "6", "3", "1", "0", "3"],
        [LABS[1], "18", "11", "8", "4", "7", "4", "1", "1", "3"],
        [LABS[2], "19", "11", "11", "4", "8", "5", "1", "2", "3"],
    ]
    assert table.locator("th").all_inner_texts()[:3] == ["Lab", "Researchers", "on capabilities"]
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main script, main img[src='x']").count() == 0
    page.screenshot(path=str(tmp_path / "population.png"), full_page=True)

    page.goto(served + "#/run/plain")
    page.locator("article.statement").first.wait_for()
    assert page.locator("section.population").is_hidden()  # a run without a population shows none
    assert page.locator("figure.chart").count() == 0

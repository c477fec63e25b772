"""``benchmarks/profile_calls.py``: what a model call costs, counted (the tool later stops of
issue 21 steer by, since timings on this machine move by a fifth)."""

from __future__ import annotations

import pytest

from benchmarks import profile_calls


def test_opcodes_per_call_are_counted_and_placed(capsys: pytest.CaptureFixture[str]) -> None:
    assert profile_calls.main(["opcodes", "--sims", "1", "--top", "60"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.endswith(" Python opcodes per model call")
    per_call = int(first.split()[0].replace(",", ""))
    # The engine's Python for one call: thousands of opcodes (about 6,500), not the imports too (16,000).
    assert 1_000 < per_call < 12_000
    for part in ("actors/_cell.py", "converse/engine/_calling.py", "converse/councils/_agent.py"):
        assert part in out
    assert "tomllib" not in out  # the scenario is read before counting starts


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["instructions", "--sims", "15,5"], "--sims takes two sizes, smaller first"),
        (["instructions", "--sims", "five"], "--sims takes two sizes, smaller first"),
        (["opcodes", "--sims", "0"], "--sims takes one size for opcodes"),
        ([], "say what to count"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        profile_calls.main(argv)
    assert exited.value.code == 2
    assert says in capsys.readouterr().err

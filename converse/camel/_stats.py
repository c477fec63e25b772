"""Figures about a role-play dataset: why chats ended, how long they ran, what they cost.

These are the numbers CAMEL's paper shows only as charts (termination reasons, messages per
chat), plus what our logs know and CAMEL's scripts did not: instruction pairs, tokens and cost.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec

from ..roleplay._moderator import CONTEXT_FULL, RULE_REASONS
from ..transcript._camel import instruction_records
from ..transcript._text import md

__all__ = [
    "DatasetStats",
    "MessageStats",
    "RunTotals",
    "TokenStats",
    "dataset_stats",
    "stats_json",
    "stats_markdown",
]

# Histogram bins of messages per chat: (label, lowest, highest); the last is open-ended.
_BINS: tuple[tuple[str, int, float], ...] = (
    ("0", 0, 0),
    *((f"{low}-{low + 4}", low, low + 4) for low in range(1, 40, 5)),
    ("41+", 41, math.inf),
)
_BAR_WIDTH = 40


class RunTotals(msgspec.Struct, frozen=True, kw_only=True):
    """What one run spent (from its ``run_finished`` or its model calls)."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class MessageStats(msgspec.Struct, frozen=True, kw_only=True):
    """Saved messages per chat: summary figures, and a histogram (label → chats) whose bins are
    ``0``, ``1-5``, ``6-10``, ... ``36-40`` and ``41+``."""

    mean: float = 0.0
    median: float = 0.0
    p10: float = 0.0
    p90: float = 0.0
    min: int = 0
    max: int = 0
    histogram: dict[str, int] = {}


class TokenStats(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens over all runs, and their mean per run."""

    prompt: int = 0
    completion: int = 0
    total: int = 0
    mean_per_chat: float = 0.0


class DatasetStats(msgspec.Struct, frozen=True, kw_only=True):
    """A dataset's figures.

    Attributes:
        conversations: chats that completed (and are in the dataset).
        failed: chats whose runs did not complete.
        reasons: termination reason → chats, most frequent first.
        messages: saved messages per chat.
        done_without_instruction: chats that ended on the end token with not one instruction
            carried out (a task "done" that was never worked on: worth a look).
        instruction_pairs: instruction/solution pairs over all chats.
        instruction_pairs_mean: their mean per completed chat.
        tokens: tokens over all runs given.
        llm_calls: model calls over all runs given.
        cost_usd: cost over all runs given.
    """

    conversations: int
    failed: int
    reasons: dict[str, int]
    messages: MessageStats
    done_without_instruction: int
    instruction_pairs: int
    instruction_pairs_mean: float
    tokens: TokenStats
    llm_calls: int
    cost_usd: float


def dataset_stats(
    chats: Sequence[dict[str, Any]],
    runs: Sequence[RunTotals],
    failures: int,
    *,
    pairs: int | None = None,
    instructions: Sequence[int] | None = None,
) -> DatasetStats:
    """The figures of a dataset: ``chats`` are its chat records (``chat_record``), ``runs``
    what each run spent (failed ones too, if their cost should count), ``failures`` the chats
    that did not complete, ``pairs`` their instruction pairs if already counted, and
    ``instructions`` each chat's (in the order of ``chats``) if already counted."""
    counts = Counter(str(chat.get("termination_reason", "")) for chat in chats)
    reasons = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    sizes = [int(chat.get("num_messages", 0)) for chat in chats]
    if instructions is None:
        instructions = [len(instruction_records(chat)) for chat in chats]
    if pairs is None:
        pairs = sum(instructions)
    prompt = sum(run.prompt_tokens for run in runs)
    completion = sum(run.completion_tokens for run in runs)
    return DatasetStats(
        conversations=len(chats),
        failed=failures,
        reasons=reasons,
        messages=_message_stats(sizes),
        done_without_instruction=sum(
            _done_without_instruction(chat, count) for chat, count in zip(chats, instructions, strict=True)
        ),
        instruction_pairs=pairs,
        instruction_pairs_mean=pairs / len(chats) if chats else 0.0,
        tokens=TokenStats(
            prompt=prompt,
            completion=completion,
            total=prompt + completion,
            mean_per_chat=(prompt + completion) / len(runs) if runs else 0.0,
        ),
        llm_calls=sum(run.llm_calls for run in runs),
        cost_usd=sum(run.cost_usd for run in runs),
    )


def _done_without_instruction(chat: dict[str, Any], instructions: int) -> bool:
    """Whether ``chat`` (with ``instructions`` instruction pairs) ended on its end token with
    not one instruction carried out."""
    reason = str(chat.get("termination_reason", ""))
    on_token = reason and reason not in RULE_REASONS and not reason.endswith(CONTEXT_FULL)
    return bool(on_token) and not instructions


def _message_stats(sizes: list[int]) -> MessageStats:
    histogram = {label: sum(low <= size <= high for size in sizes) for label, low, high in _BINS}
    if not sizes:
        return MessageStats(histogram=histogram)
    if len(sizes) == 1:
        p10 = p90 = float(sizes[0])
    else:
        deciles = statistics.quantiles(sizes, n=10, method="inclusive")
        p10, p90 = deciles[0], deciles[-1]
    return MessageStats(
        mean=statistics.fmean(sizes),
        median=float(statistics.median(sizes)),
        p10=p10,
        p90=p90,
        min=min(sizes),
        max=max(sizes),
        histogram=histogram,
    )


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def stats_markdown(stats: DatasetStats) -> str:
    """A readable report of ``stats``: totals, termination reasons (count and share of the
    completed chats), messages per chat with a text bar chart, and tokens."""
    tokens = stats.tokens
    out = [
        "# Role-play dataset",
        "\n".join(
            [
                f"- **Conversations:** {stats.conversations} completed, {stats.failed} failed",
                f"- **Instruction pairs:** {stats.instruction_pairs} "
                f"({stats.instruction_pairs_mean:.1f} per chat)",
                f"- **Ended on the end token with no instruction carried out:** {stats.done_without_instruction}",
                f"- **Model calls:** {stats.llm_calls}",
                f"- **Tokens:** {tokens.total:,} ({tokens.prompt:,} prompt, {tokens.completion:,} completion; "
                f"{tokens.mean_per_chat:,.0f} per chat)",
                f"- **Cost:** ${stats.cost_usd:.4f}",
            ]
        ),
        "## Termination reasons",
    ]
    if stats.reasons:
        rows = ["| Reason | Chats | Share |", "|---|---:|---:|"]
        for reason, count in stats.reasons.items():
            share = 100 * count / stats.conversations if stats.conversations else 0.0
            rows.append(f"| {md(reason) or '(none)'} | {count} | {share:.1f}% |")
        out.append("\n".join(rows))
    else:
        out.append("No completed conversations.")
    out.append("## Messages per chat")
    m = stats.messages
    out.append(
        f"Mean {_figure(m.mean)}, median {_figure(m.median)}, 10th percentile {_figure(m.p10)}, "
        f"90th percentile {_figure(m.p90)}, fewest {m.min}, most {m.max}."
    )
    out.append(_bars(m.histogram))
    return "\n\n".join(out) + "\n"


def _bars(histogram: dict[str, int]) -> str:
    """A text bar chart in a code block, one bar per bin, scaled to the fullest bin."""
    top = max(histogram.values(), default=0)
    width = max((len(label) for label in histogram), default=0)
    lines = []
    for label, count in histogram.items():
        bar = "█" * (round(_BAR_WIDTH * count / top) if top else 0)
        if count and not bar:
            bar = "▏"
        lines.append(f"{label:>{width}} | {bar} {count}" if bar else f"{label:>{width}} | {count}")
    return "```text\n" + "\n".join(lines) + "\n```"


def stats_json(stats: DatasetStats) -> bytes:
    """``stats`` as indented JSON."""
    return msgspec.json.format(msgspec.json.encode(stats), indent=2)

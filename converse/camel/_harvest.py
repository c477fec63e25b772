"""A dataset's harvest: each finished chat's record, written as it ends, and at the end the
dataset's instruction pairs, fine-tuning examples and statistics (each chat's pairs and example
made as it ends, while the other chats wait for their answers: the end only joins them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from .._exceptions import ConverseError
from .._files import write_atomic
from ..log._events import RunFinished
from ..log._log import read_events
from ..runner._run import ensure_transcript
from ..sweeps._sweep import read_run
from ..transcript._camel import finetune_of, finetune_record, instruction_records, record_of, roleplay_log
from ._stats import DatasetStats, RunTotals, dataset_stats, stats_json, stats_markdown


class Harvest:
    """Collects finished chats: writes each one's chat record as it ends, and the dataset's
    instruction pairs, fine-tuning examples and statistics at the end."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.chats = out / "chat"
        self.chats.mkdir(exist_ok=True)
        self.ids: list[str] = []  # chats with a record, in the order found
        self.records: dict[str, dict[str, Any]] = {}  # made this time, by chat
        self.pairs: dict[str, list[dict[str, Any]]] = {}  # each chat's instruction pairs, made as it ended
        self.lines: dict[str, bytes | None] = {}  # each chat's fine-tuning line (no newline), likewise
        self.totals: dict[str, RunTotals] = {}
        self.skipped = self.failed_before = self.completed = self.failed = 0

    def take(self, chat: str, events: list[Any] | None, error: str | None, *, earlier: bool = False) -> bool:
        """A chat ended (now, or ``earlier``): keep its record; whether it completed.

        ``events`` are the run's, as emitted; without them the log is read.
        """
        directory = self.out / "runs" / chat
        if events is None and error is None:
            try:
                events = read_events(directory / "events.jsonl")
            except ConverseError:
                events = None
        ended = next((e for e in reversed(events) if isinstance(e, RunFinished)), None) if events else None
        completed = ended is not None and ended.status == "completed"
        record = finetune = None
        if completed:
            assert events is not None
            log = roleplay_log(events)  # one pass over the chat's events for both records
            record = record_of(log, chat)
            write_atomic(self.chats / f"{chat}.json", msgspec.json.encode(record) + b"\n")
            finetune = finetune_of(log, events)
            if earlier:
                ensure_transcript(directory)
        self.accept(chat, completed, record, finetune, totals_of(ended) if ended is not None else None, earlier=earlier)
        return completed

    def accept(self, chat: str, completed: bool, record: dict[str, Any] | None, finetune: dict[str, Any] | None,
               totals: RunTotals | None, *, earlier: bool = False) -> None:
        """Count a chat that ended, with its record (written already) and what it spent."""
        if record is not None:
            self.records[chat] = record
            self.pairs[chat] = instruction_records(record)
            self.lines[chat] = msgspec.json.encode(finetune) if finetune is not None else None
            self.ids.append(chat)
        if totals is not None:
            self.totals[chat] = totals
        if earlier:
            if completed:
                self.skipped += 1
            else:
                self.failed_before += 1
        elif completed:
            self.completed += 1
        else:
            self.failed += 1

    def write(self) -> DatasetStats:
        """Write ``instructions.json``, ``finetune.jsonl`` and the statistics; return them."""
        chats: list[dict[str, Any]] = []
        pairs: list[dict[str, Any]] = []
        counts: list[int] = []  # each chat's instruction pairs
        lines: list[bytes] = []
        for chat in sorted(set(self.ids)):
            record = self.records.get(chat)
            if record is None:
                try:
                    record = msgspec.json.decode((self.chats / f"{chat}.json").read_bytes())
                except (OSError, msgspec.DecodeError):
                    continue
            chats.append(record)
            made = self.pairs[chat] if chat in self.pairs else instruction_records(record)
            pairs.extend(made)
            counts.append(len(made))
            if chat in self.lines:
                line = self.lines[chat]
            else:
                example = self._finetune_of(chat)
                line = msgspec.json.encode(example) if example is not None else None
            if line is not None:
                lines.append(line)
            if chat not in self.totals:
                ended = read_run(self.out / "runs" / chat)
                if ended is not None:
                    self.totals[chat] = totals_of(ended[0])
        write_atomic(self.out / "instructions.json", msgspec.json.format(msgspec.json.encode(pairs)))
        write_atomic(self.out / "finetune.jsonl", b"".join(line + b"\n" for line in lines))
        failures = self.failed + self.failed_before
        stats = dataset_stats(chats, list(self.totals.values()), failures, pairs=len(pairs), instructions=counts)
        write_atomic(self.out / "stats.json", stats_json(stats))
        write_atomic(self.out / "stats.md", stats_markdown(stats).encode())
        return stats

    def _finetune_of(self, chat: str) -> dict[str, Any] | None:
        try:
            return finetune_record(read_events(self.out / "runs" / chat / "events.jsonl"))
        except ConverseError:
            return None


def totals_of(finished: RunFinished) -> RunTotals:
    return RunTotals(
        llm_calls=finished.llm_calls, prompt_tokens=finished.prompt_tokens,
        completion_tokens=finished.completion_tokens, cost_usd=finished.cost_usd,
    )

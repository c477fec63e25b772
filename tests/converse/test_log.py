"""The event log on disk: LogWriter stamps and appends; read_events / iter_events check."""

from __future__ import annotations

import collections
import itertools
import os
import pickle
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from converse import LogError, TornTailWarning, read_events
from converse.events import (
    AnyEvent,
    ChatMessage,
    ConversationStarted,
    Event,
    LLMCall,
    RunFinished,
    RunStarted,
    SharedPrefix,
    TurnGranted,
    Usage,
    Utterance,
    prompts_of,
)
from converse.log import MAX_LINE, LogWriter, _log, iter_events, read_for_append

RUN = "run-1"
Reader = Callable[[Path], list[AnyEvent]]
READERS = [
    pytest.param(read_events, id="read_events"),
    pytest.param(lambda path: list(iter_events(path)), id="iter_events"),
]


def started(run: str = RUN) -> RunStarted:
    return RunStarted(
        run=run,
        scenario_name="labs",
        source="labs.toml",
        scenario={"name": "labs", "agents": [{"name": "OpenAI"}]},
        seed=7,
        model="offline",
        engine_version="0.1.0",
    )


def said(turn: int, text: str = "We scale up.", run: str = RUN) -> Utterance:
    return Utterance(run=run, conversation=("top",), actor="OpenAI", period="2023", turn=turn, text=text)


def sample(n: int = 5) -> list[Event]:
    """A run_started and then ``n - 1`` utterances."""
    return [started(), *(said(i) for i in range(n - 1))]


def ticking() -> Callable[[], float]:
    """A fake clock: 0.5 s later at every call, plus a tail of digits to round away."""
    counter = itertools.count()
    return lambda: next(counter) * 0.5 + 0.0000001234


def write(path: Path, events: list[Event], **options: int) -> list[Event]:
    with LogWriter(path, clock=ticking(), **options) as writer:
        for event in events:
            writer.write(event)
    return events


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def put_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


# --- writing ------------------------------------------------------------------------------


def test_round_trip_gives_equal_events(tmp_path: Path) -> None:
    path = tmp_path / "run" / "events.jsonl"
    events = write(
        path,
        [
            *sample(4),
            RunFinished(
                run=RUN,
                status="completed",
                reason="end_period",
                periods=1,
                turns=3,
                llm_calls=0,
                prompt_tokens=0,
                completion_tokens=0,
            ),
        ],
    )
    back = read_events(path)
    assert back == events
    assert [type(e) for e in back] == [type(e) for e in events]


def test_writer_stamps_seq_and_microsecond_time(tmp_path: Path) -> None:
    events = write(tmp_path / "events.jsonl", sample(3))
    assert [e.seq for e in events] == [0, 1, 2]
    assert [e.t for e in events] == [0.0, 0.5, 1.0]  # 0.0000001234 s rounds away
    first = lines_of(tmp_path / "events.jsonl")[0]
    assert first.startswith(b'{"type":"run_started"')
    assert first.endswith(b"}\n")


def test_writer_appends_after_an_existing_log_from_next_seq(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write(path, sample(3))
    with LogWriter(path, next_seq=3, clock=ticking()) as writer:
        assert writer.next_seq == 3
        writer.write(said(9))
        assert writer.next_seq == 4
    assert [e.seq for e in read_events(path)] == [0, 1, 2, 3]


def test_writer_buffers_until_flush_bytes_or_flush(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = LogWriter(path, clock=ticking(), flush_bytes=1 << 16)
    writer.write(started())
    assert path.stat().st_size == 0
    writer.flush(fsync=True)
    size = path.stat().st_size
    assert size > 0
    writer.close()
    small = LogWriter(tmp_path / "small.jsonl", clock=ticking(), flush_bytes=10)
    small.write(started())  # over 10 bytes: goes to the OS at once
    assert (tmp_path / "small.jsonl").stat().st_size == size
    small.close()


class _Stingy:
    """A log file that takes at most ``most`` bytes a write (a pipe, a write cut short by a
    signal) and fails its first ``failures`` writes with a full disk."""

    def __init__(self, file: object, most: int, failures: int = 0) -> None:
        self.file, self.most, self.failures = file, most, failures

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return self.file.write(bytes(data[: self.most]))  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self.file, name)


@pytest.mark.parametrize("most", [1, 7, 1 << 20])
def test_a_write_cut_short_or_refused_loses_nothing_and_repeats_nothing(tmp_path: Path, most: int) -> None:
    path = tmp_path / "events.jsonl"
    writer = LogWriter(path, clock=ticking())
    writer._file = _Stingy(writer._file, most, failures=1)  # type: ignore[assignment]
    writer.write(started())
    writer.write(said(1))
    with pytest.raises(OSError, match="No space left"):
        writer.flush()  # the disk is full: nothing written, nothing dropped
    assert path.stat().st_size == 0
    writer.flush()  # room again: every line, once, however few bytes a write takes
    writer.write(said(2))
    writer.close()
    assert [e.seq for e in read_events(path)] == [0, 1, 2]


def test_an_event_that_cannot_be_encoded_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    bad = started()
    bad.scenario["oops"] = object()
    with LogWriter(path, clock=ticking()) as writer:
        with pytest.raises(TypeError):
            writer.write(bad)
        assert writer.next_seq == 0
        writer.write(started())
        writer.write(said(0))
    assert [e.seq for e in read_events(path)] == [0, 1]


def test_close_is_idempotent_and_writing_afterwards_fails(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path / "events.jsonl", clock=ticking())
    writer.write(started())
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(said(0))
    assert len(read_events(tmp_path / "events.jsonl")) == 1


def test_lines_crossing_read_blocks_and_longer_than_a_block(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    events: list[Event] = [started()]
    events += [said(i, f"statement {i} " * (i % 40)) for i in range(20_000)]
    events.insert(5_000, said(-1, "x" * 3_000_000))  # spans three 1 MiB read blocks
    write(path, events)
    assert read_events(path) == events
    assert list(iter_events(path)) == events


# --- torn tails ---------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_torn_last_line_is_skipped_with_a_warning(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "events.jsonl"
    events = write(path, sample(4))
    with path.open("ab") as file:
        file.write(b'{"type":"utterance","conversation":["top"],"act')
    with pytest.warns(TornTailWarning) as caught:
        back = reader(path)
    assert back == events
    warning = caught[0].message
    assert isinstance(warning, TornTailWarning)
    assert (warning.file, warning.line) == (str(path), 5)


@pytest.mark.parametrize("reader", READERS)
def test_complete_last_line_without_newline_is_kept(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "events.jsonl"
    events = write(path, sample(3))
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    assert reader(path) == events


# --- errors -------------------------------------------------------------------------------


@pytest.fixture(params=["bytes.count", "numpy"])
def counted_by(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the reader counts a block's newlines: ``bytes.count`` (a small log, numpy not
    loaded) or numpy (a log large enough to pay for loading it)."""
    monkeypatch.setattr(_log, "_numpy_loaded", lambda: False)
    if request.param == "numpy":
        monkeypatch.setattr(_log, "_NUMPY_FROM", 0)
    return str(request.param)


def broken(tmp_path: Path, line: int, replacement: bytes, n: int = 6) -> Path:
    path = tmp_path / "events.jsonl"
    write(path, sample(n))
    lines = lines_of(path)
    lines[line - 1] = replacement
    put_lines(path, lines)
    return path


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("replacement", "problem"),
    [
        (b"garbage, not JSON\n", "not JSON: invalid character (byte 0)"),
        (
            b'{"type":"utterance","conversation":["top"]}\n',
            "not an event: Object missing required field run",
        ),
        (b'{"type":"nope","run":"run-1","seq":3}\n', "unknown event type 'nope' (a log written by a newer converse?)"),
        (
            b'{"type":"turn_granted","run":"run-1","seq":"3","conversation":["top"],'
            b'"actor":"A","period":"2023","turn":1,"token":1}\n',
            "not an event: Expected int, got str - at $.seq",
        ),
        (b"\n", "blank line"),
        (b"   \n", "blank line"),
        (b"\x00\xff\xfe binary junk \x89PNG\n", "not JSON: invalid character (byte 0)"),
        (
            b'{"type":"error","run":"run-1","seq":3,"error_type":"X","message":"\xff"}\n',
            "not UTF-8 text",
        ),
    ],
)
def test_a_bad_line_in_the_middle_is_named(
    tmp_path: Path, reader: Reader, replacement: bytes, problem: str, counted_by: str
) -> None:
    path = broken(tmp_path, 4, replacement)
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.file, caught.value.line, caught.value.problem) == (str(path), 4, problem)
    assert str(caught.value) == f"{path}:4: {problem}"


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", ["blank", "spaces", "two events"])
def test_a_line_added_between_good_ones_or_two_events_on_one_line_are_named(
    tmp_path: Path, reader: Reader, counted_by: str, kind: str
) -> None:
    """Every event still follows the one before it: only counting the lines finds these."""
    path = tmp_path / "events.jsonl"
    write(path, sample(6))
    lines = lines_of(path)
    if kind == "two events":
        lines[3:5] = [lines[3].rstrip(b"\n") + b" " + lines[4]]
    else:
        lines.insert(3, b"\n" if kind == "blank" else b"   \n")
    put_lines(path, lines)
    with pytest.raises(LogError) as caught:
        reader(path)
    assert caught.value.line == 4
    if kind == "two events":
        assert caught.value.problem.startswith("not JSON: trailing characters")
    else:
        assert caught.value.problem == "blank line"


@pytest.mark.parametrize("reader", READERS)
def test_seq_gap_is_named(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "events.jsonl"
    write(path, sample(6))
    lines = lines_of(path)
    del lines[3]  # seq 3
    put_lines(path, lines)
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.line, caught.value.problem) == (4, "seq 4 follows 2")


@pytest.mark.parametrize("reader", READERS)
def test_seq_must_start_at_zero(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "events.jsonl"
    with LogWriter(path, next_seq=5, clock=ticking()) as writer:
        writer.write(started())
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.line, caught.value.problem) == (1, "seq 5 is the first (expected 0)")


@pytest.mark.parametrize("reader", READERS)
def test_log_must_start_with_run_started(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "events.jsonl"
    write(path, [said(0), said(1)])
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.line, caught.value.problem) == (1, "the log does not start with run_started")


@pytest.mark.parametrize("reader", READERS)
def test_mixed_run_ids_are_named(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "events.jsonl"
    write(path, [*sample(3), said(5, run="run-2"), said(6)])
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.line, caught.value.problem) == (4, "run 'run-2' in a log of run 'run-1'")


@pytest.mark.parametrize("reader", READERS)
def test_a_problem_far_into_a_long_log_names_its_line(tmp_path: Path, reader: Reader) -> None:
    path = broken(tmp_path, 9_000, b'{"oops": true}\n', n=12_000)
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.line, caught.value.problem) == (
        9_000,
        "not an event: Object missing required field type",
    )


@pytest.mark.parametrize("reader", READERS)
def test_empty_file(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"")
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.file, caught.value.line, caught.value.problem) == (str(path), 0, "empty log")


@pytest.mark.parametrize("reader", READERS)
def test_missing_file_and_directory(tmp_path: Path, reader: Reader) -> None:
    with pytest.raises(LogError) as caught:
        reader(tmp_path / "nope.jsonl")
    assert (caught.value.line, caught.value.problem) == (0, "no such file")
    with pytest.raises(LogError) as caught:
        reader(tmp_path)
    assert caught.value.line == 0
    assert "directory" in caught.value.problem


@pytest.mark.parametrize("reader", READERS)
def test_binary_file_is_not_a_log(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(LogError) as caught:
        reader(path)
    assert caught.value.line == 1
    assert caught.value.problem.startswith("not JSON")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write(path, sample(2))
    path.chmod(0)
    with pytest.raises(LogError) as caught:
        read_events(path)
    assert caught.value.line == 0
    assert caught.value.problem.startswith("cannot read")


def test_iter_events_yields_the_good_lines_before_the_bad_one(tmp_path: Path) -> None:
    path = broken(tmp_path, 4, b"garbage\n")
    seen: list[AnyEvent] = []
    with pytest.raises(LogError, match=":4: not JSON"):
        seen.extend(iter_events(path))
    assert [e.seq for e in seen] == [0, 1, 2]


def test_iter_events_yields_every_good_line_of_a_long_log_before_a_bad_one_far_into_it(tmp_path: Path) -> None:
    """The blocks read whole before the bad one, and the good lines of its own block, come first."""
    path = broken(tmp_path, 9_000, b'{"oops": true}\n', n=12_000)
    assert path.stat().st_size > 3 * _log._BLOCK  # the bad line is blocks into the log
    seen: list[AnyEvent] = []
    with pytest.raises(LogError, match=":9000: not an event"):
        seen.extend(iter_events(path))
    assert [e.seq for e in seen] == list(range(8_999))


def test_iter_events_holds_a_block_of_events_not_the_log(tmp_path: Path) -> None:
    """Reading a log event by event (as ``converse replay`` renders it) keeps memory flat: its
    peak is a small part of what holding every event takes."""
    path = tmp_path / "events.jsonl"
    write(path, [started(), *(said(i, f"statement {i} " * 8) for i in range(40_000))])
    assert path.stat().st_size > 20 * _log._BLOCK

    def peak(read: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            read()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    held = peak(lambda: read_events(path))
    streamed = peak(lambda: collections.deque(iter_events(path), maxlen=0))
    assert streamed * 8 < held, (streamed, held)


# --- resuming -----------------------------------------------------------------------------


def test_read_for_append_cuts_a_torn_last_line_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    events = write(path, sample(4))
    whole = path.read_bytes()
    # A crash can leave a torn line, or zero-filled blocks, after the last newline.
    for torn in (b'{"type":"turn_granted","conv', b"\x00" * 4096):
        path.write_bytes(whole + torn)
        with pytest.warns(TornTailWarning, match=":5: skipped a torn last line"):
            assert read_for_append(path) == events
        assert path.read_bytes() == whole
    with LogWriter(path, next_seq=len(events), clock=ticking()) as writer:
        more = TurnGranted(run=RUN, conversation=("top",), actor="OpenAI", period="2023", turn=5, token=5)
        writer.write(more)
    assert read_events(path) == [*events, more]


def test_read_for_append_ends_a_whole_last_line_with_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    events = write(path, sample(4))
    path.write_bytes(path.read_bytes()[:-1])
    assert read_for_append(path) == events
    with LogWriter(path, next_seq=len(events), clock=ticking()) as writer:
        writer.write(said(9))
    assert [e.seq for e in read_events(path)] == [0, 1, 2, 3, 4]


def test_read_for_append_of_nothing_but_a_torn_line_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"")
    assert read_for_append(path) == []
    path.write_bytes(b'{"type":"run_sta')
    with pytest.warns(TornTailWarning):
        assert read_for_append(path) == []
    assert path.read_bytes() == b""


@pytest.mark.parametrize(
    ("tail", "problem"),
    [
        pytest.param(b"\x00\x00\x00\n", "not JSON", id="complete-garbage"),
        pytest.param(
            b'{"type":"vote","run":"run-1","seq":4,"t":2.0}\n' * 50,
            "unknown event type 'vote' (a log written by a newer converse?)",
            id="a-newer-version",
        ),
    ],
)
def test_read_for_append_refuses_complete_lines_it_cannot_read_and_keeps_them(
    tmp_path: Path, tail: bytes, problem: str
) -> None:
    path = tmp_path / "events.jsonl"
    write(path, sample(4))
    path.write_bytes(path.read_bytes() + tail)
    before = path.read_bytes()
    with pytest.raises(LogError) as caught:
        read_for_append(path)
    assert (caught.value.line, caught.value.problem.split(":")[0]) == (5, problem.split(":")[0])
    assert problem in str(caught.value)
    assert path.read_bytes() == before


# --- prompts shared between calls ------------------------------------------------------------


def call(number: int, *messages: str, shared: SharedPrefix | None = None) -> LLMCall:
    return LLMCall(
        run=RUN, call=number, conversation=("top",), actor="OpenAI", purpose="statement", model="offline",
        messages=[ChatMessage(role="user", content=m) for m in messages], params={}, response="ok",
        usage=Usage(prompt_tokens=1, completion_tokens=1), latency=0.0, shared=shared,
    )


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("shared", "problem"),
    [
        pytest.param(SharedPrefix(call=7, count=1), "call 2 shares the prompt of call 7, which no earlier line holds",
                     id="unknown-call"),
        pytest.param(SharedPrefix(call=2, count=1), "call 2 shares the prompt of call 2, which no earlier line holds",
                     id="itself"),
        pytest.param(SharedPrefix(call=1, count=3), "call 2 shares 3 messages of call 1, whose prompt has 2",
                     id="too-many"),
        pytest.param(SharedPrefix(call=1, count=-1), "call 2 shares -1 messages of call 1, whose prompt has 2",
                     id="negative"),
    ],
)
def test_a_call_sharing_a_prompt_the_log_does_not_hold_is_named(
    tmp_path: Path, reader: Reader, shared: SharedPrefix, problem: str
) -> None:
    path = tmp_path / "events.jsonl"
    write(path, [started(), call(1, "a", "b"), said(0), call(2, "c", shared=shared), said(1)])
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.line, caught.value.problem) == (4, problem)


def test_a_call_sharing_an_earlier_prompt_reads_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    events = write(path, [started(), call(1, "a", "b"), call(2, "c", shared=SharedPrefix(call=1, count=2))])
    assert read_events(path) == events
    assert [m.content for m in prompts_of(read_events(path))[2]] == ["a", "b", "c"]


# --- what is not a log file, and lines too long ----------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.timeout(10)
@pytest.mark.parametrize("reader", READERS)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path, reader: Reader) -> None:
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(LogError) as caught:
        reader(fifo)
    assert (caught.value.line, caught.value.problem) == (0, "is a FIFO, not a log file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.timeout(10)
@pytest.mark.parametrize("reader", READERS)
def test_a_device_is_refused_before_it_is_read(reader: Reader) -> None:
    with pytest.raises(LogError) as caught:
        reader(Path("/dev/zero"))
    assert (caught.value.line, caught.value.problem) == (0, "is a character device, not a log file")


def long_line_log(tmp_path: Path, size: int, *, newline: bool = True) -> Path:
    """A log whose third line is an utterance of ``size`` bytes."""
    path = tmp_path / "events.jsonl"
    write(path, [started(), said(0)])
    line = msgspec.json.encode(said(1))
    padding = size - len(line) + 2  # the text grows from "We scale up." by the padding
    line = line.replace(b"We scale up.", b"We scale up." + b"x" * padding)
    assert len(line) >= size
    with path.open("ab") as file:
        file.write(line.replace(b'"seq":-1', b'"seq":2') + (b"\n" if newline else b""))
    return path


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("newline", [True, False], ids=["complete", "last"])
def test_a_line_over_the_limit_is_refused_naming_it(tmp_path: Path, reader: Reader, newline: bool) -> None:
    path = long_line_log(tmp_path, MAX_LINE + 1, newline=newline)
    with pytest.raises(LogError) as caught:
        reader(path)
    assert (caught.value.line, caught.value.problem) == (3, "a line longer than 64 MiB: not an event")


@pytest.mark.parametrize("reader", READERS)
def test_a_long_line_under_the_limit_reads_back(tmp_path: Path, reader: Reader) -> None:
    path = long_line_log(tmp_path, 8 * 1024 * 1024 + 12345)
    events = reader(path)
    assert [e.seq for e in events] == [0, 1, 2]
    assert len(events[2].text) > 8 * 1024 * 1024  # type: ignore[union-attr]


def test_torn_tail_warning_and_log_error_survive_pickling() -> None:
    warning = pickle.loads(pickle.dumps(TornTailWarning("a.jsonl", 3)))
    assert (warning.file, warning.line) == ("a.jsonl", 3)
    error = pickle.loads(pickle.dumps(LogError("a.jsonl", 3, "blank line")))
    assert str(error) == "a.jsonl:3: blank line"


def test_every_line_is_one_json_object_with_the_common_fields(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write(path, [started(), ConversationStarted(run=RUN, conversation=("top",), members=("OpenAI",)), said(0)])
    for number, line in enumerate(lines_of(path)):
        data = msgspec.json.decode(line)
        assert {"type", "seq", "t", "run"} <= data.keys()
        assert data["seq"] == number

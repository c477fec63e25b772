"""Files written whole or not at all (``converse._files.write_atomic``)."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pytest

from converse import _files
from converse._files import write_atomic


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_text_is_utf8_bytes_as_given_and_missing_directories_are_made(tmp_path: Path) -> None:
    text = tmp_path / "a" / "b" / "transcript.md"
    write_atomic(text, "Déjà vu\r\nline two\n")
    assert text.read_bytes() == "Déjà vu\r\nline two\n".encode()
    raw = tmp_path / "raw.bin"
    write_atomic(raw, b"\x00\xff")
    assert raw.read_bytes() == b"\x00\xff"
    write_atomic(raw, b"")  # replaced, even by nothing
    assert raw.read_bytes() == b""
    assert leftovers(tmp_path) == leftovers(text.parent) == []


def test_the_file_has_the_mode_open_gives_a_new_file(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        write_atomic(tmp_path / "written", "x")
        (tmp_path / "opened").write_text("x")
    finally:
        os.umask(mask)
    assert (tmp_path / "written").stat().st_mode == (tmp_path / "opened").stat().st_mode


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "summary.csv"
    write_atomic(path, "old\n")

    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, "new\n")
    monkeypatch.undo()
    assert path.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_temporary_name_left_by_a_crashed_process_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_files, "_names", itertools.count(7))
    stale = tmp_path / f".report.md-{os.getpid()}-7.tmp"
    stale.write_text("a crashed writer's half")
    write_atomic(tmp_path / "report.md", "whole")
    assert (tmp_path / "report.md").read_text() == "whole"
    assert stale.read_text() == "a crashed writer's half"  # not ours to remove or reuse


def test_writers_of_one_path_at_once_never_mix(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    texts = [str(i) * 200_000 for i in range(8)]
    seen: set[str] = set()
    start = threading.Barrier(len(texts) + 1)

    def writer(text: str) -> None:
        start.wait()
        for _ in range(20):
            write_atomic(path, text)

    def reader() -> None:
        start.wait()
        for _ in range(200):
            seen.add(path.read_text() if path.exists() else texts[0])

    threads = [threading.Thread(target=writer, args=(t,)) for t in texts[1:]]
    threads += [threading.Thread(target=reader), threading.Thread(target=writer, args=(texts[0],))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen <= set(texts)  # every read found one writer's text whole
    assert path.read_text() in texts
    assert leftovers(tmp_path) == []

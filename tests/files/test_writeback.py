"""The writeback started while an atomic file is written: it syncs during the block, stops with it,
and its errors never replace the final ``fsync``'s."""

from __future__ import annotations

import os
import threading
import time

import pytest

from convcli.files import atomic


def test_the_data_is_synced_while_the_block_runs_and_no_more_after(tmp_path, monkeypatch):
    calls: list[int] = []
    real = getattr(os, "fdatasync", os.fsync)
    monkeypatch.setattr(atomic, "SYNC_EVERY", 0.01)
    monkeypatch.setattr(os, "fdatasync", lambda fd: (calls.append(fd), real(fd)), raising=False)
    target = tmp_path / "out.bin"
    with atomic.atomic_file(target) as fh:
        for _ in range(20):
            fh.write(b"x" * 100_000)
            fh.flush()
            time.sleep(0.01)
        during = len(calls)
    after = len(calls)
    time.sleep(0.05)
    assert during >= 3  # synced while the block wrote
    assert len(calls) == after  # and the thread stopped with the block
    assert target.read_bytes() == b"x" * 2_000_000
    assert not [t for t in threading.enumerate() if t.name == "convcli-writeback"]


def test_a_failing_writeback_leaves_the_verdict_to_the_final_fsync(tmp_path, monkeypatch):
    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic, "SYNC_EVERY", 0.01)
    monkeypatch.setattr(os, "fdatasync", broken, raising=False)
    target = tmp_path / "out.bin"
    with atomic.atomic_file(target) as fh:  # the final fsync (not broken here) succeeds: the file is whole
        fh.write(b"y" * 1000)
        time.sleep(0.05)
    assert target.read_bytes() == b"y" * 1000


def test_a_block_that_raises_stops_the_writeback_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "SYNC_EVERY", 0.01)
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic.atomic_file(target) as fh:
        fh.write(b"z" * 1000)
        time.sleep(0.03)
        raise RuntimeError("the pass failed")
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name == "convcli-writeback"]

"""Two writers of one cache entry at once (two sweep children evaluating on the same data): both finish, the entry is
whole, and no temporary file is left behind."""

from __future__ import annotations

import pytest

from components.atomic import atomic_path


def test_interleaved_writers_both_succeed_and_the_last_one_wins(tmp_path):
    target = tmp_path / "entry.npy"
    with atomic_path(target) as first:
        first.write_bytes(b"first, written completely")
        with atomic_path(target) as second:  # a second process starts writing before the first has replaced
            second.write_bytes(b"second")
        assert target.read_bytes() == b"second"
    assert target.read_bytes() == b"first, written completely"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.npy"]


def test_a_failed_write_leaves_the_old_entry_and_no_temporary_file(tmp_path):
    target = tmp_path / "entry.npy"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.npy"]

"""The spool: complete files only, oldest first, private, lines intact."""

from __future__ import annotations

import stat

from blueplane_pipeline.capture import spool


def test_files_are_private_complete_and_listed_oldest_first(tmp_path):
    first = spool.write(tmp_path, [b'{"a": 1}', b'{"b": 2}\n'])
    second = spool.write(tmp_path, [b'{"c": 3}'])
    (tmp_path / ".123-1-abcdef.tmp").write_bytes(b'{"half": ')  # a writer still busy
    assert spool.pending_files(tmp_path) == [first, second]
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert list(spool.read_lines(first)) == [b'{"a": 1}', b'{"b": 2}']
    assert spool.spool_bytes(tmp_path) == first.stat().st_size + second.stat().st_size


def test_blank_lines_are_skipped_and_a_missing_dir_is_empty(tmp_path):
    path = tmp_path / "1-1-000000.jsonl"
    path.write_bytes(b'\n{"a": 1}\n\n  \n{"b": 2}')
    assert list(spool.read_lines(path)) == [b'{"a": 1}', b'{"b": 2}']
    assert spool.pending_files(tmp_path / "nope") == []


def test_concurrent_writers_never_share_a_file(tmp_path):
    paths = {spool.write(tmp_path, [b"{}"]) for _ in range(50)}
    assert len(paths) == 50

"""Per-file read positions, so a re-run reads only what was appended.

A file is identified by its path; its state remembers the device/inode, size and mtime seen
last time, how many bytes (whole lines) were consumed, and a hash of the file's first bytes.
A file whose inode changed, that shrank below what was consumed, or whose first bytes differ
was replaced or truncated: it is read again from the start (event ids make that harmless).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from blueplane_pipeline.core.times import utc_now
from blueplane_pipeline.storage.db import write_transaction

HEAD_BYTES = 1024


@dataclass(slots=True)
class FileState:
    path: str
    source: str
    dev: int
    inode: int
    size: int
    mtime_ns: int
    byte_offset: int = 0
    lines: int = 0
    head_hash: str | None = None

    def same_stat(self, st: os.stat_result) -> bool:
        """Nothing about the file changed since this state was recorded."""
        return (self.dev, self.inode, self.size, self.mtime_ns) == (
            st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(slots=True)
class ResumePoint:
    byte_offset: int
    lines: int
    reason: str  # new | appended | replaced | truncated | rewritten | touched


def head_hash(fh: BinaryIO, consumed: int) -> str | None:
    """Hash of the file's first ``min(HEAD_BYTES, consumed)`` bytes: bytes already consumed
    never change in an append-only file, so a different hash means a different file."""
    n = min(HEAD_BYTES, consumed)
    if n <= 0:
        return None
    fh.seek(0)
    return hashlib.blake2b(fh.read(n), digest_size=12).hexdigest()


def resume_point(state: FileState | None, st: os.stat_result, fh: BinaryIO) -> ResumePoint:
    """Where to continue reading a file whose stat changed (or that is new)."""
    if state is None:
        return ResumePoint(0, 0, "new")
    if (state.dev, state.inode) != (st.st_dev, st.st_ino):
        return ResumePoint(0, 0, "replaced")
    if st.st_size < state.byte_offset:
        return ResumePoint(0, 0, "truncated")
    if state.head_hash is not None and head_hash(fh, state.byte_offset) != state.head_hash:
        return ResumePoint(0, 0, "rewritten")
    reason = "appended" if st.st_size > state.size else "touched"
    return ResumePoint(state.byte_offset, state.lines, reason)


def new_state(path: str, source: str, st: os.stat_result, byte_offset: int, lines: int,
              fh: BinaryIO) -> FileState:
    return FileState(path, source, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                     byte_offset, lines, head_hash(fh, byte_offset))


def load_states(conn: sqlite3.Connection, source: str) -> dict[str, FileState]:
    rows = conn.execute(
        "SELECT path, source, dev, inode, size, mtime_ns, byte_offset, lines, head_hash"
        " FROM import_offsets WHERE source = ?", (source,))
    return {row[0]: FileState(*row) for row in rows}


def save_states(conn: sqlite3.Connection, states: Iterable[FileState]) -> int:
    """Upsert states in one transaction; return how many."""
    now = utc_now()
    rows = [(s.path, s.source, s.dev, s.inode, s.size, s.mtime_ns, s.byte_offset, s.lines,
             s.head_hash, now) for s in states]
    if not rows:
        return 0
    with write_transaction(conn):
        conn.executemany(
            "INSERT INTO import_offsets (path, source, dev, inode, size, mtime_ns,"
            " byte_offset, lines, head_hash, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (path) DO UPDATE SET source = excluded.source, dev = excluded.dev,"
            " inode = excluded.inode, size = excluded.size, mtime_ns = excluded.mtime_ns,"
            " byte_offset = excluded.byte_offset, lines = excluded.lines,"
            " head_hash = excluded.head_hash, updated_at = excluded.updated_at", rows)
    return len(rows)


def load_states_readonly(db_path, source: str) -> dict[str, FileState]:
    """States read without writing (sensors): empty if the database or table is missing."""
    from blueplane_pipeline.storage.db import connect

    try:
        conn = connect(db_path, readonly=True)
    except (FileNotFoundError, sqlite3.Error):
        return {}
    try:
        return load_states(conn, source)
    except sqlite3.Error:
        return {}
    finally:
        conn.close()

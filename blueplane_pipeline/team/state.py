"""What this laptop has already published, kept on the laptop: one digest per fact.

A publish sends a fact only when its digest differs from the one recorded after the last
successful commit for it, and deletes in the team store the facts that vanished here.
Digests are recorded *after* the team store committed, so a crash between the two only
re-sends rows the upsert then leaves unchanged. The record belongs to one team store
(its ``team_id``): a recreated store gets everything again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from blueplane_pipeline.storage.db import write_transaction
from blueplane_pipeline.team.identity import team_dir

_DDL = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS published (
    kind TEXT NOT NULL, key TEXT NOT NULL, digest TEXT NOT NULL, day TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


def digest(row: tuple) -> str:
    return hashlib.blake2b(repr(row).encode(), digest_size=16).hexdigest()


def key_text(key: tuple) -> str:
    return orjson.dumps(key).decode()


def key_of(text: str) -> tuple:
    return tuple(orjson.loads(text))


class PublishState:
    def __init__(self, home: Path) -> None:
        self.path = team_dir(home) / "publish_state.db"
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_DDL)

    def close(self) -> None:
        self.conn.close()

    def get(self, name: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set(self, name: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
                          " SET value = excluded.value", (name, value))

    def bind(self, team_id: str, full: bool = False) -> None:
        """Forget everything recorded for another team store (or on ``--full``)."""
        if full or self.get("team_id") != team_id:
            with self._tx():
                self.conn.execute("DELETE FROM published")
                self.set("team_id", team_id)

    def digests(self, kind: str) -> dict[str, tuple[str, str]]:
        """key text -> (digest, day) of what the team store holds for ``kind``."""
        return {k: (d, day) for k, d, day in self.conn.execute(
            "SELECT key, digest, day FROM published WHERE kind = ?", (kind,))}

    def record(self, kind: str, items: Iterable[tuple[str, str, str]]) -> None:
        """(key text, digest, day) now committed in the team store."""
        with self._tx():
            self.conn.executemany(
                "INSERT INTO published VALUES (?, ?, ?, ?) ON CONFLICT (kind, key)"
                " DO UPDATE SET digest = excluded.digest, day = excluded.day",
                ((kind, k, d, day) for k, d, day in items))

    def forget(self, kind: str, keys: Iterable[str]) -> None:
        with self._tx():
            self.conn.executemany("DELETE FROM published WHERE kind = ? AND key = ?",
                                  ((kind, k) for k in keys))

    def _tx(self):
        return write_transaction(self.conn)


@contextlib.contextmanager
def publish_lock(home: Path) -> Iterator[None]:
    """One publish at a time per laptop (the CLI and the schedule may meet)."""
    with (team_dir(home) / "publish.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

"""Cursor's local store (``state.vscdb``) -> envelopes (platform ``cursor``, source ``cursor_db``).

Read: per workspace, ``ItemTable`` keys ``composer.composerData`` (one event per composer),
``aiService.prompts`` and ``aiService.generations`` (one per entry); globally,
``cursorDiskKV`` rows ``composerData:<id>`` and ``bubbleId:<composer>:<bubble>``. Nothing
else is read (the same tables hold Cursor's auth tokens).

Cursor has these files open. A database in WAL mode is opened ``mode=ro`` (WAL readers
never block its writer); one in rollback-journal mode would be blocked by a reader's
lock, so it is copied first and the copy is read. Change detection is two-level: a
database whose file signature (size and mtime of the file and its ``-wal``) is unchanged
is not opened; inside one that changed, each item's content hash is compared with the
last run's, and only new or changed items become events. Event ids are derived from the
item's key and content hash, so even a lost state table cannot store an item twice.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from blueplane_pipeline.core import config
from blueplane_pipeline.core.envelope import deterministic_id, make_envelope
from blueplane_pipeline.core.privacy import filter_payload, summarize_text
from blueplane_pipeline.core.times import epoch_to_iso, utc_now
from blueplane_pipeline.sources.offsets import FileState, load_states, save_states
from blueplane_pipeline.sources.sink import EventSink
from blueplane_pipeline.sources.stats import SentStats
from blueplane_pipeline.storage.db import check_readable, existing_tables, write_transaction

SOURCE = "cursor_db"
WORKSPACE_KEYS = ("composer.composerData", "aiService.prompts", "aiService.generations")
GLOBAL_PREFIXES = ("composerData:", "bubbleId:")
# Values that hold file contents, editor state or tool payloads: outside ``full`` mode only
# their size is kept (the privacy filter does not know Cursor's key names).
BULKY_KEYS = frozenset({
    "originalFileStates", "codeBlockData", "richText", "attachedCodeChunks", "contextPieces",
    "rawArgs", "params", "fileDiffTrajectories", "diffHistories", "interpreterResults",
    "consoleLogs", "gitDiffs", "diffsSinceLastApply", "currentFileLocationData",
    "recentlyViewedFiles", "lints", "approximateLintErrors", "relevantFiles",
})
COPY_RETRIES = 3


def default_dirs() -> list[Path]:
    """Cursor's ``User`` folder on this platform."""
    home = Path.home()
    if platform.system() == "Darwin":
        return [home / "Library" / "Application Support" / "Cursor" / "User"]
    if platform.system() == "Windows":
        return [Path(os.environ.get("APPDATA", home)) / "Cursor" / "User"]
    return [Path(os.environ.get("XDG_CONFIG_HOME", home / ".config")) / "Cursor" / "User"]


@dataclass(slots=True)
class StateDb:
    path: Path
    scope: str  # "global" or "workspace:<folder hash>" - part of every event id
    workspace: str | None  # the workspace's folder URI, from workspace.json


def find_databases(dirs: list[Path]) -> list[StateDb]:
    out: list[StateDb] = []
    for base in dirs:
        glob_db = base / "globalStorage" / "state.vscdb"
        if glob_db.is_file():
            out.append(StateDb(glob_db, "global", None))
        ws_root = base / "workspaceStorage"
        if ws_root.is_dir():
            for folder in sorted(ws_root.iterdir()):
                db = folder / "state.vscdb"
                if db.is_file():
                    out.append(StateDb(db, f"workspace:{folder.name}", _workspace_uri(folder)))
    return out


def _workspace_uri(folder: Path) -> str | None:
    try:
        meta = orjson.loads((folder / "workspace.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if isinstance(meta, dict):
        uri = meta.get("folder") or meta.get("workspace")
        return uri if isinstance(uri, str) else None
    return None


def signature(path: Path) -> FileState:
    """The database's change signature: the file's identity plus size/mtime of it and its
    ``-wal`` (Cursor's writes land in the WAL first)."""
    st = path.stat()
    size, mtime = st.st_size, st.st_mtime_ns
    try:
        wal = os.stat(f"{path}-wal")
    except OSError:
        wal = None
    if wal is not None and wal.st_size:  # an empty -wal appears when anyone merely opens it
        size, mtime = size + wal.st_size, max(mtime, wal.st_mtime_ns)
    return FileState(str(path), SOURCE, st.st_dev, st.st_ino, size, mtime)


# ---------------------------------------------------------------- reading without locking

def is_wal(path: Path) -> bool:
    """Bytes 18-19 of a SQLite header are 2 for a database in WAL mode."""
    with path.open("rb") as fh:
        header = fh.read(20)
    return len(header) == 20 and header[18] == 2 and header[19] == 2


class open_readonly:
    """Context manager: a read-only connection that never blocks Cursor's writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp: str | None = None
        self.conn: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        if is_wal(self.path):
            try:
                self.conn = _connect_ro(self.path)
                check_readable(self.conn)
                return self.conn
            except sqlite3.OperationalError:
                if self.conn is not None:
                    self.conn.close()  # e.g. no -shm and a read-only folder: copy instead
        self.conn = self._copy_and_open()
        return self.conn

    def _copy_and_open(self) -> sqlite3.Connection:
        last: Exception | None = None
        for _ in range(COPY_RETRIES):
            self._cleanup()
            self._tmp = tempfile.mkdtemp(prefix="cursor-", dir=config.subdir("tmp"))
            copy = Path(self._tmp) / "state.vscdb"
            shutil.copyfile(self.path, copy)
            wal = Path(f"{self.path}-wal")
            if wal.exists():
                shutil.copyfile(wal, f"{copy}-wal")
            try:
                conn = sqlite3.connect(copy, check_same_thread=False)
                check_readable(conn, thorough=True)  # a copy torn mid-write fails
                return conn
            except sqlite3.DatabaseError as exc:
                last = exc
                time.sleep(0.2)
        raise sqlite3.DatabaseError(f"could not read a consistent copy: {last}")

    def _cleanup(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __exit__(self, *exc) -> None:
        if self.conn is not None:
            self.conn.close()
        self._cleanup()


def _connect_ro(path: Path) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=2.0, check_same_thread=False)


def read_items(conn: sqlite3.Connection, scope: str) -> Iterator[tuple[str, bytes]]:
    """The (key, raw value) pairs we import from one database, and only those."""
    tables = existing_tables(conn)
    if scope != "global" and "ItemTable" in tables:
        marks = ",".join("?" * len(WORKSPACE_KEYS))
        yield from _rows(conn, f"SELECT key, value FROM ItemTable WHERE key IN ({marks})",
                         WORKSPACE_KEYS)
    if scope == "global" and "cursorDiskKV" in tables:
        for prefix in GLOBAL_PREFIXES:
            # A key range (not LIKE) so SQLite walks the key index.
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            yield from _rows(conn, "SELECT key, value FROM cursorDiskKV"
                                   " WHERE key >= ? AND key < ? ORDER BY key", (prefix, upper))


def _rows(conn: sqlite3.Connection, sql: str, params) -> Iterator[tuple[str, bytes]]:
    cur = conn.execute(sql, params)
    while rows := cur.fetchmany(500):
        for key, value in rows:
            if value is None:
                continue
            yield str(key), value.encode() if isinstance(value, str) else bytes(value)


# ---------------------------------------------------------------- items -> records

@dataclass(slots=True)
class Record:
    """One importable thing: its stable key, content hash and event."""

    key: str
    digest: str
    event_type: str
    payload: dict
    session_id: str | None
    ts: str | None


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def records_for_item(key: str, raw: bytes) -> list[Record]:
    """Split one stored value into records (a list value gives one record per entry)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return [Record(key, digest(raw), "invalid_item",
                       {"key": key, "parse_error": str(exc)[:300], "raw_bytes": len(raw)},
                       None, None)]
    if value is None:
        return []
    if key == "composer.composerData":
        heads = value.get("allComposers") if isinstance(value, dict) else None
        return [_record(f"{key}#{h.get('composerId')}", "composer", h,
                        h.get("composerId"),
                        epoch_to_iso(h.get("lastUpdatedAt") or h.get("createdAt")))
                for h in heads if isinstance(h, dict)] if isinstance(heads, list) else []
    if key == "aiService.prompts":
        # Prompts carry no id and Cursor drops the oldest: the content is their identity,
        # plus which repeat of the same text this is.
        repeats: Counter = Counter()
        out = []
        for p in value if isinstance(value, list) else []:
            if isinstance(p, dict):
                h = digest(orjson.dumps(p))
                repeats[h] += 1
                out.append(_record(f"{key}#{h}.{repeats[h]}", "prompt", p, None, None))
        return out
    if key == "aiService.generations":
        return [_record(f"{key}#{g.get('generationUUID') or digest(orjson.dumps(g))}",
                        "generation", g, None, epoch_to_iso(g.get("unixMs")))
                for g in (value if isinstance(value, list) else []) if isinstance(g, dict)]
    if not isinstance(value, dict):
        value = {"value": value}
    if key.startswith("composerData:"):
        cid = key.split(":", 1)[1]
        return [_record(key, "composer_data", value, cid,
                        epoch_to_iso(value.get("lastUpdatedAt") or value.get("createdAt")), raw)]
    if key.startswith("bubbleId:"):
        _, composer, bubble = (key.split(":", 2) + ["", ""])[:3]
        timing = value.get("timingInfo") if isinstance(value.get("timingInfo"), dict) else {}
        ts = value.get("createdAt") if isinstance(value.get("createdAt"), str) else None
        ts = ts or epoch_to_iso(timing.get("clientRpcSendTime") or timing.get("clientEndTime"))
        value = {**value, "_composer_id": composer, "_bubble_id": bubble,
                 "_role": {1: "user", 2: "assistant"}.get(value.get("type"), "unknown")}
        return [_record(key, "bubble", value, composer or None, ts, raw)]
    return [_record(key, "item", value, None, None, raw)]


def _record(key: str, event_type: str, value: dict, session: object, ts: str | None,
            raw: bytes | None = None) -> Record:
    data = raw if raw is not None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return Record(key, digest(data), event_type, value,
                  session if isinstance(session, str) and session else None, ts)



def shrink_bulky(value: object, mode: str) -> object:
    """Replace Cursor's bulky values (file contents, editor state) by their size."""
    if mode == "full":
        return value
    if isinstance(value, dict):
        return {k: _bulk_summary(v) if k in BULKY_KEYS else shrink_bulky(v, mode)
                for k, v in value.items()}
    if isinstance(value, list):
        return [shrink_bulky(v, mode) for v in value]
    return value


def _bulk_summary(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return summarize_text(value)
    return {"redacted": True, "bytes": len(orjson.dumps(value))}


def record_envelope(rec: Record, db: StateDb, mode: str, fallback_ts: str,
                    captured_at: str) -> dict:
    counts: dict[str, int] = {}
    payload = filter_payload(shrink_bulky(rec.payload, mode), mode, None, counts)
    assert isinstance(payload, dict)
    payload["_key"] = rec.key
    payload["_scope"] = db.scope
    if db.workspace:
        payload["_workspace"] = db.workspace
    return make_envelope("cursor", SOURCE, rec.event_type, payload, session_id=rec.session_id,
                         ts=rec.ts or fallback_ts,
                         event_id=deterministic_id(SOURCE, db.scope, rec.key, rec.digest),
                         captured_at=captured_at, redactions=counts)


# ---------------------------------------------------------------- the import

@dataclass
class CursorStats(SentStats):
    databases_found: int = 0
    databases_read: int = 0
    databases_unchanged: int = 0
    databases_failed: int = 0
    bytes_total: int = 0
    bytes_read: int = 0
    items: int = 0
    changed_items: int = 0
    unchanged_items: int = 0
    invalid_items: int = 0

    def found(self) -> bool:
        return bool(self.databases_found)

    def summary_lines(self, dirs: list[Path]) -> list[str]:
        if not self.databases_found:
            return [f"no state.vscdb found under {', '.join(str(d) for d in dirs)}"]
        return [
            f"{self.databases_found} Cursor databases: {self.databases_read} read, "
            f"{self.databases_unchanged} unchanged"
            + (f", {self.databases_failed} unreadable" if self.databases_failed else ""),
            f"{self.events} events ({self.changed_items} new or changed items, "
            f"{self.unchanged_items} unchanged) in {self.seconds:.2f}s"
            + (f"; {self.invalid_items} unreadable values kept" if self.invalid_items else "")]

    def progress_fields(self) -> tuple[int, int, int, int, int]:
        return (self.databases_read + self.databases_failed,
                self.databases_found - self.databases_unchanged, self.bytes_read,
                self.bytes_total, self.events)


Progress = Callable[[CursorStats], None]


def import_cursor(conn: sqlite3.Connection, sink: EventSink, *, dirs: list[Path],
                  privacy_mode: str = "standard", progress: Progress | None = None
                  ) -> CursorStats:
    """Send new or changed Cursor items under ``dirs`` to ``sink``; remember what was sent
    (``import_offsets`` for database signatures, ``cursor_import_keys`` for item hashes)
    only after the sink has flushed it."""
    t0 = time.perf_counter()
    stats = CursorStats()
    states = load_states(conn, SOURCE)
    todo: list[tuple[StateDb, FileState]] = []
    for db in find_databases(dirs):
        stats.databases_found += 1
        try:
            sig = signature(db.path)
        except OSError as exc:
            stats.databases_failed += 1
            stats.errors.append(f"{db.path}: {exc.strerror or exc}")
            continue
        if not _changed(states.get(sig.path), sig):
            stats.databases_unchanged += 1
            continue
        todo.append((db, sig))
        stats.bytes_total += sig.size
    if progress:
        progress(stats)
    try:
        for db, sig in todo:
            try:
                seen = _import_db(conn, db, sink, stats, privacy_mode)
            except (OSError, sqlite3.DatabaseError) as exc:
                stats.databases_failed += 1
                stats.errors.append(f"{db.path}: {exc}")
                continue
            sink.flush()  # the events are out; now the state may say so
            _save_keys(conn, str(db.path), seen)
            save_states(conn, [sig])
            stats.databases_read += 1
            stats.bytes_read += sig.size
            if progress:
                progress(stats)
    finally:
        stats.record_sink(sink)
        stats.seconds = time.perf_counter() - t0
    if progress:
        progress(stats)
    return stats


def _import_db(conn: sqlite3.Connection, db: StateDb, sink: EventSink, stats: CursorStats,
               mode: str) -> dict[str, str]:
    known = dict(conn.execute(
        "SELECT item_key, content_hash FROM cursor_import_keys WHERE db_path = ?",
        (str(db.path),)))
    seen: dict[str, str] = {}
    mtime = datetime.fromtimestamp(db.path.stat().st_mtime, UTC)
    fallback_ts = mtime.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    captured_at = utc_now()
    with open_readonly(db.path) as src:
        for key, raw in read_items(src, db.scope):
            try:
                recs = records_for_item(key, raw)
            except (RecursionError, ValueError, TypeError) as exc:  # e.g. absurd nesting
                recs = [Record(key, digest(raw), "invalid_item",
                               {"key": key, "parse_error": f"unreadable: {type(exc).__name__}",
                                "raw_bytes": len(raw)}, None, None)]
            for rec in recs:
                stats.items += 1
                if known.get(rec.key) == rec.digest:
                    stats.unchanged_items += 1
                    continue
                seen[rec.key] = rec.digest
                stats.changed_items += 1
                if rec.event_type == "invalid_item":
                    stats.invalid_items += 1
                try:
                    data = orjson.dumps(record_envelope(rec, db, mode, fallback_ts,
                                                        captured_at))
                except (RecursionError, ValueError, TypeError) as exc:  # absurd nesting
                    rec = Record(rec.key, rec.digest, "invalid_item",
                                 {"key": rec.key, "parse_error": f"cannot be filtered or "
                                  f"encoded: {exc}"}, rec.session_id, rec.ts)
                    stats.invalid_items += 1
                    data = orjson.dumps(record_envelope(rec, db, mode, fallback_ts,
                                                        captured_at))
                stats.events += 1
                stats.event_types[rec.event_type] += 1
                sink.add(data)
    return seen


def _save_keys(conn: sqlite3.Connection, db_path: str, seen: dict[str, str]) -> None:
    if not seen:
        return
    now = utc_now()
    with write_transaction(conn):
        conn.executemany(
            "INSERT INTO cursor_import_keys (db_path, item_key, content_hash, updated_at)"
            " VALUES (?,?,?,?) ON CONFLICT (db_path, item_key) DO UPDATE SET"
            " content_hash = excluded.content_hash, updated_at = excluded.updated_at",
            [(db_path, k, h, now) for k, h in seen.items()])


def changed_databases(states: dict[str, FileState], dirs: list[Path]) -> list[FileState]:
    """Signatures of the databases new or changed since their recorded state (stats only)."""
    out = []
    for db in find_databases(dirs):
        try:
            sig = signature(db.path)
        except OSError:
            continue
        if _changed(states.get(sig.path), sig):
            out.append(sig)
    return out


def changed_signatures(states: dict[str, FileState], dirs: list[Path]
                       ) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of :func:`changed_databases`, for the import sensor."""
    return [(s.path, s.size, s.mtime_ns) for s in changed_databases(states, dirs)]


def _changed(old: FileState | None, sig: FileState) -> bool:
    return old is None or (old.dev, old.inode, old.size, old.mtime_ns) != (
        sig.dev, sig.inode, sig.size, sig.mtime_ns)

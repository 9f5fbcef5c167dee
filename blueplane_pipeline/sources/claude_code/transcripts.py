"""Claude Code transcripts (``<config>/projects/<encoded-cwd>/<session>.jsonl``) -> envelopes.

One envelope per non-empty line, sent through the stream (or spool) like hook events.
Claude Code deletes transcripts after 30 days by default; importing them keeps the history.
Files are untrusted: a bad line becomes an ``invalid_line`` event, a bad file is reported
and skipped, and neither stops the rest of the import.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from blueplane_pipeline.core.envelope import content_id, deterministic_id, make_envelope
from blueplane_pipeline.core.privacy import filter_payload
from blueplane_pipeline.core.times import parse_ts_ms, utc_now
from blueplane_pipeline.sources.offsets import (
    FileState,
    load_states,
    new_state,
    resume_point,
    save_states,
)
from blueplane_pipeline.sources.sink import EventSink
from blueplane_pipeline.sources.stats import SentStats

SOURCE = "claude_transcript"
CHUNK_BYTES = 8 * 1024 * 1024
MAX_RAW_TEXT = 64 * 1024
# Line types seen in Claude Code 1.0-2.1 transcripts; others are kept and counted as unknown.
KNOWN_TYPES = frozenset({
    "user", "assistant", "system", "summary", "queue-operation", "progress",
    "file-history-snapshot", "custom-title", "tag", "attachment", "result", "last-prompt",
    "atis-latch", "api-request", "api-request-shape", "api-request-blob", "tools-used",
    "cost-state",
})
SAVE_EVERY_S = 2.0


# ---------------------------------------------------------------- locating transcripts

def config_dirs(explicit: list[str] | tuple[str, ...] | None = None) -> list[Path]:
    """``explicit`` dirs, else ``CLAUDE_CONFIG_DIR`` (comma-separated), else the defaults
    ``~/.config/claude`` and ``~/.claude`` (Claude Code has used both)."""
    if explicit:
        return [Path(p).expanduser() for p in explicit]
    env = os.environ.get("CLAUDE_CONFIG_DIR", "")
    if env.strip():
        return [Path(p.strip()).expanduser() for p in env.split(",") if p.strip()]
    home = Path.home()
    return [home / ".config" / "claude", home / ".claude"]


@dataclass(slots=True)
class Transcript:
    path: Path
    rel: str  # relative to the config dir's ``projects/`` (the ``_file`` key)
    st: os.stat_result


def find_transcripts(dirs: list[Path]) -> list[Transcript]:
    """Every ``*.jsonl`` under each ``<config>/projects/`` (session files and subagent files,
    ``<session>/subagents/agent-*.jsonl`` and the older ``agent-*.jsonl``), each real file
    once."""
    out: list[Transcript] = []
    seen: set[tuple[int, int]] = set()
    for base in dirs:
        root = base / "projects"
        if not root.is_dir():
            continue
        root = root.resolve()  # offsets are keyed by path: one spelling per file
        for path, st in _walk_jsonl(root):
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            out.append(Transcript(path, path.relative_to(root).as_posix(), st))
    return out


def _walk_jsonl(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.name.endswith(".jsonl") and entry.is_file():
                    yield Path(entry.path), entry.stat()
            except OSError:
                continue


# ---------------------------------------------------------------- lines -> envelopes

@dataclass(slots=True)
class FileContext:
    """What every line of one file shares."""

    rel: str
    fallback_session: str
    mtime_iso: str
    captured_at: str
    privacy_mode: str


def file_context(path: Path, rel: str, st: os.stat_result, privacy_mode: str) -> FileContext:
    # Subagent files live under ``<session>/subagents/``: their session is the parent's.
    parent = path.parent
    fallback = parent.parent.name if parent.name == "subagents" else path.stem
    mtime = datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="milliseconds")
    return FileContext(rel, fallback, mtime.replace("+00:00", "Z"), utc_now(), privacy_mode)


def line_envelope(raw: bytes, lineno: int, ctx: FileContext) -> dict:
    """The envelope for one non-empty transcript line (the contract other parts rely on)."""
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _invalid(raw, lineno, ctx, f"invalid JSON: {exc}")
    if not isinstance(line, dict):
        return _invalid(raw, lineno, ctx, f"line is a JSON {type(line).__name__}, not an object")
    line_type = line.get("type")
    session = line.get("sessionId")
    ts = line.get("timestamp")
    uid = line.get("uuid")
    counts: dict[str, int] = {}
    payload = filter_payload(line, ctx.privacy_mode, None, counts)
    payload["_file"] = ctx.rel
    payload["_line"] = lineno
    return make_envelope(
        "claude_code", "transcript",
        line_type if isinstance(line_type, str) and line_type else "unknown",
        payload,
        session_id=session if isinstance(session, str) and session else ctx.fallback_session,
        ts=ts if isinstance(ts, str) and ts else ctx.mtime_iso,
        event_id=deterministic_id(SOURCE, uid) if isinstance(uid, str) and uid
        else content_id(raw),
        captured_at=ctx.captured_at,
        redactions=counts,
    )


def encoded_line(raw: bytes, lineno: int, ctx: FileContext) -> tuple[dict, bytes]:
    """The line's envelope and its JSON; a line too deeply nested to filter or encode
    (orjson stops at 255 levels) is kept as an ``invalid_line`` instead of failing."""
    try:
        env = line_envelope(raw, lineno, ctx)
        return env, orjson.dumps(env)
    except (RecursionError, ValueError, TypeError) as exc:
        env = _invalid(raw, lineno, ctx, f"cannot be filtered or encoded: {exc}")
        return env, orjson.dumps(env)


def _invalid(raw: bytes, lineno: int, ctx: FileContext, error: str) -> dict:
    text = raw[:MAX_RAW_TEXT].decode("utf-8", errors="replace")
    payload = filter_payload({"raw_text": text}, ctx.privacy_mode)
    assert isinstance(payload, dict)
    payload.update(parse_error=error[:300], raw_bytes=len(raw), _file=ctx.rel, _line=lineno)
    return make_envelope("claude_code", "transcript", "invalid_line", payload,
                         session_id=ctx.fallback_session, ts=ctx.mtime_iso,
                         event_id=content_id(raw), captured_at=ctx.captured_at)


def complete_lines(fh, start: int, end: int) -> Iterator[tuple[bytes, int]]:
    """Yield ``(line, end_offset)`` for each newline-terminated line in ``[start, end)``.

    A last line without its newline is still being written: it is not yielded, and the
    caller's offset stops before it, so the next run reads it whole.
    """
    fh.seek(start)
    pos, carry = start, b""
    remaining = end - start
    while remaining > 0:
        chunk = fh.read(min(CHUNK_BYTES, remaining))
        if not chunk:
            return
        remaining -= len(chunk)
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1:]
        for line in data[:cut].split(b"\n"):
            pos += len(line) + 1
            yield line, pos


# ---------------------------------------------------------------- the import

@dataclass
class ImportStats(SentStats):
    files_found: int = 0
    files_to_read: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_reset: int = 0  # replaced, truncated or rewritten: read again from the start
    files_failed: int = 0
    files_before_since: int = 0  # files last written before --since, not opened
    bytes_total: int = 0
    bytes_read: int = 0
    lines: int = 0
    invalid_lines: int = 0
    unknown_types: int = 0
    skipped_since: int = 0  # lines older than --since
    pending_tail_bytes: int = 0  # half-written last lines left for the next run

    @property
    def mb_per_s(self) -> float:
        return self.bytes_read / 1e6 / self.seconds if self.seconds else 0.0

    def progress_fields(self) -> tuple[int, int, int, int, int]:
        """(files done, files to do, bytes done, bytes to do, events) for progress bars."""
        return (self.files_read + self.files_failed, self.files_to_read, self.bytes_read,
                self.bytes_total, self.events)

    def as_dict(self) -> dict:
        return {**super().as_dict(), "mb_per_s": round(self.mb_per_s, 2)}

    def found(self) -> bool:
        return bool(self.files_found)

    def summary_lines(self, dirs: list[Path]) -> list[str]:
        if not self.files_found:
            return [f"no transcripts found under {', '.join(str(d / 'projects') for d in dirs)}"]
        return [
            f"{self.files_found} transcript files: {self.files_read} read, "
            f"{self.files_unchanged} unchanged"
            + (f", {self.files_reset} re-read (replaced or truncated)" if self.files_reset else "")
            + (f", {self.files_before_since} older than --since" if self.files_before_since
               else "")
            + (f", {self.files_failed} unreadable" if self.files_failed else ""),
            (f"{self.events} events from {self.bytes_read / 1e6:.1f} MB in {self.seconds:.2f}s"
             if self.files_read else "nothing new")
            + (f"; {self.invalid_lines} invalid lines kept" if self.invalid_lines else "")
            + (f"; {self.unknown_types} lines of unknown types kept" if self.unknown_types
               else "")
            + (f"; {self.skipped_since} lines before --since skipped" if self.skipped_since
               else "")
            + (f"; {self.pending_tail_bytes:,} bytes half-written, left for the next run"
               if self.pending_tail_bytes else "")]


Progress = Callable[[ImportStats], None]


@dataclass(slots=True)
class _Task:
    transcript: Transcript
    state: FileState | None


def import_transcripts(
    conn: sqlite3.Connection,
    sink: EventSink,
    *,
    dirs: list[Path],
    privacy_mode: str = "standard",
    since_ms: int | None = None,
    progress: Progress | None = None,
) -> ImportStats:
    """Send every line appended since the last run of every transcript under ``dirs`` to
    ``sink``; remember per-file offsets in ``conn`` (``import_offsets``).

    Offsets are saved only after the sink has flushed the lines they cover, so a crash
    re-reads (harmless: deterministic ids) rather than skips. With ``since_ms`` lines older
    than it are dropped, and a file that lost lines that way keeps its old offset, so a
    later full import still gets them.
    """
    t0 = time.perf_counter()
    stats = ImportStats()
    states = load_states(conn, SOURCE)
    pending: list[FileState] = []  # states whose lines sit in the sink's buffer
    ready: list[FileState] = []  # states whose lines the sink has flushed
    last_save = time.monotonic()

    def flushed() -> None:
        nonlocal last_save
        ready.extend(pending)
        pending.clear()
        if ready and time.monotonic() - last_save >= SAVE_EVERY_S:
            save_states(conn, ready)
            ready.clear()
            last_save = time.monotonic()

    sink.on_flush = flushed
    tasks = []
    for tr in find_transcripts(dirs):
        stats.files_found += 1
        state = states.get(str(tr.path))
        if state is not None and state.same_stat(tr.st):
            stats.files_unchanged += 1
            continue
        if since_ms is not None and tr.st.st_mtime_ns // 1_000_000 < since_ms:
            stats.files_before_since += 1  # nothing in it can be newer than its mtime
            continue
        tasks.append(_Task(tr, state))
        stats.bytes_total += tr.st.st_size - (state.byte_offset if state else 0)
    stats.files_to_read = len(tasks)
    if progress:
        progress(stats)
    try:
        for task in tasks:
            new = _import_file(task, sink, stats, privacy_mode, since_ms, progress)
            if new is not None:
                pending.append(new)
        sink.flush()
    finally:
        sink.on_flush = None
        save_states(conn, ready)
        stats.record_sink(sink)
        stats.seconds = time.perf_counter() - t0
    if progress:
        progress(stats)
    return stats


def _import_file(task: _Task, sink: EventSink, stats: ImportStats, privacy_mode: str,
                 since_ms: int | None, progress: Progress | None) -> FileState | None:
    tr = task.transcript
    try:
        with tr.path.open("rb") as fh:
            st = os.fstat(fh.fileno())  # the file opened, even if replaced since the walk
            start = resume_point(task.state, st, fh)
            if start.reason in ("replaced", "truncated", "rewritten"):
                stats.files_reset += 1
            ctx = file_context(tr.path, tr.rel, st, privacy_mode)
            offset, lineno, dropped = start.byte_offset, start.lines, False
            last_report = offset
            for raw, end in complete_lines(fh, start.byte_offset, st.st_size):
                lineno += 1
                offset = end
                stats.lines += 1
                raw = raw.strip()
                if not raw:
                    continue
                env, data = encoded_line(raw, lineno, ctx)
                if since_ms is not None and (parse_ts_ms(env["ts"]) or 0) < since_ms:
                    stats.skipped_since += 1
                    dropped = True
                    continue
                _count(env["event_type"], stats)
                sink.add(data)
                if progress and offset - last_report >= 1 << 20:
                    stats.bytes_read += offset - last_report
                    last_report = offset
                    progress(stats)
            stats.bytes_read += offset - last_report
            stats.pending_tail_bytes += st.st_size - offset
            stats.files_read += 1
            if progress:
                progress(stats)
            if dropped:
                return None
            return new_state(str(tr.path), SOURCE, st, offset, lineno, fh)
    except OSError as exc:
        stats.files_failed += 1
        stats.errors.append(f"{tr.rel}: {exc.strerror or exc}")
        return None


def _count(event_type: str, stats: ImportStats) -> None:
    stats.events += 1
    stats.event_types[event_type] += 1
    if event_type == "invalid_line":
        stats.invalid_lines += 1
    elif event_type not in KNOWN_TYPES:
        stats.unknown_types += 1


def changed_files(states: dict[str, FileState], dirs: list[Path]) -> list[Transcript]:
    """Transcripts new or changed since their recorded state: a stat per file, no reads."""
    return [t for t in find_transcripts(dirs)
            if (s := states.get(str(t.path))) is None or not s.same_stat(t.st)]


def changed_signatures(states: dict[str, FileState], dirs: list[Path]
                       ) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of :func:`changed_files`, for the import sensor."""
    return [(str(t.path), t.st.st_size, t.st.st_mtime_ns) for t in changed_files(states, dirs)]

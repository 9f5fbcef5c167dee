"""The one importer of append-only JSON Lines histories (Claude Code transcripts, Codex
rollouts, Gemini CLI sessions): one envelope per non-empty line, incremental by file offset.

A platform describes its files with a :class:`JsonlSource`: where they are, and a
:class:`LineReader` per file that turns one line into an envelope (and may keep what the
file's earlier lines said: a Codex rollout names its model once per turn). Everything else
is shared: offsets (``sources.offsets``), truncated or replaced files read again, a
half-written last line left for the next run, ``--since``, progress, and the sink.
Files are untrusted: a bad line becomes an ``invalid_line`` event, a bad file is reported
and skipped, and neither stops the rest of the import.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from blueplane_pipeline.core.times import parse_iso_ms, parse_ts_ms
from blueplane_pipeline.sources.offsets import (
    FileState,
    load_states,
    new_state,
    resume_point,
    save_states,
)
from blueplane_pipeline.sources.sink import EventSink
from blueplane_pipeline.sources.stats import SentStats

CHUNK_BYTES = 8 * 1024 * 1024
SAVE_EVERY_S = 2.0
MAX_RAW_TEXT = 64 * 1024  # of a bad line, what is kept (filtered like any text)


def annotated_usage(envelope: dict, source: str) -> tuple[dict, dict, dict, int] | None:
    """``(payload, _bp, usage, ts_ms)`` of a line whose reader annotated its token usage
    (``payload["_bp"]["usage"]``, as the Codex and Gemini readers do), else None."""
    if envelope.get("source") != source:
        return None
    payload = envelope.get("payload")
    bp = payload.get("_bp") if isinstance(payload, dict) else None
    usage = bp.get("usage") if isinstance(bp, dict) else None
    if not isinstance(usage, dict):
        return None
    ts_ms = parse_iso_ms(envelope.get("ts"))
    if ts_ms is None:
        return None
    return payload, bp, usage, ts_ms


def invalid_line(platform: str, source: str, raw: bytes, error: str, privacy_mode: str, *,
                 session_id: str | None, ts: str | None, captured_at: str | None,
                 **fields: object) -> dict:
    """The ``invalid_line`` envelope of a line that is not a JSON object (or cannot be
    filtered): its first 64 kB as filtered text, why, and where it was (``fields``). Its id
    is its bytes, so reading the file again stores it once."""
    from blueplane_pipeline.core.envelope import content_id, make_envelope
    from blueplane_pipeline.core.privacy import filter_payload

    counts: dict[str, int] = {}
    text = raw[:MAX_RAW_TEXT].decode("utf-8", errors="replace")
    payload = filter_payload({"raw_text": text}, privacy_mode, None, counts)
    assert isinstance(payload, dict)
    payload.update(parse_error=error[:300], raw_bytes=len(raw), **fields)
    return make_envelope(platform, source, "invalid_line", payload, session_id=session_id,
                         ts=ts, event_id=content_id(raw), captured_at=captured_at,
                         redactions=counts)


@dataclass(slots=True)
class Transcript:
    path: Path
    rel: str  # the file's name relative to its root (the ``_file`` key of its events)
    st: os.stat_result


class LineReader(Protocol):
    def encode(self, raw: bytes, lineno: int) -> tuple[dict, bytes]:
        """The envelope of one non-empty line and its JSON."""
        ...


@dataclass(frozen=True)
class JsonlSource:
    state_source: str  # the key of its rows in ``import_offsets``
    find: Callable[[list[Path]], list[Transcript]]
    # reader(transcript, stat of the opened file, privacy mode, open file, start offset)
    reader: Callable[[Transcript, os.stat_result, str, BinaryIO, int], LineReader]
    known_types: frozenset[str] = frozenset()
    noun: str = "transcript"  # for people: "3 transcript files: ..."
    where: Callable[[list[Path]], str] = field(default=lambda dirs: ", ".join(map(str, dirs)))

    def read(self, conn: sqlite3.Connection, sink: EventSink, **options) -> ImportStats:
        """Import every line appended since the last run: the ``Importer.read`` of a
        platform whose history is JSON lines."""
        return import_jsonl(self, conn, sink, **options)

    def changed(self, states: dict, dirs: list[Path]) -> list[tuple[str, int, int]]:
        """The files that changed since ``states``: the ``Importer.changed`` (its sensor)."""
        return changed_signatures(self, states, dirs)


def walk_jsonl(root: Path, suffix: str = ".jsonl") -> Iterator[tuple[Path, os.stat_result]]:
    """Every regular ``*suffix`` file under ``root`` (sorted per folder, no symlinked dirs)."""
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
                elif entry.name.endswith(suffix) and entry.is_file():
                    yield Path(entry.path), entry.stat()
            except OSError:
                continue


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
        carry = data[cut + 1 :]
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
    noun: str = "transcript"
    where: str = ""

    def as_dict(self) -> dict:
        out = {**super().as_dict(), "mb_per_s": round(self.mb_per_s, 2)}
        out.pop("noun", None)
        out.pop("where", None)
        return out

    @property
    def mb_per_s(self) -> float:
        return self.bytes_read / 1e6 / self.seconds if self.seconds else 0.0

    def progress_fields(self) -> tuple[int, int, int, int, int]:
        """(files done, files to do, bytes done, bytes to do, events) for progress bars."""
        return (
            self.files_read + self.files_failed,
            self.files_to_read,
            self.bytes_read,
            self.bytes_total,
            self.events,
        )

    def found(self) -> bool:
        return bool(self.files_found)

    def summary_lines(self, dirs: list[Path]) -> list[str]:
        if not self.files_found:
            return [f"no {self.noun}s found under {self.where}"]
        return [
            f"{self.files_found} {self.noun} files: {self.files_read} read, "
            f"{self.files_unchanged} unchanged"
            + (f", {self.files_reset} re-read (replaced or truncated)" if self.files_reset else "")
            + (f", {self.files_before_since} older than --since" if self.files_before_since else "")
            + (f", {self.files_failed} unreadable" if self.files_failed else ""),
            (
                f"{self.events} events from {self.bytes_read / 1e6:.1f} MB in {self.seconds:.2f}s"
                if self.files_read
                else "nothing new"
            )
            + (f"; {self.invalid_lines} invalid lines kept" if self.invalid_lines else "")
            + (f"; {self.unknown_types} lines of unknown types kept" if self.unknown_types else "")
            + (f"; {self.skipped_since} lines before --since skipped" if self.skipped_since else "")
            + (
                f"; {self.pending_tail_bytes:,} bytes half-written, left for the next run"
                if self.pending_tail_bytes
                else ""
            ),
        ]


Progress = Callable[[ImportStats], None]


@dataclass(slots=True)
class _Task:
    transcript: Transcript
    state: FileState | None


def import_jsonl(
    source: JsonlSource,
    conn: sqlite3.Connection,
    sink: EventSink,
    *,
    dirs: list[Path],
    privacy_mode: str = "standard",
    since_ms: int | None = None,
    progress: Progress | None = None,
) -> ImportStats:
    """Send every line appended since the last run of every file of ``source`` under
    ``dirs`` to ``sink``; remember per-file offsets in ``conn`` (``import_offsets``).

    Offsets are saved only after the sink has flushed the lines they cover, so a crash
    re-reads (harmless: deterministic ids) rather than skips. With ``since_ms`` lines older
    than it are dropped, and a file that lost lines that way keeps its old offset, so a
    later full import still gets them.
    """
    t0 = time.perf_counter()
    stats = ImportStats(noun=source.noun, where=source.where(dirs))
    states = load_states(conn, source.state_source)
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
    for tr in source.find(dirs):
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
            new = _import_file(source, task, sink, stats, privacy_mode, since_ms, progress)
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


def _import_file(
    source: JsonlSource,
    task: _Task,
    sink: EventSink,
    stats: ImportStats,
    privacy_mode: str,
    since_ms: int | None,
    progress: Progress | None,
) -> FileState | None:
    tr = task.transcript
    try:
        with tr.path.open("rb") as fh:
            st = os.fstat(fh.fileno())  # the file opened, even if replaced since the walk
            start = resume_point(task.state, st, fh)
            if start.reason in ("replaced", "truncated", "rewritten"):
                stats.files_reset += 1
            reader = source.reader(tr, st, privacy_mode, fh, start.byte_offset)
            offset, lineno, dropped = start.byte_offset, start.lines, False
            last_report = offset
            for raw, end in complete_lines(fh, start.byte_offset, st.st_size):
                lineno += 1
                offset = end
                stats.lines += 1
                raw = raw.strip()
                if not raw:
                    continue
                env, data = reader.encode(raw, lineno)
                if since_ms is not None and (parse_ts_ms(env["ts"]) or 0) < since_ms:
                    stats.skipped_since += 1
                    dropped = True
                    continue
                _count(env["event_type"], stats, source.known_types)
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
            return new_state(str(tr.path), source.state_source, st, offset, lineno, fh)
    except OSError as exc:
        stats.files_failed += 1
        stats.errors.append(f"{tr.rel}: {exc.strerror or exc}")
        return None


def _count(event_type: str, stats: ImportStats, known: frozenset[str]) -> None:
    stats.events += 1
    stats.event_types[event_type] += 1
    if event_type == "invalid_line":
        stats.invalid_lines += 1
    elif known and event_type not in known:
        stats.unknown_types += 1


def changed_signatures(
    source: JsonlSource, states: dict[str, FileState], dirs: list[Path]
) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of the files new or changed since their recorded state (a
    stat per file, no reads), for the import sensor."""
    return [
        (str(t.path), t.st.st_size, t.st.st_mtime_ns)
        for t in source.find(dirs)
        if (s := states.get(str(t.path))) is None or not s.same_stat(t.st)
    ]

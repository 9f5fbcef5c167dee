"""Claude Code transcripts (``<config>/projects/<encoded-cwd>/<session>.jsonl``) -> envelopes.

One envelope per non-empty line, sent through the stream (or spool) like hook events.
Claude Code deletes transcripts after 30 days by default; importing them keeps the history.
The import itself (offsets, half-written lines, ``--since``) is ``sources.jsonl``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from blueplane_pipeline.core.envelope import content_id, deterministic_id, make_envelope
from blueplane_pipeline.core.privacy import filter_payload
from blueplane_pipeline.core.times import utc_now
from blueplane_pipeline.sources.jsonl import (
    JsonlSource,
    Transcript,
    invalid_line,
    walk_jsonl,
)

SOURCE = "claude_transcript"
CHUNK_BYTES = 8 * 1024 * 1024
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
        for path, st in walk_jsonl(root):
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            out.append(Transcript(path, path.relative_to(root).as_posix(), st))
    return out


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
    return invalid_line("claude_code", "transcript", raw, error, ctx.privacy_mode,
                        session_id=ctx.fallback_session, ts=ctx.mtime_iso,
                        captured_at=ctx.captured_at, _file=ctx.rel, _line=lineno)



class _Reader:
    """Claude Code lines need nothing from earlier lines of their file."""

    __slots__ = ("ctx",)

    def __init__(self, tr: Transcript, st: os.stat_result, privacy_mode: str, fh: object,
                 start: int) -> None:
        self.ctx = file_context(tr.path, tr.rel, st, privacy_mode)

    def encode(self, raw: bytes, lineno: int) -> tuple[dict, bytes]:
        return encoded_line(raw, lineno, self.ctx)


JSONL = JsonlSource(
    state_source=SOURCE, find=find_transcripts, reader=_Reader, known_types=KNOWN_TYPES,
    noun="transcript", where=lambda dirs: ", ".join(str(d / "projects") for d in dirs))


import_transcripts = JSONL.read
changed_signatures = JSONL.changed

"""Gemini CLI sessions (``~/.gemini/tmp/<project>/chats/session-*.jsonl``, 0.61's JSON
Lines form) -> envelopes, through ``sources.jsonl``.

Line 1 (and again when ``--resume`` reopens the file) is the session's metadata
(``sessionId``, ``projectHash``, ``startTime``); ``{"$set": …}`` lines patch it; the rest are
messages ``{id, timestamp, type: "user"|"gemini", …}``. A gemini message that called
tools is written twice with the same id (before and after its ``toolCalls``): usage is
keyed by (session, message id), so it counts once. What a line means is written into
``payload["_bp"]`` before the privacy filter runs (numbers and short names every mode
keeps): ``usage`` (input incl. cached, cached, output = candidates, thoughts, tool,
model, key) and ``calls`` (id, tool, outcome, lines).

Tool outcomes: a ``status`` other than ``success`` is an error; a ``run_shell_command``
whose output says ``Exit Code: N`` with N ≠ 0 is an error although Gemini records it as a
success (no such line: exit 0); ``write_file``/``replace`` lines come from the result's
``diffStat``. The older single-document ``session-*.json`` files are not read.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import orjson

from blueplane_pipeline.core.envelope import content_id, make_envelope
from blueplane_pipeline.core.privacy import filter_payload
from blueplane_pipeline.core.times import utc_now
from blueplane_pipeline.sources.jsonl import JsonlSource, Transcript, invalid_line, walk_jsonl

SOURCE = "gemini_session"
_EXIT = re.compile(r"^Exit Code: (-?\d+)\s*$", re.M)
# Gemini's tool names -> the names the analytics share with the other assistants.
TOOL_NAMES = {
    "run_shell_command": "Bash",
    "write_file": "Write",
    "replace": "Edit",
    "read_file": "Read",
    "glob": "Glob",
    "search_file_content": "Grep",
    "list_directory": "LS",
    "web_fetch": "WebFetch",
    "google_web_search": "WebSearch",
}


def gemini_dirs(explicit: list[str] | tuple[str, ...] | None = None) -> list[Path]:
    """``explicit`` dirs, else ``$GEMINI_DATA_DIR`` (ccusage's name for it), else
    ``$GEMINI_CLI_HOME/.gemini``, else ``~/.gemini``."""
    if explicit:
        return [Path(p).expanduser() for p in explicit]
    env = os.environ.get("GEMINI_DATA_DIR", "").strip()
    if env:
        return [Path(env).expanduser()]
    home = os.environ.get("GEMINI_CLI_HOME", "").strip()
    return [(Path(home).expanduser() if home else Path.home()) / ".gemini"]


def find_sessions(dirs: list[Path]) -> list[Transcript]:
    out: list[Transcript] = []
    seen: set[tuple[int, int]] = set()
    for base in dirs:
        root = base / "tmp"
        if not root.is_dir():
            continue
        root = root.resolve()
        for path, st in walk_jsonl(root):
            if path.parent.name != "chats" or not path.name.startswith("session-"):
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            out.append(Transcript(path, f"tmp/{path.relative_to(root).as_posix()}", st))
    return out


_PROJECTS: dict[str, dict[str, str]] = {}


def project_paths(gemini_dir: Path) -> dict[str, str]:
    """Project short name -> its folder, from ``projects.json`` (Gemini 0.61 names the
    ``tmp/<project>`` folders after it)."""
    key = str(gemini_dir)
    if key not in _PROJECTS:
        try:
            data = orjson.loads((gemini_dir / "projects.json").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            data = {}
        projects = data.get("projects") if isinstance(data, dict) else None
        _PROJECTS[key] = {
            v: k for k, v in (projects or {}).items() if isinstance(k, str) and isinstance(v, str)
        }
    return _PROJECTS[key]


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _as_conversation(line: dict, event_type: str) -> None:
    """A prompt (a user message of text parts) or an answer (a gemini message's text) is
    conversation: moved to a ``message`` with text blocks, the shape the privacy filter
    keeps (redacted) as Claude Code's conversation instead of summarising it away."""
    content = line.get("content")
    if event_type == "user" and isinstance(content, list):
        if any(isinstance(c, dict) and "functionResponse" in c for c in content):
            return  # tool results: summarised like any tool output
        texts = [c.get("text") for c in content if isinstance(c, dict)]
        line.pop("content")
        line["message"] = {
            "role": "user",
            "content": [{"type": "text", "text": t} for t in texts if isinstance(t, str)],
        }
    elif event_type == "gemini" and isinstance(content, str):
        line.pop("content")
        line["message"] = {"role": "assistant", "content": [{"type": "text", "text": content}]}


def conversation_text(payload: dict) -> object:
    message = payload.get("message")
    blocks = message.get("content") if isinstance(message, dict) else None
    texts = [b.get("text") for b in blocks or () if isinstance(b, dict)]
    if len(texts) == 1:
        return texts[0]
    strings = [t for t in texts if isinstance(t, str)]
    return "\n".join(strings) if strings else (texts[0] if texts else None)


def shell_exit(output: object) -> int | None:
    if not isinstance(output, str):
        return None
    found = _EXIT.search(output)
    if found:
        return int(found.group(1))
    return 0 if "Output:" in output else None


def _outputs(result: object) -> str:
    texts = []
    for part in result if isinstance(result, list) else []:
        response = (
            (part.get("functionResponse") or {}).get("response") if isinstance(part, dict) else None
        )
        if isinstance(response, dict):
            for key in ("output", "error"):
                if isinstance(response.get(key), str):
                    texts.append(response[key])
    return "\n".join(texts)


def call_summary(call: dict) -> dict | None:
    cid, name = call.get("id"), call.get("name")
    if not isinstance(cid, str) or not isinstance(name, str):
        return None
    tool = TOOL_NAMES.get(name, name)
    out: dict = {"id": cid, "tool": tool, "ok": call.get("status") == "success"}
    status = call.get("status")
    if status == "cancelled":
        out["state"] = "cancelled"
    if name == "run_shell_command" and out["ok"]:
        code = shell_exit(_outputs(call.get("result")))
        out["exit"] = code
        out["ok"] = code in (0, None)
    display = call.get("resultDisplay")
    stat = display.get("diffStat") if isinstance(display, dict) else None
    if isinstance(stat, dict):
        out["lines"] = [
            _int(stat.get("model_added_lines")),
            _int(stat.get("model_removed_lines")),
            display.get("isNewFile") is True,
        ]
    return out


class SessionReader:
    """One session file: its session id (from the metadata line) and lines -> envelopes."""

    def __init__(
        self, tr: Transcript, st: os.stat_result, privacy_mode: str, fh: object, start: int
    ) -> None:
        self.rel = tr.rel
        self.session: str | None = None
        self.project = tr.path.parent.parent.name
        self.fallback_session = tr.path.stem
        self.privacy_mode = privacy_mode
        self.captured_at = utc_now()
        self.last_ts: str | None = None
        self.cwd = project_paths(tr.path.parents[3]).get(self.project)
        mtime = datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="milliseconds")
        self.mtime_iso = mtime.replace("+00:00", "Z")
        if start > 0:
            fh.seek(0)
            for raw in fh.read(start).split(b"\n"):
                if b'"sessionId"' in raw and b'"startTime"' in raw:
                    try:
                        self._meta(orjson.loads(raw))
                    except orjson.JSONDecodeError:
                        continue

    def _meta(self, line: object) -> None:
        if (
            isinstance(line, dict)
            and isinstance(line.get("sessionId"), str)
            and "startTime" in line
        ):
            self.session = line["sessionId"]

    def encode(self, raw: bytes, lineno: int) -> tuple[dict, bytes]:
        try:
            env = self.envelope(raw, lineno)
            return env, orjson.dumps(env)
        except (RecursionError, ValueError, TypeError) as exc:
            env = self._invalid(raw, lineno, f"cannot be filtered or encoded: {exc}")
            return env, orjson.dumps(env)

    def envelope(self, raw: bytes, lineno: int) -> dict:
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._invalid(raw, lineno, f"invalid JSON: {exc}")
        if not isinstance(line, dict):
            return self._invalid(raw, lineno, "line is not a JSON object")
        self._meta(line)
        if "$set" in line:
            event_type = "set"
        elif "startTime" in line and "sessionId" in line:
            event_type = "session"
        else:
            kind = line.get("type")
            event_type = kind if isinstance(kind, str) and kind else "unknown"
        bp = self._annotate(line, event_type)
        _as_conversation(line, event_type)
        if self.cwd and "cwd" not in line:
            line["cwd"] = self.cwd  # the project folder (filtered like any cwd)
        counts: dict[str, int] = {}
        filtered = filter_payload(line, self.privacy_mode, self.cwd, counts)
        filtered.update(_file=self.rel, _line=lineno, _project=self.project)
        if bp:
            filtered["_bp"] = bp
        ts = line.get("timestamp") or line.get("startTime")
        patch = line.get("$set") if isinstance(line.get("$set"), dict) else {}
        ts = ts or patch.get("lastUpdated") or self.last_ts  # a patch is as old as its news
        if isinstance(ts, str) and ts:
            self.last_ts = ts
        return make_envelope(
            "gemini",
            "session",
            event_type,
            filtered,
            session_id=self.session or self.fallback_session,
            ts=ts if isinstance(ts, str) and ts else self.mtime_iso,
            event_id=content_id(raw),
            captured_at=self.captured_at,
            redactions=counts,
        )

    def _annotate(self, line: dict, event_type: str) -> dict | None:
        if event_type != "gemini":
            return None
        out: dict = {}
        tokens = line.get("tokens")
        mid = line.get("id")
        if isinstance(tokens, dict) and isinstance(mid, str):
            out["usage"] = {
                k: _int(tokens.get(k))
                for k in ("input", "cached", "output", "thoughts", "tool", "total")
            }
            out["key"] = f"{self.session or self.fallback_session}:{mid}"
        if isinstance(line.get("model"), str):
            out["model"] = line["model"]
        calls = [
            c
            for c in (call_summary(c) for c in line.get("toolCalls") or [] if isinstance(c, dict))
            if c
        ]
        if calls:
            out["calls"] = calls
        return out or None

    def _invalid(self, raw: bytes, lineno: int, error: str) -> dict:
        return invalid_line("gemini", "session", raw, error, self.privacy_mode,
                            session_id=self.session or self.fallback_session, ts=self.mtime_iso,
                            captured_at=self.captured_at, _file=self.rel, _line=lineno,
                            _project=self.project)


JSONL = JsonlSource(
    state_source=SOURCE,
    find=find_sessions,
    reader=SessionReader,
    known_types=frozenset({"session", "set", "user", "gemini", "info", "error", "warning"}),
    noun="session",
    where=lambda dirs: ", ".join(f"{d}/tmp/*/chats" for d in dirs),
)


import_sessions = JSONL.read
changed_signatures = JSONL.changed

"""Codex rollouts (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`` and
``$CODEX_HOME/archived_sessions/rollout-*.jsonl``) -> envelopes, through ``sources.jsonl``.

A rollout names its model once per turn (``turn_context``) and, in older versions, its
token usage only as running totals of the thread, so a line cannot be read alone. The
reader keeps what earlier lines said (thread, model, last total) and writes what a line
means into ``payload["_bp"]`` before the privacy filter runs: numbers and short names
that every privacy mode keeps (a strict-mode import still knows exit codes and usage):

``usage``  one model response's tokens (input incl. cached, cached, output incl. reasoning,
           reasoning, total), with ``model`` and ``key`` (the Responses API id, or thread
           + running total for older rollouts: the same response copied into a resumed
           file gets the same key and is counted once);
``call``   a tool call: ``id``, ``tool`` (``Bash`` for ``exec_command``/``shell``,
           ``apply_patch``), ``lines`` of a patch;
``result`` a tool call's outcome: ``id``, ``exit`` (the exit code, when known), ``ok``.

Exit codes (a failed command is an error although Codex calls it a success): the
``CommandExecution`` item's ``exit_code``; else ``Process exited with code N`` in the
output text; a legacy ``shell`` output's JSON ``metadata.exit_code``; a command still
running when its output was first yielded gets its code from the later ``write_stdin``
poll of the same process (``session_id``). A refused or aborted command is an error
without a code; ``apply_patch`` succeeded iff its output starts ``Exit code: 0``.
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

SOURCE = "codex_rollout"
KNOWN_TYPES = frozenset(
    {
        "session_meta",
        "turn_context",
        "world_state",
        "response_item",
        "token_usage_record",
        "event_msg",
        "compacted",
    }
)
SHELL_TOOLS = frozenset({"exec_command", "shell", "local_shell", "container.exec"})
_EXITED = re.compile(r"^Process exited with code (-?\d+)\s*$", re.M)
_RUNNING = re.compile(r"^Process running with session ID (\d+)", re.M)
_PATCH_EXIT = re.compile(r"^Exit code: (-?\d+)")
_TOKEN_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
    "cache_write_input_tokens",
)
# Line types that hold only counts, ids and limits (no text anyone wrote): the privacy
# filter has nothing to do there, and they are a quarter of a rollout's lines.
_NUMBERS_ONLY = frozenset({"token_count", "token_usage_record"})
# Lines whose content later lines depend on (read again when a run resumes mid-file).
_CONTEXT_MARKERS = (
    b'"session_meta"',
    b'"turn_context"',
    b'"token_count"',
    b'"token_usage_record"',
    b'"function_call"',
    b'"thread_settings_applied"',
)
# Codex's service tiers that bill the fast multiplier, and the one that says "not fast"
# (ccusage 20.0.24 reads them the same way; other values leave the tier as it was).
FAST_TIERS = frozenset({"fast", "priority"})
STANDARD_TIERS = frozenset({"default", "standard"})
_CONFIG_TIERS: dict[str, str | None] = {}


def configured_tier(home: Path) -> str | None:
    """``service_tier`` of ``$CODEX_HOME/config.toml`` as ``fast``/``standard`` (or None),
    for rollouts that record none."""
    key = str(home)
    if key not in _CONFIG_TIERS:
        import tomllib

        try:
            value = tomllib.loads((home / "config.toml").read_text()).get("service_tier")
        except (OSError, ValueError, UnicodeDecodeError):
            value = None
        _CONFIG_TIERS[key] = (
            "fast" if value in FAST_TIERS else "standard" if value in STANDARD_TIERS else None
        )
    return _CONFIG_TIERS[key]


def codex_homes(explicit: list[str] | tuple[str, ...] | None = None) -> list[Path]:
    """``explicit`` dirs, else ``$CODEX_HOME``, else ``~/.codex``."""
    if explicit:
        return [Path(p).expanduser() for p in explicit]
    env = os.environ.get("CODEX_HOME", "").strip()
    return [Path(env).expanduser() if env else Path.home() / ".codex"]


def find_rollouts(dirs: list[Path]) -> list[Transcript]:
    """Every rollout under each home's ``sessions/`` and ``archived_sessions/``, each real
    file once; ``rel`` is relative to the home (``sessions/2026/12/01/rollout-….jsonl``)."""
    out: list[Transcript] = []
    seen: set[tuple[int, int]] = set()
    for base in dirs:
        for folder in ("sessions", "archived_sessions"):
            root = base / folder
            if not root.is_dir():
                continue
            root = root.resolve()
            for path, st in walk_jsonl(root):
                if not path.name.startswith("rollout-") or (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                out.append(Transcript(path, f"{folder}/{path.relative_to(root).as_posix()}", st))
    return out


def report_session(rel: str) -> str:
    """ccusage's session id of a rollout: its path under ``sessions/`` without ``.jsonl``
    (``2026/12/01/rollout-…``), or for an archived one just its name."""
    stem = rel[:-6] if rel.endswith(".jsonl") else rel
    if stem.startswith("sessions/"):
        return stem[len("sessions/") :]
    return stem.rsplit("/", 1)[-1]


# ---------------------------------------------------------------- usage arithmetic


def _counts(usage: object) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    out = {}
    for key in _TOKEN_FIELDS:
        value = usage.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            value = 0
        out[key] = value
    if "total_tokens" not in usage:
        out["total_tokens"] = out["input_tokens"] + out["output_tokens"]
    return out


def _minus(total: dict[str, int], before: dict[str, int] | None) -> dict[str, int]:
    if before is None:
        return dict(total)
    return {k: max(0, total[k] - before.get(k, 0)) for k in total}


def _is_zero(usage: dict[str, int]) -> bool:
    return not any(
        usage[k]
        for k in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")
    )


# ---------------------------------------------------------------- tool outcomes


def shell_exit(output: object) -> tuple[int | None, str]:
    """(exit code, state) of an ``exec_command``/``shell`` output text: state is
    ``exited``, ``running`` (the code comes later), ``refused``, ``aborted`` or ``unknown``."""
    if not isinstance(output, str):
        return None, "unknown"
    text = output.lstrip()
    if text.startswith("{"):  # legacy shell tool: {"output": …, "metadata": {"exit_code": N}}
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = None
        meta = data.get("metadata") if isinstance(data, dict) else None
        code = meta.get("exit_code") if isinstance(meta, dict) else None
        if isinstance(code, int) and not isinstance(code, bool):
            return code, "exited"
    found = _EXITED.search(output)
    if found:
        return int(found.group(1)), "exited"
    if _RUNNING.search(output):
        return None, "running"
    head = text[:400]
    if head.startswith("exec_command failed") or "reject command" in head:
        return None, "refused"
    if "aborted by user" in head:
        return None, "aborted"
    return None, "unknown"


def patch_ok(output: object) -> tuple[int | None, bool]:
    """(exit code, succeeded) of an ``apply_patch`` output."""
    if not isinstance(output, str):
        return None, False
    found = _PATCH_EXIT.match(output.lstrip())
    if found:
        code = int(found.group(1))
        return code, code == 0
    code, state = shell_exit(output)
    return code, state == "exited" and code == 0


def _file_change_lines(changes: object) -> tuple[int, int, bool] | None:
    """Exact (added, removed, is_create) of a ``FileChange`` item."""
    if not isinstance(changes, dict):
        return None
    added = removed = 0
    kinds = set()
    for change in changes.values():
        if not isinstance(change, dict):
            continue
        kind = change.get("type")
        kinds.add(kind)
        if kind == "add":
            added += _lines(change.get("content"))
        elif kind == "delete":
            removed += _lines(change.get("content"))
        elif kind == "update":
            for line in str(change.get("unified_diff") or "").splitlines():
                if line.startswith("+") and not line.startswith("+++"):
                    added += 1
                elif line.startswith("-") and not line.startswith("---"):
                    removed += 1
    return added, removed, kinds == {"add"}


def _lines(text: object) -> int:
    if not isinstance(text, str) or not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _arguments(value: object) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def shell_command(args: dict) -> str | None:
    cmd = args.get("cmd", args.get("command"))
    if isinstance(cmd, list):
        parts = [str(p) for p in cmd]
        if len(parts) >= 3 and parts[0].endswith("sh") and parts[1] in ("-lc", "-c"):
            return parts[2]
        return " ".join(parts)
    return cmd if isinstance(cmd, str) else None


# ---------------------------------------------------------------- the reader


class RolloutReader:
    """One rollout file: what its earlier lines said, and lines -> envelopes."""

    def __init__(
        self, tr: Transcript, st: os.stat_result, privacy_mode: str, fh: object, start: int
    ) -> None:
        self.rel = tr.rel
        self.session = report_session(tr.rel)
        self.fallback_session = tr.path.stem
        self.privacy_mode = privacy_mode
        self.captured_at = utc_now()
        mtime = datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="milliseconds")
        self.mtime_iso = mtime.replace("+00:00", "Z")
        self.thread: str | None = None
        self.model: str | None = None
        self.cwd: str | None = None
        self.forked = False
        self.response_id: str | None = None  # of the last token_usage_record
        self.tier: str | None = None  # recorded service tier: fast | standard
        depth = len(Path(tr.rel).parts)  # rel = sessions/…/rollout-… or archived_sessions/…
        home = tr.path.parents[depth - 1] if depth >= 2 else None
        self.config_tier = configured_tier(home) if home is not None else None
        self.last_total: dict[str, int] | None = None
        self.running: dict[str, str] = {}  # exec session id -> the call that started it
        self.calls: dict[str, str] = {}  # call id -> tool name (for the outputs)
        if start > 0:
            self._replay(fh, start)

    def _replay(self, fh, start: int) -> None:
        """Read back what the lines before ``start`` said (a resumed import)."""
        fh.seek(0)
        data = fh.read(start)
        for raw in data.split(b"\n"):
            if any(marker in raw for marker in _CONTEXT_MARKERS):
                try:
                    line = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(line, dict):
                    self._annotate(line)

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
        bp = self._annotate(line)
        payload = line.get("payload")
        if self.privacy_mode != "full":
            if kind_is(line, "session_meta"):
                _digest_instructions(payload)
            elif kind_is(line, "world_state"):
                _digest_world_state(payload)
        _as_conversation(line)
        kind = line.get("type") if isinstance(line.get("type"), str) else "unknown"
        event_type = kind
        if kind in ("event_msg", "response_item") and isinstance(payload, dict):
            sub = payload.get("type")
            if isinstance(sub, str) and sub:
                event_type = sub if kind == "event_msg" else f"item.{sub}"
        counts: dict[str, int] = {}
        if event_type in _NUMBERS_ONLY:
            filtered = dict(line)  # token counts and rate limits: no one's words to filter
        else:
            filtered = filter_payload(line, self.privacy_mode, self.cwd, counts)
        filtered["_file"] = self.rel
        filtered["_line"] = lineno
        filtered["_session"] = self.session
        if bp:
            filtered["_bp"] = bp
        ts = line.get("timestamp")
        # A line's id: its bytes within its thread. Copies of a thread's lines (a resumed
        # file replaying them, an archived file) are the same events; two threads' lines
        # never are, even when byte-identical.
        thread = self.thread or self.fallback_session
        return make_envelope(
            "codex",
            "rollout",
            event_type,
            filtered,
            session_id=thread,
            ts=ts if isinstance(ts, str) and ts else self.mtime_iso,
            event_id=content_id(thread.encode("utf-8", "replace") + b"\x1f" + raw),
            captured_at=self.captured_at,
            redactions=counts,
        )

    def _invalid(self, raw: bytes, lineno: int, error: str) -> dict:
        return invalid_line("codex", "rollout", raw, error, self.privacy_mode,
                            session_id=self.thread or self.fallback_session, ts=self.mtime_iso,
                            captured_at=self.captured_at, _file=self.rel, _line=lineno,
                            _session=self.session)

    # -- what a line means, given the lines before it
    def _annotate(self, line: dict) -> dict | None:
        kind = line.get("type")
        p = line.get("payload")
        if not isinstance(p, dict):
            return None
        if kind == "session_meta":
            thread = p.get("id") or p.get("session_id")
            if isinstance(thread, str) and thread:
                self.thread = thread
            self.cwd = p.get("cwd") if isinstance(p.get("cwd"), str) else self.cwd
            self.forked = bool(p.get("forked_from_id"))
            return None
        if kind == "turn_context":
            if isinstance(p.get("model"), str) and p["model"]:
                self.model = p["model"]
            self.cwd = p.get("cwd") if isinstance(p.get("cwd"), str) else self.cwd
            return {"model": self.model} if self.model else None
        if kind == "token_usage_record":
            return self._record(p)
        if kind == "compacted":
            record = p.get("latest_token_usage_record")
            if isinstance(record, dict) and isinstance(record.get("thread_token_usage"), dict):
                self.last_total = _counts(record["thread_token_usage"])
            return None
        sub = p.get("type")
        if kind == "event_msg":
            if sub == "token_count":
                return self._token_count(p)
            if sub == "thread_settings_applied":
                settings = p.get("thread_settings")
                tier = settings.get("service_tier") if isinstance(settings, dict) else None
                if tier in FAST_TIERS:
                    self.tier = "fast"
                elif tier in STANDARD_TIERS:
                    self.tier = "standard"
                return None
            if sub == "item_completed":
                return self._item(p.get("item"))
            return None
        if kind == "response_item":
            return self._response_item(sub, p)
        return None

    def _usage(self, usage: dict[str, int], key: str | None) -> dict:
        out = {"usage": usage, "model": self.model, "key": key, "thread": self.thread}
        if (self.tier or self.config_tier) == "fast":
            out["speed"] = "fast"
        return out

    def _record(self, p: dict) -> dict | None:
        """A ``token_usage_record`` (0.171+): the response id of the usage that the next
        ``token_count`` reports (usage itself is counted from ``token_count``, as ccusage
        does, so both date it alike)."""
        rid = p.get("response_id")
        self.response_id = rid if isinstance(rid, str) and rid else None
        return None

    def _token_count(self, p: dict) -> dict | None:
        info = p.get("info")
        if not isinstance(info, dict):
            return None
        total = _counts(info.get("total_token_usage"))
        last = _counts(info.get("last_token_usage"))
        previous, self.last_total = self.last_total, total or self.last_total
        if total is not None and previous is not None and total == previous:
            return None  # the same report written twice
        if last is not None:
            if _is_zero(last):
                return None  # the context estimate written after a compaction
            usage = last
        elif total is not None:
            if previous is None and self.forked:
                return None  # a fork's first total is its parent's
            usage = _minus(total, previous)
            if _is_zero(usage):
                return None
        else:
            return None
        key = (
            f"total:{self.thread}:{total['total_tokens']}:{total['input_tokens']}"
            if total is not None and self.thread
            else None
        )
        out = self._usage(usage, key)
        if self.response_id is not None:
            out["response_id"], self.response_id = self.response_id, None
        return out

    def _response_item(self, sub: object, p: dict) -> dict | None:
        call_id = p.get("call_id") if isinstance(p.get("call_id"), str) else None
        if sub in ("function_call", "local_shell_call") and call_id:
            name = p.get("name") if isinstance(p.get("name"), str) else "shell"
            args = _arguments(p.get("arguments") if sub == "function_call" else p.get("action"))
            if name == "write_stdin":  # a poll of a running command, not a call of its own
                session = args.get("session_id")
                if session is not None and str(session) in self.running:
                    self.calls[call_id] = f"poll:{self.running[str(session)]}"
                return None
            if name in SHELL_TOOLS or sub == "local_shell_call":
                command = shell_command(args) or ""
                if command.startswith("apply_patch"):
                    self.calls[call_id] = "apply_patch"
                    return {
                        "call": {
                            "id": call_id,
                            "tool": "apply_patch",
                            "model": self.model,
                            "lines": list(_patch_of(command)),
                        }
                    }
                self.calls[call_id] = "Bash"
                return {"call": {"id": call_id, "tool": "Bash", "model": self.model}}
            self.calls[call_id] = name
            return {"call": {"id": call_id, "tool": name, "model": self.model}}
        if sub == "custom_tool_call" and call_id:
            name = p.get("name") if isinstance(p.get("name"), str) else "custom"
            self.calls[call_id] = name
            out: dict = {"id": call_id, "tool": name, "model": self.model}
            if name == "apply_patch":
                out["lines"] = list(_patch_of(p.get("input")))
            return {"call": out}
        if sub == "function_call_output" and call_id:
            tool = self.calls.get(call_id, "")
            output = p.get("output")
            if isinstance(output, dict):
                output = (
                    output.get("content")
                    if isinstance(output.get("content"), str)
                    else orjson.dumps(output).decode()
                )
            if tool.startswith("poll:"):
                code, state = shell_exit(output)
                return (
                    {"result": {"id": tool[5:], "exit": code, "ok": code == 0}}
                    if state == "exited"
                    else None
                )
            if tool == "apply_patch":
                code, ok = patch_ok(output)
                return {"result": {"id": call_id, "exit": code, "ok": ok}}
            if tool == "Bash":
                code, state = shell_exit(output)
                if state == "running":
                    found = _RUNNING.search(output or "")
                    if found:
                        self.running[found.group(1)] = call_id
                    return None
                if state in ("refused", "aborted"):
                    return {"result": {"id": call_id, "exit": None, "ok": False, "state": state}}
                if state == "exited":
                    return {"result": {"id": call_id, "exit": code, "ok": code == 0}}
                return None
            return {"result": {"id": call_id, "ok": True}} if tool else None
        if sub == "custom_tool_call_output" and call_id:
            code, ok = patch_ok(p.get("output"))
            return {"result": {"id": call_id, "exit": code, "ok": ok}}
        return None

    def _item(self, item: object) -> dict | None:
        if not isinstance(item, dict):
            return None
        kind, item_id = item.get("type"), item.get("id")
        if not isinstance(item_id, str):
            return None
        if kind == "CommandExecution":
            code = item.get("exit_code")
            if isinstance(code, int) and not isinstance(code, bool):
                return {"result": {"id": item_id, "exit": code, "ok": code == 0}}
            return None
        if kind == "FileChange":
            lines = _file_change_lines(item.get("changes"))
            ok = item.get("status") in (None, "completed", "success")
            out: dict = {"id": item_id, "ok": ok}
            if lines is not None:
                out["lines"] = list(lines)
            return {"result": out}
        return None


def _as_conversation(line: dict) -> None:
    """A prompt or an answer (``item_completed`` UserMessage/AgentMessage, an older
    ``user_message``/``agent_message``) is conversation: moved to a ``message`` with text
    blocks, the shape the privacy filter keeps (redacted) as Claude Code's conversation,
    instead of summarising it away like a file's content."""
    p = line.get("payload")
    if line.get("type") != "event_msg" or not isinstance(p, dict):
        return
    role = None
    if p.get("type") == "item_completed" and isinstance(p.get("item"), dict):
        item = p["item"]
        role = {"UserMessage": "user", "AgentMessage": "assistant"}.get(item.get("type"))
        if role is None:
            return
        content = item.pop("content", None)
        texts = (
            [c.get("text") for c in content if isinstance(c, dict)]
            if isinstance(content, list)
            else [content]
        )
    elif p.get("type") in ("user_message", "agent_message"):
        role = "user" if p["type"] == "user_message" else "assistant"
        texts = [p.pop("message", None)]
    else:
        return
    blocks = [{"type": "text", "text": t} for t in texts if isinstance(t, str)]
    line["message"] = {"role": role, "content": blocks}


def conversation_text(envelope_payload: dict) -> object:
    """The text of a prompt or answer moved by ``_as_conversation`` (after filtering)."""
    message = envelope_payload.get("message")
    blocks = message.get("content") if isinstance(message, dict) else None
    texts = [b.get("text") for b in blocks or () if isinstance(b, dict)]
    if len(texts) == 1:
        return texts[0]
    strings = [t for t in texts if isinstance(t, str)]
    return "\n".join(strings) if strings else (texts[0] if texts else None)


def kind_is(line: dict, kind: str) -> bool:
    return line.get("type") == kind


def _digest_instructions(payload: object) -> None:
    """Codex's own system prompt (``session_meta.base_instructions.text``, ~20 kB, the same
    in every session and no user's words) is kept as its size and hash: redacting it cost
    a quarter of an import's time for nothing."""
    import hashlib

    base = payload.get("base_instructions") if isinstance(payload, dict) else None
    text = base.get("text") if isinstance(base, dict) else None
    if isinstance(text, str):
        base["text"] = {
            "redacted": True,
            "chars": len(text),
            "sha256": hashlib.sha256(text.encode("utf-8", "replace")).hexdigest(),
        }


def _digest_world_state(payload: object) -> None:
    """``world_state.state`` is Codex's view of its environment (the skills and tools it
    offers, sandboxes, permissions: ~6 kB per turn), which no analysis reads; redacting it
    cost a quarter of an import's time. Kept as its size and hash."""
    import hashlib

    state = payload.get("state") if isinstance(payload, dict) else None
    if isinstance(state, (dict, list)):
        blob = orjson.dumps(state, option=orjson.OPT_SORT_KEYS)
        payload["state"] = {
            "redacted": True,
            "chars": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
        }


def _patch_of(value: object) -> tuple[int, int, bool]:
    from blueplane_pipeline.analytics.classify import apply_patch_lines

    text = value if isinstance(value, str) else ""
    start = text.find("*** Begin Patch")
    return apply_patch_lines(text[start:] if start >= 0 else text)


JSONL = JsonlSource(
    state_source=SOURCE,
    find=find_rollouts,
    reader=RolloutReader,
    known_types=frozenset(),
    noun="rollout",
    where=lambda dirs: ", ".join(f"{d}/sessions and {d}/archived_sessions" for d in dirs),
)


import_rollouts = JSONL.read
changed_signatures = JSONL.changed


def response_usage(path: Path) -> list[dict]:
    """Per model response of one rollout, in the order Codex wrote them: ``thread_id``,
    ``n`` (0-based position of the response within its thread in this file),
    ``response_id`` (0.171+; ``None`` in older rollouts), ``ts``, ``model`` and the usage
    (``input_tokens`` including cached, ``cached_input_tokens``, ``output_tokens``
    including reasoning, ``reasoning_output_tokens``, ``total_tokens``), each response once
    by the importer's rules. For joining Codex's OTLP ``codex.sse_event`` records
    (``event.kind = response.completed`` with token counts; they carry no response id):
    group those by ``conversation.id`` (= ``thread_id``), order by ``event.timestamp``,
    and the n-th is response ``n`` here."""
    path = Path(path)
    st = path.stat()
    tr = Transcript(path, path.name, st)
    out: list[dict] = []
    per_thread: dict[str, int] = {}
    with path.open("rb") as fh:
        reader = RolloutReader(tr, st, "full", fh, 0)
        for raw in path.read_bytes().splitlines():
            try:
                line = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            bp = reader._annotate(line) if isinstance(line, dict) else None
            usage = bp.get("usage") if isinstance(bp, dict) else None
            if not isinstance(usage, dict):
                continue
            thread = bp.get("thread") or reader.fallback_session
            n = per_thread.get(thread, 0)
            per_thread[thread] = n + 1
            out.append(
                {
                    "thread_id": thread,
                    "n": n,
                    "response_id": bp.get("response_id"),
                    "ts": line.get("timestamp"),
                    "model": bp.get("model"),
                    **{
                        k: usage[k]
                        for k in (
                            "input_tokens",
                            "cached_input_tokens",
                            "output_tokens",
                            "reasoning_output_tokens",
                            "total_tokens",
                        )
                    },
                }
            )
    return out

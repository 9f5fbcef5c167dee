"""Privacy filter applied to every payload before it leaves the capturing process.

Modes (``config.toml`` ``privacy_mode``):

- ``full``: keep everything.
- ``standard`` (default): keep prompt text and titles with secrets redacted; replace file
  contents and tool output text with their size and line count; keep paths relative to the
  project, and edit hunks reduced to their added/removed line counts.
- ``strict``: like standard, and prompts/assistant text become length + hash, paths only
  their extension.

Standard library only (used by the hook).
"""

from __future__ import annotations

import os

from blueplane_pipeline.core import redaction
from blueplane_pipeline.core.redaction import REDACTED, redact_output_head

Counts = dict[str, int] | None

# Values under these keys are file contents or tool output: summarised outside ``full``.
CONTENT_KEYS = frozenset(
    {
        "content", "old_string", "new_string", "new_source", "stdout", "stderr", "output",
        "originalFile", "oldString", "newString", "result", "text_content", "file_content",
        "tool_response", "toolUseResult", "response",
        # Cursor: afterShellExecution/postToolUse output, afterMCPExecution result
        "tool_output", "result_json",
        # Gemini CLI AfterTool responses
        "llmContent", "returnDisplay", "newContent", "originalContent", "fileDiff", "diff",
    }
)
# A failed tool's message: tool output, of which ``standard`` keeps the first line
# (``error_head``) so the failure can still be classified.
ERROR_KEYS = frozenset({"error", "error_message"})
PATH_KEYS = frozenset({"file_path", "notebook_path", "path", "filePath", "fileName"})
# The conversation: what the user typed and what the assistant answered.
PROMPT_KEYS = frozenset(
    {
        "prompt", "text",
        "last_assistant_message", "delta", "compact_summary", "custom_instructions",  # Claude
        "prompt_response",  # Gemini AfterAgent
        "agent_message",  # Cursor
        "parts",  # Gemini model output, a list of strings
        "summary", "customTitle", "title", "message",  # titles, notifications
    }
)
# In ``strict`` every other string becomes length + hash, except under these keys, whose
# values are ids, names, enums and times the analytics join and group on (and the project
# directory, which names the project).
STRUCTURAL_KEYS = frozenset(
    {
        "id", "uuid", "type", "subtype", "role", "name", "status", "kind", "mode", "level",
        "source",
        "reason", "trigger", "hook_event_name", "event", "tool_name", "toolName", "tool",
        "server", "model", "permission_mode", "notification_type", "stop_reason",
        "finishReason", "behavior", "destination", "version", "cursor_version",
        "userType", "timestamp", "logged_at", "ts", "agent_type", "subagent_type",
        "agentType", "resolvedModel", "failure_type", "composer_mode", "service_tier",
        "speed", "cwd", "workspace_roots", "transcript_path", "agent_transcript_path",
        "gitBranch", "entrypoint", "operation", "effort", "matcher", "media_type",
    }
)
# Identifiers inside tool output: never content, and analytics join on them.
ID_KEYS = frozenset({"type", "tool_use_id", "id", "name"})
# Fixed phrases Claude Code writes for refusals and interrupts. They are the tool's words,
# not the user's content, and analytics classify tool outcomes by them, so they survive
# the filter (in ``strict`` only the phrase itself, not what follows it).
OUTCOME_MARKERS = (
    "The user doesn't want to proceed with this tool use",
    "The user doesn't want to take this action right now",
    "Claude requested permissions to",
    "[Request interrupted by user",
    "User rejected tool use",
)
# Newer CLIs (2.1.33x) word a permission-rule refusal as "<command> in '<path>' needs
# approval. ...": the phrase sits inside the first sentence, not at its start.
OUTCOME_PHRASES_WITHIN = ("needs approval.",)
MARKER_KEEP_CHARS = 300
ERROR_HEAD_CHARS = 200


def redact(text: str, counts: Counts = None) -> str:
    """Secrets replaced by ``[REDACTED]`` (the rule set: ``core.redaction``)."""
    return redaction.redact(text, counts)


def text_lines(text: str) -> int:
    """Lines of a text the way editors and ``wc -l`` + 1-if-unterminated count them: each
    line ends with a newline, and a last line without one still counts
    (``"a\nb\n"`` and ``"a\nb"`` are 2 lines, ``""`` is 0). The one line formula: the
    summaries below and ``analytics.classify.line_count`` both use it."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def summarize_text(text: str) -> dict:
    return {"redacted": True, "chars": len(text), "lines": text_lines(text)}


def _sha256(data: bytes) -> str:
    import hashlib  # only strict mode needs it; the hook skips the import otherwise

    return hashlib.sha256(data).hexdigest()


def digest_text(text: str) -> dict:
    return {"redacted": True, "chars": len(text),
            "sha256": _sha256(text.encode("utf-8", "replace"))}


def outcome_marker(text: str) -> str | None:
    """The refusal/interrupt phrase ``text`` starts with (or, for the newer wording, holds
    in its first sentence), if any."""
    for marker in OUTCOME_MARKERS:
        if text.startswith(marker):
            return marker
    head = text[:MARKER_KEEP_CHARS]
    for phrase in OUTCOME_PHRASES_WITHIN:
        if phrase in head:
            return phrase
    return None


def tool_output_text(text: str, mode: str, counts: Counts = None) -> object:
    """Tool output is summarised, except Claude Code's own refusal/interrupt messages."""
    marker = outcome_marker(text)
    if marker is None:
        return summarize_text(text)
    return marker if mode == "strict" else redact_output_head(text[:MARKER_KEEP_CHARS], counts)


def conversation_text(text: str, mode: str, counts: Counts = None) -> object:
    """Prompt or assistant text: redacted in ``standard``, length + hash in ``strict``."""
    if mode != "strict":
        return redact(text, counts)
    return outcome_marker(text) or digest_text(text)


def summarize_patch(hunks: object) -> object:
    """Keep hunk geometry and +/- counts (how Claude Code counts lines), drop the text."""
    if not isinstance(hunks, list):
        return hunks
    out = []
    for hunk in hunks:
        if not isinstance(hunk, dict):
            continue
        lines = hunk.get("lines") or []
        out.append(
            {
                **{k: hunk[k] for k in ("oldStart", "oldLines", "newStart", "newLines")
                   if k in hunk},
                "added": sum(1 for ln in lines if isinstance(ln, str) and ln.startswith("+")),
                "removed": sum(1 for ln in lines if isinstance(ln, str) and ln.startswith("-")),
            }
        )
    return out


def relative_path(path: str, cwd: str | None) -> str:
    if cwd and os.path.isabs(path):
        try:
            rel = os.path.relpath(path, cwd)
        except ValueError:
            return path
        if not rel.startswith(".."):
            return rel
    return path


def extension_only(path: str) -> str:
    """``*.py``; ``*`` when the name has no extension or what follows its last dot is not
    one (``"… bob@example.com"`` must not keep ``.com …``)."""
    ext = os.path.splitext(path)[1]
    if not ext or len(ext) > 17 or not ext[1:].replace("_", "").replace("-", "").isalnum():
        return "*"
    return f"*{ext}"


def kept_path(path: str, mode: str, cwd: str | None, counts: Counts) -> str:
    """A path as ``mode`` keeps it: its extension (``strict``), else relative to the project
    with any secret in it redacted."""
    if mode == "strict":
        return extension_only(path)
    return redact(relative_path(path, cwd), counts)


def filter_payload(payload: object, mode: str, cwd: str | None = None,
                   counts: Counts = None) -> object:
    """Return a copy of ``payload`` with what ``mode`` forbids removed; ``counts`` (if
    given) gains how many secrets each redaction rule replaced."""
    if mode == "full":
        return payload
    if cwd is None and isinstance(payload, dict):
        cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    out = _walk(payload, mode, cwd, None, counts)
    if isinstance(payload, dict) and payload.get("tool_name") == "apply_patch":
        _patch_command_is_content(payload, out, mode)
    return out


def _patch_command_is_content(payload: dict, out: dict, mode: str) -> None:
    """Codex's ``apply_patch`` carries the patch (file contents) as its ``command``."""
    inp, kept = payload.get("tool_input"), out.get("tool_input")
    if isinstance(inp, dict) and isinstance(kept, dict) and isinstance(inp.get("command"), str):
        kept["command"] = summarize_text(inp["command"])


def _walk(value: object, mode: str, cwd: str | None, key: str | None,
          counts: Counts) -> object:
    if isinstance(value, dict):
        # The common keys (ids, flags, numbers, plain strings) are handled inline: this loop
        # runs for every key of every event, and calls dominate its cost.
        out = {}
        for k, v in value.items():
            if k in _SPECIAL_KEYS:
                if k in ERROR_KEYS and isinstance(v, str):
                    out[k] = tool_output_text(v, mode, counts)
                    head = error_head(v, counts) if mode == "standard" else None
                    if head is not None and out[k] != v:
                        out["error_head"] = head  # classifies the failure, not its output
                else:
                    out[k] = _walk_item(k, v, mode, cwd, counts)
            elif isinstance(v, str):
                if len(v) >= 4 and redaction.is_secret_key(k):
                    out[k] = _secret_field(v, counts)
                elif mode == "standard":
                    out[k] = redact(v, counts)
                else:
                    out[k] = _strict_text(v, k, counts)
            elif isinstance(v, (dict, list)):
                out[k] = _walk(v, mode, cwd, k, counts)
            else:
                out[k] = v
        return out
    if isinstance(value, list):
        return [_walk(v, mode, cwd, key, counts) for v in value]
    if isinstance(value, str):
        return redact(value, counts) if mode == "standard" else _strict_text(value, key, counts)
    return value


def _secret_field(value: str, counts: Counts) -> str:
    """The value of ``{"password": …}``-like keys: the whole of it is the secret."""
    if redaction.secret_value(value):
        if counts is not None:
            counts[redaction.SECRET_KEY_RULE] = counts.get(redaction.SECRET_KEY_RULE, 0) + 1
        return REDACTED
    return value


def _strict_text(text: str, key: str | None, counts: Counts) -> object:
    """``strict`` keeps ids, names, enums and times; every other text is length + hash."""
    if key is not None and (key in STRUCTURAL_KEYS or key.endswith(_ID_SUFFIXES)):
        return redact(text, counts)
    return outcome_marker(text) or digest_text(text)


def _walk_item(key: str, value: object, mode: str, cwd: str | None, counts: Counts) -> object:
    if key == "message" and isinstance(value, dict):
        return _walk_message(value, mode, cwd, counts)
    if key == "structuredPatch":
        return summarize_patch(value)
    if key in PATH_KEYS and isinstance(value, str):
        return kept_path(value, mode, cwd, counts)
    if key in CONTENT_KEYS:
        return _summarize_content(value, mode, cwd, counts)
    if key in PROMPT_KEYS:
        if isinstance(value, str):
            return digest_text(value) if mode == "strict" else redact(value, counts)
        if key == "parts" and isinstance(value, list):
            return [conversation_text(v, mode, counts) if isinstance(v, str)
                    else _walk(v, mode, cwd, key, counts) for v in value]
    return _walk(value, mode, cwd, key, counts)


def _walk_message(message: dict, mode: str, cwd: str | None, counts: Counts) -> dict:
    """A transcript message: its ``content`` is the conversation (text, tool calls, tool
    results), not a file's contents, so it is filtered block by block."""
    out = {}
    for key, value in message.items():
        if key != "content":
            out[key] = _walk_item(key, value, mode, cwd, counts)
        elif isinstance(value, str):
            out[key] = conversation_text(value, mode, counts)
        elif isinstance(value, list):
            out[key] = [_walk_block(block, mode, cwd, counts) for block in value]
        else:
            out[key] = _walk(value, mode, cwd, key, counts)
    return out


def _walk_block(block: object, mode: str, cwd: str | None, counts: Counts) -> object:
    """One content block: text/thinking kept as conversation; tool_use input filtered like a
    hook's ``tool_input``; tool_result content and images summarised."""
    if not isinstance(block, dict):
        return _walk(block, mode, cwd, None, counts)
    kind = block.get("type")
    if kind in ("text", "thinking"):
        return {k: conversation_text(v, mode, counts) if k == kind and isinstance(v, str)
                else _walk_item(k, v, mode, cwd, counts) for k, v in block.items()}
    if kind in ("image", "document"):
        return _walk_structured(block, mode, cwd, counts)
    out = _walk(block, mode, cwd, None, counts)
    if kind == "tool_result" and block.get("is_error") is True and mode == "standard":
        head = error_head(block.get("content"), counts)
        if head is not None and isinstance(out, dict) and out.get("content") != block.get(
                "content"):
            out["error_head"] = head  # enough to classify the failure, not the tool's output
    return out


def error_head(content: object, counts: Counts = None) -> str | None:
    """The first line of a failed tool's message, at most 200 chars, with secrets, card
    numbers and email addresses redacted."""
    if isinstance(content, list):
        content = next((b.get("text") for b in content
                        if isinstance(b, dict) and isinstance(b.get("text"), str)), None)
    if not isinstance(content, str) or not content.strip():
        return None
    return redact_output_head(content.strip().split("\n", 1)[0][:ERROR_HEAD_CHARS], counts)


def _summarize_content(value: object, mode: str, cwd: str | None, counts: Counts) -> object:
    if isinstance(value, str):
        return tool_output_text(value, mode, counts)
    if isinstance(value, (dict, list)):
        # Structured output (e.g. an Edit's response) keeps its shape; its texts are summarised.
        return _walk_structured(value, mode, cwd, counts)
    return value


def _walk_structured(value: object, mode: str, cwd: str | None, counts: Counts) -> object:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "structuredPatch":
                out[k] = summarize_patch(v)
            elif k in PATH_KEYS and isinstance(v, str):
                out[k] = kept_path(v, mode, cwd, counts)
            elif isinstance(v, str):
                if k in ID_KEYS or (len(v) <= 64 and k in _SHORT_KEYS):
                    out[k] = redact(v, counts)
                else:
                    out[k] = tool_output_text(v, mode, counts)
            else:
                out[k] = _walk_structured(v, mode, cwd, counts)
        return out
    if isinstance(value, list):
        return [_walk_structured(v, mode, cwd, counts) for v in value]
    if isinstance(value, str):
        return tool_output_text(value, mode, counts)
    return value


# Keys ``_walk_item`` treats specially; every other key is walked generically.
_SPECIAL_KEYS = (frozenset({"message", "structuredPatch"}) | PATH_KEYS | CONTENT_KEYS
                 | PROMPT_KEYS | ERROR_KEYS)
_ID_SUFFIXES = ("_id", "Id", "_ids", "Ids", "uuid", "Uuid", "_at", "At")

# Short, non-content strings inside tool output worth keeping (status words, kinds).
_SHORT_KEYS = frozenset(
    {"type", "status", "kind", "mode", "interrupted", "is_error", "userModified"})

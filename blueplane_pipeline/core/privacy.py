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
import re

REDACTED = "[REDACTED]"
# (pattern, replacement): the replacement keeps any harmless prefix (``password=``, ``://``).
SECRET_PATTERNS = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     REDACTED),
    (re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}"), REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), REDACTED),
    (re.compile(r"\bxox[abpr]-[A-Za-z0-9\-]{10,}"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"), REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._\-]{16,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b((?:api[_-]?key|secret|token|password|passwd)\s*[=:]\s*)[\"']?[^\s\"']{6,}"),
     r"\1" + REDACTED),
    (re.compile(r"(://[^/\s:@]+):[^/\s@]+@"), r"\1:" + REDACTED + "@"),
]

# Values under these keys are file contents or tool output: summarised outside ``full``.
CONTENT_KEYS = frozenset(
    {
        "content", "old_string", "new_string", "new_source", "stdout", "stderr", "output",
        "originalFile", "oldString", "newString", "result", "text_content", "file_content",
        "tool_response", "toolUseResult", "response",
    }
)
PATH_KEYS = frozenset({"file_path", "notebook_path", "path", "filePath"})
PROMPT_KEYS = frozenset({"prompt", "text"})
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


def may_hold_secret(text: str) -> bool:
    """Cheap pre-check: each secret pattern above needs one of these substrings (and at
    least 7 characters). Most strings hold none, and skipping the regexes for them makes
    the filter ~3x faster on real transcripts. Keep in step with ``SECRET_PATTERNS``."""
    if len(text) < 7:
        return False
    if ("://" in text or "sk-" in text or "-----BEGIN" in text or "xox" in text
            or "AKIA" in text or "AIza" in text):
        return True
    if "_" in text and ("hp_" in text or "ho_" in text or "hu_" in text or "hs_" in text
                        or "hr_" in text):
        return True
    lower = text.lower()
    return ("key" in lower or "token" in lower or "secret" in lower or "passw" in lower
            or "bearer" in lower)


def redact(text: str) -> str:
    if len(text) < 7 or not may_hold_secret(text):
        return text
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


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


def tool_output_text(text: str, mode: str) -> object:
    """Tool output is summarised, except Claude Code's own refusal/interrupt messages."""
    marker = outcome_marker(text)
    if marker is None:
        return summarize_text(text)
    return marker if mode == "strict" else redact(text[:MARKER_KEEP_CHARS])


def conversation_text(text: str, mode: str) -> object:
    """Prompt or assistant text: redacted in ``standard``, length + hash in ``strict``."""
    if mode != "strict":
        return redact(text)
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
    ext = os.path.splitext(path)[1]
    return f"*{ext}" if ext else "*"


def filter_payload(payload: object, mode: str, cwd: str | None = None) -> object:
    """Return a copy of ``payload`` with what ``mode`` forbids removed."""
    if mode == "full":
        return payload
    if cwd is None and isinstance(payload, dict):
        cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    return _walk(payload, mode, cwd, key=None)


def _walk(value: object, mode: str, cwd: str | None, key: str | None) -> object:
    if isinstance(value, dict):
        # The common keys (ids, flags, numbers, plain strings) are handled inline: this loop
        # runs for every key of every event, and calls dominate its cost.
        out = {}
        for k, v in value.items():
            if k in _SPECIAL_KEYS:
                out[k] = _walk_item(k, v, mode, cwd)
            elif isinstance(v, str):
                out[k] = redact(v) if mode == "standard" else _strict_text(v, k)
            elif isinstance(v, (dict, list)):
                out[k] = _walk(v, mode, cwd, k)
            else:
                out[k] = v
        return out
    if isinstance(value, list):
        return [_walk(v, mode, cwd, key) for v in value]
    if isinstance(value, str):
        return redact(value) if mode == "standard" else _strict_text(value, key)
    return value


def _strict_text(text: str, key: str | None) -> object:
    return digest_text(text) if key in PROMPT_KEYS else redact(text)


def _walk_item(key: str, value: object, mode: str, cwd: str | None) -> object:
    if key == "message" and isinstance(value, dict):
        return _walk_message(value, mode, cwd)
    if key == "structuredPatch":
        return summarize_patch(value)
    if key in PATH_KEYS and isinstance(value, str):
        return extension_only(value) if mode == "strict" else relative_path(value, cwd)
    if key in CONTENT_KEYS:
        return _summarize_content(value, mode, cwd)
    if key in PROMPT_KEYS and isinstance(value, str):
        return digest_text(value) if mode == "strict" else redact(value)
    return _walk(value, mode, cwd, key)


def _walk_message(message: dict, mode: str, cwd: str | None) -> dict:
    """A transcript message: its ``content`` is the conversation (text, tool calls, tool
    results), not a file's contents, so it is filtered block by block."""
    out = {}
    for key, value in message.items():
        if key != "content":
            out[key] = _walk_item(key, value, mode, cwd)
        elif isinstance(value, str):
            out[key] = conversation_text(value, mode)
        elif isinstance(value, list):
            out[key] = [_walk_block(block, mode, cwd) for block in value]
        else:
            out[key] = _walk(value, mode, cwd, key)
    return out


def _walk_block(block: object, mode: str, cwd: str | None) -> object:
    """One content block: text/thinking kept as conversation; tool_use input filtered like a
    hook's ``tool_input``; tool_result content and images summarised."""
    if not isinstance(block, dict):
        return _walk(block, mode, cwd, None)
    kind = block.get("type")
    if kind in ("text", "thinking"):
        return {k: conversation_text(v, mode) if k == kind and isinstance(v, str)
                else _walk_item(k, v, mode, cwd) for k, v in block.items()}
    if kind in ("image", "document"):
        return _walk_structured(block, mode, cwd)
    out = _walk(block, mode, cwd, None)
    if kind == "tool_result" and block.get("is_error") is True and mode == "standard":
        head = error_head(block.get("content"))
        if head is not None and isinstance(out, dict) and out.get("content") != block.get(
                "content"):
            out["error_head"] = head  # enough to classify the failure, not the tool's output
    return out


def error_head(content: object) -> str | None:
    """The first line of a failed tool's message (secrets redacted, at most 200 chars)."""
    if isinstance(content, list):
        content = next((b.get("text") for b in content
                        if isinstance(b, dict) and isinstance(b.get("text"), str)), None)
    if not isinstance(content, str) or not content.strip():
        return None
    return redact(content.strip().split("\n", 1)[0][:ERROR_HEAD_CHARS])


def _summarize_content(value: object, mode: str, cwd: str | None) -> object:
    if isinstance(value, str):
        return tool_output_text(value, mode)
    if isinstance(value, (dict, list)):
        # Structured output (e.g. an Edit's response) keeps its shape; its texts are summarised.
        return _walk_structured(value, mode, cwd)
    return value


def _walk_structured(value: object, mode: str, cwd: str | None) -> object:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "structuredPatch":
                out[k] = summarize_patch(v)
            elif k in PATH_KEYS and isinstance(v, str):
                out[k] = extension_only(v) if mode == "strict" else relative_path(v, cwd)
            elif isinstance(v, str):
                if k in ID_KEYS or (len(v) <= 64 and k in _SHORT_KEYS):
                    out[k] = v
                else:
                    out[k] = tool_output_text(v, mode)
            else:
                out[k] = _walk_structured(v, mode, cwd)
        return out
    if isinstance(value, list):
        return [_walk_structured(v, mode, cwd) for v in value]
    if isinstance(value, str):
        return tool_output_text(value, mode)
    return value


# Keys ``_walk_item`` treats specially; every other key is walked generically.
_SPECIAL_KEYS = frozenset({"message", "structuredPatch"}) | PATH_KEYS | CONTENT_KEYS | PROMPT_KEYS

# Short, non-content strings inside tool output worth keeping (status words, kinds).
_SHORT_KEYS = frozenset(
    {"type", "status", "kind", "mode", "interrupted", "is_error", "userModified"})

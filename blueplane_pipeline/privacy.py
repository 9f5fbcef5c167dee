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

import hashlib
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


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def summarize_text(text: str) -> dict:
    return {"redacted": True, "chars": len(text), "lines": text.count("\n") + (1 if text else 0)}


def digest_text(text: str) -> dict:
    return {"redacted": True, "chars": len(text),
            "sha256": hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()}


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
                **{k: hunk[k] for k in ("oldStart", "oldLines", "newStart", "newLines") if k in hunk},
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
        return {k: _walk_item(k, v, mode, cwd) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, mode, cwd, key) for v in value]
    if isinstance(value, str):
        return redact(value) if mode == "standard" else _strict_text(value, key)
    return value


def _strict_text(text: str, key: str | None) -> object:
    return digest_text(text) if key in PROMPT_KEYS else redact(text)


def _walk_item(key: str, value: object, mode: str, cwd: str | None) -> object:
    if key == "structuredPatch":
        return summarize_patch(value)
    if key in PATH_KEYS and isinstance(value, str):
        return extension_only(value) if mode == "strict" else relative_path(value, cwd)
    if key in CONTENT_KEYS:
        return _summarize_content(value, mode, cwd)
    if key in PROMPT_KEYS and isinstance(value, str):
        return digest_text(value) if mode == "strict" else redact(value)
    return _walk(value, mode, cwd, key)


def _summarize_content(value: object, mode: str, cwd: str | None) -> object:
    if isinstance(value, str):
        return summarize_text(value)
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
            elif isinstance(v, str) and k not in ("type", "tool_use_id", "id", "name"):
                out[k] = v if len(v) <= 64 and k in _SHORT_KEYS else summarize_text(v)
            else:
                out[k] = _walk_structured(v, mode, cwd)
        return out
    if isinstance(value, list):
        return [_walk_structured(v, mode, cwd) for v in value]
    if isinstance(value, str):
        return summarize_text(value)
    return value


# Short, non-content strings inside tool output worth keeping (status words, kinds).
_SHORT_KEYS = frozenset({"type", "status", "kind", "mode", "interrupted", "is_error", "userModified"})

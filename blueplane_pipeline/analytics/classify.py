"""Small pure rules: tool outcomes, error classes, edit line counts, fingerprints.

Payloads arrive after the privacy filter, so every text may be a string or a summary
``{"redacted": true, "chars", "lines"}`` / digest ``{"redacted": true, "chars", "sha256"}``;
every rule here accepts both.
"""

from __future__ import annotations

import hashlib
import os
import re

import orjson

from blueplane_pipeline.core.privacy import text_lines

# Claude Code's edit tools, Cursor's afterFileEdit hook (cursor_edit) and Cursor agent tools.
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit", "cursor_edit",
                        "edit_file", "search_replace", "write", "apply_patch"})
SUBAGENT_TOOLS = frozenset({"Task", "Agent"})
PATH_INPUT_KEYS = ("file_path", "notebook_path", "path", "filePath")

# Claude Code's own fixed phrases (they survive the privacy filter in every mode).
REJECTED_PREFIXES = (
    ("The user doesn't want to proceed with this tool use", "user_rejected"),
    ("User rejected tool use", "user_rejected"),
    ("Claude requested permissions to", "permission_denied"),
)
# Newer CLIs (2.1.33x) word a refusal by the permission rules as "<command> in '<dir>' needs
# approval. …": the phrase sits inside the first sentence rather than at its start.
REJECTED_WITHIN_FIRST_SENTENCE = (("needs approval.", "permission_denied"),)
INTERRUPTED_PREFIXES = (
    "The user doesn't want to take this action right now",
    "[Request interrupted by user",
)
INTERRUPT_MARKER = "[Request interrupted by user"

_ERROR_CLASSES = [
    ("input_validation", re.compile(r"InputValidationError|invalid_type|Invalid tool parameters")),
    ("file_not_read", re.compile(r"has not been read yet|File must be read first", re.I)),
    ("string_not_found", re.compile(r"String to replace not found|old_string.*not found", re.I)),
    ("not_found", re.compile(r"No such file|does not exist|not found|ENOENT", re.I)),
    ("http_error", re.compile(r"status code \d{3}|HTTP [45]\d\d", re.I)),
    ("timeout", re.compile(r"timed? ?out", re.I)),
    ("exit_code", re.compile(r"exit code|exited with", re.I)),
]


_COMMAND = re.compile(r"<command-name>\s*(.*?)\s*</command-name>", re.S)
_COMMAND_ARGS = re.compile(r"<command-args>\s*(.*?)\s*</command-args>", re.S)


def as_typed(text: str) -> str:
    """What a person typed, for a prompt Claude Code recorded as slash-command markup
    (``<command-name>/clear</command-name><command-args>…</command-args>`` -> ``/clear …``);
    any other text unchanged."""
    name = _COMMAND.search(text)
    if name is None:
        return text
    command = name.group(1)
    if not command.startswith("/"):
        command = "/" + command
    args = _COMMAND_ARGS.search(text)
    return f"{command} {args.group(1)}".strip() if args and args.group(1) else command


def text_of(value: object) -> tuple[str | None, int]:
    """(text if kept, length in characters) of a possibly summarised value."""
    if isinstance(value, str):
        return value, len(value)
    if isinstance(value, dict) and value.get("redacted"):
        chars = value.get("chars")
        return None, chars if isinstance(chars, int) else 0
    if isinstance(value, list):
        texts, chars, kept = [], 0, True
        for block in value:
            if isinstance(block, dict) and block.get("type") in (None, "text"):
                text, n = text_of(block.get("text"))
                chars += n
                if text is None:
                    kept = False
                else:
                    texts.append(text)
            elif isinstance(block, str):
                texts.append(block)
                chars += len(block)
        return ("\n".join(texts) if kept else None), chars
    return None, 0


def line_count(value: object) -> int:
    """Lines of a file's content, newline-terminated (a last line without a newline still
    counts): ``core.privacy.text_lines``, which the privacy summary also uses, so that full
    and standard mode agree."""
    if isinstance(value, str):
        return text_lines(value)
    if isinstance(value, dict) and value.get("redacted"):
        lines = value.get("lines")
        return lines if isinstance(lines, int) else 0
    return 0


def patch_lines(hunks: object) -> tuple[int, int] | None:
    """(added, removed) of a structuredPatch, raw (``lines``) or summarised (``added``)."""
    if not isinstance(hunks, list):
        return None
    added = removed = 0
    for hunk in hunks:
        if not isinstance(hunk, dict):
            continue
        if "lines" in hunk and isinstance(hunk["lines"], list):
            for ln in hunk["lines"]:
                if isinstance(ln, str) and ln.startswith("+"):
                    added += 1
                elif isinstance(ln, str) and ln.startswith("-"):
                    removed += 1
        else:
            added += int(hunk.get("added") or 0)
            removed += int(hunk.get("removed") or 0)
    return added, removed


def response_edit_lines(response: object) -> tuple[int, int, bool] | None:
    """(added, removed, is_create) from an edit tool's response, if it says."""
    if not isinstance(response, dict):
        return None
    patch = patch_lines(response.get("structuredPatch"))
    is_create = response.get("type") == "create"
    if patch is not None and (patch != (0, 0) or not is_create):
        return patch[0], patch[1], is_create
    if is_create:
        return line_count(response.get("content")), 0, True
    diff = response.get("diff")
    if isinstance(diff, dict):  # Cursor agent edit tools
        chunks = [c for c in diff.get("chunks") or [] if isinstance(c, dict)]
        return (sum(int(c.get("linesAdded") or 0) for c in chunks),
                sum(int(c.get("linesRemoved") or 0) for c in chunks), False)
    return None


def apply_patch_lines(patch: object) -> tuple[int, int, bool]:
    """(added, removed, is_create) of a Codex ``apply_patch`` text: ``+`` lines of
    ``*** Add File:`` sections, ``+``/``-`` lines of ``*** Update File:`` sections (a
    ``*** Delete File:`` section carries no lines); ``is_create`` when it only adds files."""
    if not isinstance(patch, str):
        return 0, 0, False
    added = removed = 0
    section, kinds = None, set()
    for line in patch.splitlines():
        if line.startswith("*** "):
            for kind in ("Add", "Update", "Delete"):
                if line.startswith(f"*** {kind} File:"):
                    section = kind
                    kinds.add(kind)
            continue
        if section in ("Add", "Update") and line.startswith("+"):
            added += 1
        elif section == "Update" and line.startswith("-"):
            removed += 1
    return added, removed, kinds == {"Add"}


def input_edit_lines(tool: str, tool_input: object) -> tuple[int, int, bool]:
    """(added, removed, is_create) estimated from what the edit asked for, when no
    response says what happened (a Write: its content; an Edit: new vs old string)."""
    if tool == "apply_patch":
        text = tool_input.get("command") if isinstance(tool_input, dict) else tool_input
        return apply_patch_lines(text)
    inp = tool_input if isinstance(tool_input, dict) else {}
    if tool == "Write":
        return line_count(inp.get("content")), 0, True
    if tool in ("Edit", "MultiEdit", "cursor_edit"):
        edits = inp.get("edits") if tool != "Edit" else [inp]
        edits = [e for e in edits or [] if isinstance(e, dict)]
        return (sum(line_count(e.get("new_string")) for e in edits),
                sum(line_count(e.get("old_string")) for e in edits), False)
    return 0, 0, False


def edit_lines(tool: str, tool_input: object, response: object) -> tuple[int, int, bool]:
    """(added, removed, is_create) of an executed edit: its response, else its input."""
    return response_edit_lines(response) or input_edit_lines(tool, tool_input)


def user_modified(response: object) -> bool:
    return isinstance(response, dict) and response.get("userModified") is True


def error_class(text: str | None) -> str:
    if text is None:
        return "redacted"
    for name, pattern in _ERROR_CLASSES:
        if pattern.search(text):
            return name
    return "other"


def refusal(text: str | None) -> tuple[str, str] | None:
    """(status, error_class) when ``text`` is one of Claude Code's refusal/interrupt phrases."""
    if not text:
        return None
    stripped = text.lstrip()
    if stripped.startswith("Error: "):
        stripped = stripped[7:]
    for prefix, klass in REJECTED_PREFIXES:
        if stripped.startswith(prefix):
            return "rejected", klass
    for prefix in INTERRUPTED_PREFIXES:
        if stripped.startswith(prefix):
            return "interrupted", "user_interrupted"
    first_sentence = stripped.split(". ", 1)[0] + "."  # paths hold dots, not ". "
    for phrase, klass in REJECTED_WITHIN_FIRST_SENTENCE:
        if first_sentence.endswith(phrase):
            return "rejected", klass
    return None


def transcript_outcome(is_error: object, content: object, result: object,
                       error_head: object = None) -> tuple[str, str | None, str | None]:
    """(status, error_class, error_text) of a transcript ``tool_result``; ``error_head`` is
    the first line the privacy filter keeps of a failure whose text it summarised."""
    text, _ = text_of(content)
    if text is None and isinstance(error_head, str):
        text = error_head
    found = refusal(text)
    if found is None and isinstance(result, str):
        found = refusal(result)
    if found:
        return found[0], found[1], (text or "")[:200] or None
    if isinstance(result, dict) and result.get("interrupted") is True:
        return "interrupted", "user_interrupted", None
    if is_error is True:
        return "error", error_class(text), text[:200] if text else None
    return "success", None, None


def hook_failure_outcome(error: object, is_interrupt: object,
                         error_head: object = None) -> tuple[str, str, str | None]:
    """``error_head``: the first line ``standard`` privacy keeps of a summarised ``error``."""
    text, _ = text_of(error)
    if text is None and isinstance(error_head, str):
        text = error_head
    if is_interrupt is True:
        return "interrupted", "user_interrupted", text[:200] if text else None
    found = refusal(text)
    if found:
        return found[0], found[1], text[:200] if text else None
    return "error", error_class(text), text[:200] if text else None


def mcp_server(tool: str) -> str | None:
    if tool.startswith("mcp__"):
        parts = tool.split("__")
        if len(parts) >= 3 and parts[1]:
            return parts[1]
    return None


def file_path_of(tool_input: object, response: object = None) -> str | None:
    for source in (tool_input, response):
        if isinstance(source, dict):
            for key in PATH_INPUT_KEYS:
                value = source.get(key)
                if isinstance(value, str) and value:
                    return value
    return None


def file_ext(path: str | None) -> str:
    if not path:
        return ""
    name = path.rsplit("/", 1)[-1]
    if name.startswith("*."):  # strict mode keeps only "*.py"
        return name[1:].lower()
    return os.path.splitext(name)[1].lower()


def fingerprint(tool: str, tool_input: object) -> str:
    """Identity of a call across captures that lack tool_use_id: tool + input, with file
    paths reduced to their base name (captures may relativise paths against different
    directories; both went through the same privacy filter, so the rest is equal)."""
    if isinstance(tool_input, dict):
        tool_input = {k: v.rsplit("/", 1)[-1] if k in PATH_INPUT_KEYS and isinstance(v, str)
                      else v for k, v in tool_input.items()}
    data = orjson.dumps(tool_input, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return tool + ":" + hashlib.blake2b(data, digest_size=12).hexdigest()


def prompt_key(value: object) -> str | None:
    """Matches a hook prompt with its transcript line: hash of the stripped text, or the
    digest strict mode already stored."""
    if isinstance(value, dict) and isinstance(value.get("sha256"), str):
        return value["sha256"]
    text, _ = text_of(value)
    if text is None:
        return None
    return hashlib.sha256(text.strip().encode("utf-8", "replace")).hexdigest()

"""Replacing identifying values in exported rows with stable hashes.

Ids, paths and project names become ``h_<12 hex>`` (SHA-256 of an optional salt and the
value), so the same value hashes the same in every table and every export with the same
salt: joins and group-bys still work, the names are gone. File paths keep their extension
(``h_3f2a….py``) because file types are part of the analysis. Free text that may quote
any of them (prompts, titles, error messages, timelines, insight evidence) is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import PurePosixPath

HASHED = frozenset({
    "session_id", "tool_use_id", "edit_id", "message_id", "request_id", "line_session_id",
    "dedup_key", "project_path", "project_name", "project", "source_file", "git_branch",
})
PATHS = frozenset({"file_path"})
DROPPED = frozenset({"title", "prompt_text", "error_text", "timeline", "detail", "evidence",
                     "query"})
# Insight subjects that are session ids (the others are tool names and file extensions).
SESSION_SUBJECT_KINDS = frozenset({"costly_session", "repeated_compaction"})


class Anonymizer:
    def __init__(self, salt: str = "") -> None:
        self.salt = salt.encode()
        self._cache: dict[str, str] = {}

    def hash(self, value: object) -> object:
        if value is None or value == "":
            return value
        text = str(value)
        out = self._cache.get(text)
        if out is None:
            out = "h_" + hashlib.sha256(self.salt + text.encode()).hexdigest()[:12]
            self._cache[text] = out
        return out

    def path(self, value: object) -> object:
        if not value:
            return value
        suffix = PurePosixPath(str(value)).suffix
        return f"{self.hash(value)}{suffix.lower() if len(suffix) <= 10 else ''}"

    def row(self, columns: Sequence[str], row: Sequence[object]) -> list[object]:
        values = list(row)
        by_name = dict(zip(columns, values, strict=True))
        for i, col in enumerate(columns):
            if col in HASHED:
                values[i] = self.hash(values[i])
            elif col in PATHS:
                values[i] = self.path(values[i])
            elif col in DROPPED:
                values[i] = None
            elif col == "subject" and by_name.get("kind") in SESSION_SUBJECT_KINDS:
                values[i] = self.hash(values[i])
            elif col == "insight_id" and by_name.get("kind") in SESSION_SUBJECT_KINDS:
                values[i] = f"{by_name['kind']}:{self.hash(by_name.get('subject'))}"
        return values

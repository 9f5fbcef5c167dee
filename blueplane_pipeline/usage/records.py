"""One deduplicated-to-be API message's token usage: the record every platform's usage
extractor produces (``usage_record`` in its module, see ``core.platforms``), and the count
validation they share. Times are epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class UsageRecord:
    """The usage of one transcript line, priced later. Times are epoch milliseconds."""

    message_id: str | None
    request_id: str | None
    session_id: str          # the file's session (what session reports group by)
    line_session_id: str | None
    project: str
    model: str | None
    ts_ms: int
    input_tokens: int
    output_tokens: int
    cache_creation_5m: int
    cache_creation_1h: int
    cache_read_tokens: int
    cost_usd_log: float | None
    is_sidechain: bool
    source_file: str
    source_line: int
    seq: int = 0
    platform: str = "claude_code"  # set from the registry by ``usage.events``
    speed: str | None = None  # "fast" bills the model's fast-mode multiplier
    reasoning_tokens: int = 0  # inside output_tokens (Codex): reported, never billed twice
    thoughts_tokens: int = 0  # beside output_tokens (Gemini): billed at the output price

    @property
    def cache_creation_tokens(self) -> int:
        return self.cache_creation_5m + self.cache_creation_1h

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens + self.output_tokens + self.cache_creation_tokens
                + self.cache_read_tokens + self.thoughts_tokens)

    @property
    def dedup_key(self) -> str:
        """(message id, request id); lines without a message id are never merged."""
        if self.message_id is None:
            key = f"line\x1f{self.source_file}\x1f{self.source_line}"
        else:
            key = f"msg\x1f{self.message_id}\x1f{self.request_id or ''}"
        # Claude Code's keys stay as they were; other platforms' ids may look alike.
        return key if self.platform == "claude_code" else f"{self.platform}\x1f{key}"


# Counts beyond this are corrupt lines, not usage (and would not fit an SQLite integer).
MAX_COUNT = 2**53


def count(value: object) -> int | None:
    """A token count: a non-negative integer (ccusage rejects anything else)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


def optional_count(container: dict, key: str) -> int | None:
    if key not in container:
        return 0
    return count(container[key])

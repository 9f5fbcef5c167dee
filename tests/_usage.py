"""Shared by the usage tests: transcript trees as stored events, and ccusage's answers.

Events follow the importer's contract (platform ``claude_code``, source ``transcript``,
payload = the parsed line + ``_file`` relative to ``projects/`` + ``_line``), built here
with ``make_envelope`` so these tests do not depend on the importer.
"""

from __future__ import annotations

import json
from pathlib import Path

from blueplane_pipeline.core.envelope import deterministic_id, dumps, make_envelope
from blueplane_pipeline.sources.claude_code.usage import record_from_line
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise
from blueplane_pipeline.usage.records import UsageRecord
from tests.conftest import CLAUDE_HOME

USAGE_TREE = Path(__file__).parent / "fixtures" / "claude_usage"
TREES = {"shared": CLAUDE_HOME, "built": USAGE_TREE}


SHARED_EXTRA = Path(__file__).parent / "fixtures" / "claude_home_ccusage"


def ccusage(tree: Path, report: str) -> dict:
    """What ccusage 20.0.24 printed for ``report`` over ``tree`` (committed JSON; for the
    shared transcripts, the daily and session files that come with them, the other
    reports recorded by ``fixtures/make_usage_fixtures.py``)."""
    if tree == USAGE_TREE:
        path = tree / f"ccusage-20.0.24-{report}.json"
    elif report in ("daily", "session"):
        path = tree.parent / f"ccusage-20.0.24-{report}.json"
    else:
        path = SHARED_EXTRA / f"ccusage-20.0.24-{report}.json"
    return json.loads(path.read_text())


def transcript_lines(tree: Path):
    """``(relative file, line number, parsed line)`` for every JSON object line."""
    root = tree / "projects"
    for path in sorted(root.rglob("*.jsonl")):
        rel = path.relative_to(root).as_posix()
        for n, raw in enumerate(path.read_bytes().splitlines(), 1):
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                yield rel, n, line


def tree_records(tree: Path) -> list[UsageRecord]:
    return [r for rel, n, line in transcript_lines(tree)
            if (r := record_from_line(line, rel, n)) is not None]


def transcript_envelopes(tree: Path) -> list[dict]:
    out = []
    for rel, n, line in transcript_lines(tree):
        session = line.get("sessionId") if isinstance(line.get("sessionId"), str) else None
        ts = line.get("timestamp") if isinstance(line.get("timestamp"), str) else None
        out.append(make_envelope(
            "claude_code", "transcript", str(line.get("type") or "unknown"),
            {**line, "_file": rel, "_line": n}, session_id=session, ts=ts,
            event_id=deterministic_id("test-transcript", rel, str(n))))
    return out


def store(db_path: Path, envelopes: list[dict]) -> None:
    """Write envelopes into ``raw_events`` with the real writer."""
    conn = open_db(db_path)
    try:
        RawEventWriter(conn).write([normalise(dumps(e)) for e in envelopes])
    finally:
        conn.close()


def tokens(item: dict) -> tuple[int, int, int, int]:
    return (item["inputTokens"], item["outputTokens"], item["cacheCreationTokens"],
            item["cacheReadTokens"])


def close(ours: float, theirs: float) -> bool:
    """Cost within 0.5 % (ccusage sums floats in its own order)."""
    return abs(ours - theirs) <= 0.005 * abs(theirs) + 1e-12

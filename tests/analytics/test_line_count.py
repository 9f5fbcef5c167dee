"""Lines are newline-terminated; a last line without a newline still counts (issue 9
item 12). Checked on the formula and through ``tool_calls``/``file_edits`` as the Dagster
assets materialize them, for every way an edit's lines are counted (a Write's response,
a Write's input, an Edit's strings, a structured patch), in ``full`` and ``standard``."""

from __future__ import annotations

import dagster as dg
import pytest
from analytics_fixtures import hook_envelope, rows, store

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.core.privacy import filter_payload, summarize_text
from blueplane_pipeline.orchestration.assets.analytics import ANALYTICS_ASSETS
from blueplane_pipeline.orchestration.assets.token_usage import token_usage
from blueplane_pipeline.orchestration.resources import BlueplaneResource

NOTES = "# notes\nline two\nline three\n"
CWD = "/home/u/proj"


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", 0),
        ("\n", 1),
        ("one", 1),
        ("one\n", 1),
        ("one\ntwo", 2),
        ("one\ntwo\n", 2),
        ("one\n\n", 2),
        (NOTES, 3),
        (NOTES.rstrip("\n"), 3),
    ],
)
def test_line_count_counts_newline_terminated_lines(text, lines):
    assert classify.line_count(text) == lines
    # the privacy summary of the same text says the same, so full == standard
    assert classify.line_count(summarize_text(text)) == lines


def _session(sid: str, mode: str) -> list[dict]:
    def hook(event: str, t: str, **fields) -> dict:
        return hook_envelope(
            {
                "session_id": sid,
                "cwd": CWD,
                "transcript_path": "/x.jsonl",
                "hook_event_name": event,
                **fields,
            },
            f"2026-02-01T10:00:{t}Z",
            mode=mode,
        )

    write = {"file_path": f"{CWD}/notes.md", "content": NOTES}
    unterminated = {"file_path": f"{CWD}/b.md", "content": "a\nb"}
    edit = {"file_path": f"{CWD}/main.py", "old_string": "x = 1\n", "new_string": "x = 2\ny = 3\n"}
    patched = [
        {
            "oldStart": 1,
            "oldLines": 1,
            "newStart": 1,
            "newLines": 2,
            "lines": ["-x = 1", "+x = 2", "+y = 3"],
        }
    ]
    return [
        hook("UserPromptSubmit", "00.000", prompt="write notes"),
        # a Write whose response says it created the file (the content is its lines)
        hook("PreToolUse", "01.000", tool_name="Write", tool_use_id=f"{sid}-w", tool_input=write),
        hook(
            "PostToolUse",
            "01.100",
            tool_name="Write",
            tool_use_id=f"{sid}-w",
            tool_input=write,
            tool_response={
                "type": "create",
                "filePath": write["file_path"],
                "content": NOTES,
                "structuredPatch": [],
            },
        ),
        # a Write whose response does not say (counted from its input), last line
        # unterminated
        hook(
            "PreToolUse",
            "02.000",
            tool_name="Write",
            tool_use_id=f"{sid}-u",
            tool_input=unterminated,
        ),
        hook(
            "PostToolUse",
            "02.100",
            tool_name="Write",
            tool_use_id=f"{sid}-u",
            tool_input=unterminated,
            tool_response={"filePath": unterminated["file_path"]},
        ),
        # an Edit counted from its strings (the response has no patch)
        hook("PreToolUse", "03.000", tool_name="Edit", tool_use_id=f"{sid}-e", tool_input=edit),
        hook(
            "PostToolUse",
            "03.100",
            tool_name="Edit",
            tool_use_id=f"{sid}-e",
            tool_input=edit,
            tool_response={"filePath": edit["file_path"]},
        ),
        # the same Edit with Claude Code's structured patch
        hook("PreToolUse", "04.000", tool_name="Edit", tool_use_id=f"{sid}-p", tool_input=edit),
        hook(
            "PostToolUse",
            "04.100",
            tool_name="Edit",
            tool_use_id=f"{sid}-p",
            tool_input=edit,
            tool_response={"filePath": edit["file_path"], "structuredPatch": patched},
        ),
    ]


def test_edit_lines_in_materialized_tool_calls(tmp_path):
    sessions = {
        "full": "aaaaaaaa-0000-0000-0000-000000000001",
        "standard": "aaaaaaaa-0000-0000-0000-000000000002",
    }
    envs = [e for mode, sid in sessions.items() for e in _session(sid, mode)]
    store(tmp_path / "telemetry.db", envs).close()
    result = dg.materialize(
        [token_usage, *ANALYTICS_ASSETS],
        resources={"blueplane": BlueplaneResource(home=str(tmp_path))},
    )
    assert result.success
    import sqlite3

    conn = sqlite3.connect(tmp_path / "telemetry.db")
    calls = {
        r["tool_use_id"]: r
        for r in rows(conn, "SELECT tool_use_id, lines_added, lines_removed FROM tool_calls")
    }
    edits = {
        r["edit_id"]: r
        for r in rows(conn, "SELECT edit_id, lines_added, lines_removed, is_create FROM file_edits")
    }
    for mode, sid in sessions.items():
        got = {
            k: (calls[f"{sid}-{k}"]["lines_added"], calls[f"{sid}-{k}"]["lines_removed"])
            for k in "wuep"
        }
        assert got == {"w": (3, 0), "u": (2, 0), "e": (2, 1), "p": (2, 1)}, mode
        assert (edits[f"{sid}-w"]["lines_added"], edits[f"{sid}-w"]["is_create"]) == (3, 1)


def test_standard_summary_of_a_write_keeps_the_true_line_count():
    payload = {
        "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "cwd": CWD,
        "tool_input": {"file_path": f"{CWD}/notes.md", "content": NOTES},
    }
    summary = filter_payload(payload, "standard")["tool_input"]["content"]
    assert summary == {"redacted": True, "chars": len(NOTES), "lines": 3}

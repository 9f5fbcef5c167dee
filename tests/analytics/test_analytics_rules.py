"""The small pure rules behind the analytics, and the documentation contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.analytics.metrics import percentile
from blueplane_pipeline.core.privacy import filter_payload
from blueplane_pipeline.storage.analytics_docs import TABLE_DOCS, render_markdown
from blueplane_pipeline.storage.db import open_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "expected"), [
    ("The user doesn't want to proceed with this tool use. The tool use was rejected",
     ("rejected", "user_rejected")),
    ("Error: The user doesn't want to proceed with this tool use.", ("rejected", "user_rejected")),
    ("Claude requested permissions to write to /a/b.md, but you haven't granted it yet.",
     ("rejected", "permission_denied")),
    ("The user doesn't want to take this action right now. STOP what you are doing",
     ("interrupted", "user_interrupted")),
    ("[Request interrupted by user for tool use]", ("interrupted", "user_interrupted")),
    ("Exit code 1", None),
])
def test_refusal_phrases(text, expected):
    assert classify.refusal(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("<tool_use_error>InputValidationError: Task failed", "input_validation"),
    ("File has not been read yet. Read it first before writing to it.", "file_not_read"),
    ("String to replace not found in file.", "string_not_found"),
    ("ls: x: No such file or directory", "not_found"),
    ("Request failed with status code 403", "http_error"),
    ("Command timed out after 2m", "timeout"),
    ("Command failed with exit code 2", "exit_code"),
    ("something else", "other"),
    (None, "redacted"),
])
def test_error_classes(text, expected):
    assert classify.error_class(text) == expected


def test_patch_lines_raw_and_summarised_agree():
    hunks = [{"oldStart": 1, "oldLines": 2, "newStart": 1, "newLines": 3,
              "lines": [" keep", "-old", "+new", "+more", "\\ No newline at end of file"]}]
    summarised = filter_payload({"structuredPatch": hunks}, "standard")["structuredPatch"]
    assert "lines" not in summarised[0]
    assert classify.patch_lines(hunks) == classify.patch_lines(summarised) == (2, 1)


def test_created_file_lines_same_in_every_mode():
    response = {"type": "create", "content": "a\nb\nc", "structuredPatch": []}
    for mode in ("full", "standard", "strict"):
        filtered = filter_payload({"tool_response": response}, mode)["tool_response"]
        assert classify.edit_lines("Write", {}, filtered) == (3, 0, True), mode


def test_fingerprint_ignores_where_paths_are_relative_to():
    a = {"file_path": "/home/u/proj/src/app.py", "old_string": "x"}
    b = {"file_path": "src/app.py", "old_string": "x"}
    assert classify.fingerprint("Edit", a) == classify.fingerprint("Edit", b)
    assert classify.fingerprint("Edit", a) != classify.fingerprint("Write", a)
    assert classify.fingerprint("Edit", a) != \
        classify.fingerprint("Edit", {**a, "old_string": "y"})


def test_helpers_on_tool_names_and_paths():
    assert classify.mcp_server("mcp__github__search_code") == "github"
    assert classify.mcp_server("Bash") is None
    assert classify.file_ext("src/App.TSX") == ".tsx"
    assert classify.file_ext("*.py") == ".py"  # strict mode keeps the extension only
    assert classify.file_ext("Makefile") == ""


def test_exact_percentiles():
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    # linear interpolation between closest ranks, like numpy's default
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert percentile(values, 50) == 5.5
    assert percentile(values, 95) == 9.55
    assert percentile(values, 99) == 9.91
    assert percentile(list(reversed(values)), 50) == 5.5


def test_docs_are_rendered_from_the_column_dictionary():
    assert (ROOT / "docs" / "metrics.md").read_text() == render_markdown()


def test_every_column_is_documented_and_exists(tmp_path):
    conn = open_db(tmp_path / "t.db")
    for table, doc in TABLE_DOCS.items():
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        assert cols == list(doc["columns"]), table
        assert doc["description"] and all(doc["columns"].values()), table


@pytest.mark.parametrize("text, typed", [
    ("<command-name>/clear</command-name>\n<command-message>clear</command-message>\n"
     "<command-args></command-args>", "/clear"),
    ("<command-name>/orchestrator</command-name>\n<command-args>create TODO app</command-args>",
     "/orchestrator create TODO app"),
    ("<command-name>init</command-name>\n   <command-args></command-args>", "/init"),
    ("fix the failing test", "fix the failing test"),
])
def test_a_slash_command_title_reads_as_typed(text, typed):
    from blueplane_pipeline.analytics.classify import as_typed

    assert as_typed(text) == typed

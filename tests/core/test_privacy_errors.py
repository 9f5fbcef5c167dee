"""`standard` privacy keeps a failed tool's first line, so errors can still be classified."""

from __future__ import annotations

import json

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.core.privacy import filter_payload
from tests.conftest import CLAUDE_HOME


def error_results(line: dict) -> list[dict]:
    content = (line.get("message") or {}).get("content")
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"
            and b.get("is_error") is True] if isinstance(content, list) else []


def test_real_tool_errors_keep_a_classifiable_first_line_in_standard_mode():
    checked = 0
    for path in sorted(CLAUDE_HOME.glob("projects/*/*.jsonl")):
        for raw in path.read_text().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            originals = error_results(line)
            if not originals:
                continue
            filtered = error_results(filter_payload(line, "standard"))
            for orig, kept in zip(originals, filtered, strict=True):
                status, klass, _ = classify.transcript_outcome(
                    True, kept["content"], None, kept.get("error_head"))
                text, _ = classify.text_of(orig["content"])
                first = text.strip().split("\n", 1)[0][:200]
                expected = classify.transcript_outcome(True, first, None)
                assert (status, klass) == expected[:2], (path.name, first)
                assert klass != "redacted"
                checked += 1
    assert checked >= 5  # the fixtures hold real failures (WebFetch, Bash, Edit)


def test_strict_mode_keeps_no_error_text():
    line = {"type": "user", "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t", "is_error": True,
         "content": "Exit code 1\npassword=hunter2hunter2"}]}}
    (block,) = error_results(filter_payload(line, "strict"))
    assert "error_head" not in block and block["content"]["redacted"] is True
    (std,) = error_results(filter_payload(line, "standard"))
    assert std["error_head"] == "Exit code 1"
    assert "hunter2" not in json.dumps(std)

"""Insights computed from hand-made rows: each finding's numbers and the SQL stored with it."""

from __future__ import annotations

import json

from analytics_fixtures import rows

from blueplane_pipeline.analytics import state
from blueplane_pipeline.analytics.insights import compute_insights, refresh_insights
from blueplane_pipeline.storage.db import open_db, write_transaction


def call(i: int, day: str, tool: str, status: str, latency: float | None = 100.0) -> dict:
    return dict(tool_use_id=f"t{i}", session_id="s1", platform="claude_code",
               project_path="/p", model="m", turn_index=0, tool_name=tool, mcp_server=None,
               is_edit=0, is_sidechain=0, started_at=f"{day}T10:00:00.000Z",
               ended_at=f"{day}T10:00:01.000Z", day=day,
               latency_ms=latency if status in ("success", "error") else None,
               latency_source="hook", status=status,
               error_class="exit_code" if status == "error" else None, error_text=None,
               file_path=None, file_ext=None, lines_added=0, lines_removed=0,
               user_modified=0, permission_requested=0, sources="hook")


def edit(i: int, ext: str, accepted: int) -> dict:
    return {"edit_id": f"e{i}", "session_id": "s1", "platform": "claude_code",
            "project_path": "/p", "model": "m", "ts": "2026-03-10T10:00:00.000Z",
            "day": "2026-03-10", "tool_name": "Edit", "file_path": f"f{i}{ext}",
            "file_ext": ext, "is_create": 0, "status": "success" if accepted else "rejected",
            "accepted": accepted, "user_modified": 0, "lines_added": 0, "lines_removed": 0,
            "reedited_within_5m": 0}


def test_error_jump_rejected_file_type_slow_tool_and_costly_session(tmp_path):
    conn = open_db(tmp_path / "t.db")
    calls = []
    # Bash, baseline (Feb 10, inside the 28 days before the last 7): 1 error in 10 executed
    calls += [call(i, "2026-02-10", "Bash", "error" if i == 0 else "success")
              for i in range(10)]
    # Bash, last 7 days (Mar 10 is the newest day): 6 errors in 10 → 60 % vs 10 %
    calls += [call(100 + i, "2026-03-10", "Bash", "error" if i < 6 else "success")
              for i in range(10)]
    # WebFetch: 5 executed calls, 40 s each → p95 40 s ≥ 30 s: slow
    calls += [call(200 + i, "2026-03-09", "WebFetch", "success", 40_000.0) for i in range(5)]
    with write_transaction(conn):
        state.insert_rows(conn, "tool_calls", calls)
        # .env edits: 1 accepted, 2 rejected → 67 % rejected (≥ 30 %, 3 decisions)
        state.insert_rows(conn, "file_edits", [edit(1, ".env", 1), edit(2, ".env", 0),
                                               edit(3, ".env", 0), edit(4, ".py", 1)])
        conn.execute("INSERT INTO sessions (session_id, platform, sources, project_path, "
                     "project_name, models, primary_model, started_at, ended_at, day, "
                     "duration_s, active_s, events, prompts, assistant_messages, tool_calls, "
                     "tool_success, tool_errors, tool_rejected, tool_interrupted, "
                     "tool_pending, edits_accepted, edits_rejected, edits_user_modified, "
                     "lines_added, lines_removed, input_tokens, output_tokens, "
                     "cache_creation_tokens, cache_read_tokens, cost_usd, compactions, "
                     "subagents, interrupts) VALUES ('s1', 'claude_code', 'hook', '/p', 'p', "
                     "'m', 'm', '2026-03-10T10:00:00.000Z', '2026-03-10T11:00:00.000Z', "
                     "'2026-03-10', 3600, 600, 10, 3, 5, 25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "
                     "100, 2000, 5000, 900000, 1.25, 0, 0, 0)")
    found = {f["insight_id"]: f for f in compute_insights(conn)}
    jump = found["tool_error_jump:Bash"]
    assert (jump["metric_value"], jump["baseline_value"]) == (0.6, 0.1)
    assert json.loads(jump["evidence"]) == {"baseline": {"errors": 1, "executed": 10},
                                           "recent": {"errors": 6, "executed": 10}}
    assert "tool_error_rate:Bash" not in found  # reported once, as the jump
    env = found["file_type_rejections:.env"]
    assert env["metric_value"] == round(2 / 3, 4)
    assert "file_type_rejections:.py" not in found
    slow = found["slow_tool:WebFetch"]
    assert slow["metric_value"] == 40_000.0
    costly = found["costly_session:s1"]
    assert json.loads(costly["evidence"])["dominant"] == "cache_read"
    # every stored query runs as it is and returns the rows the evidence came from
    for f in found.values():
        assert conn.execute(f["query"].split(" -- ")[0]).fetchall(), f["insight_id"]
    assert refresh_insights(conn).insights == len(found)
    assert len(rows(conn, "SELECT * FROM insights")) == len(found)

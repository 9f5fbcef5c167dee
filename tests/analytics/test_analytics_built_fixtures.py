"""Analytics on small sessions built here for what the real fixtures lack: newer hooks
with tool_use_id, failures with duration_ms, PermissionDenied, churn, compaction, duplicated
tool results, pending calls, Cursor hooks and Cursor's store."""

from __future__ import annotations

import json

from analytics_fixtures import hook_envelope, line_envelopes, rows, store

from blueplane_pipeline.analytics.refresh import refresh_all

S = "11111111-2222-3333-4444-555555555555"
CWD = "/home/u/proj"


def hook(event: str, t: str, **fields) -> dict:
    return hook_envelope({"session_id": S, "cwd": CWD, "transcript_path": "/x.jsonl",
                          "hook_event_name": event, **fields}, f"2026-02-01T10:{t}Z")


def modern_hook_session() -> list[dict]:
    """A session as Claude Code 2.x hooks report it (times are minutes:seconds)."""
    patch = [{"oldStart": 1, "oldLines": 1, "newStart": 1, "newLines": 3,
              "lines": ["-a", "+b", "+c", "+d"]}]
    return [
        hook("SessionStart", "00:00.000", source="startup", model="claude-opus-4-5"),
        hook("UserPromptSubmit", "00:01.000", prompt="fix the build"),
        hook("PreToolUse", "00:02.000", tool_name="Bash", tool_use_id="tA",
             tool_input={"command": "make"}),
        hook("PostToolUseFailure", "00:04.000", tool_name="Bash", tool_use_id="tA",
             tool_input={"command": "make"}, error="Command failed with exit code 2",
             is_interrupt=False, duration_ms=1200),
        hook("PreToolUse", "00:05.000", tool_name="Bash", tool_use_id="tB",
             tool_input={"command": "sleep 100"}),
        hook("PostToolUseFailure", "00:09.000", tool_name="Bash", tool_use_id="tB",
             tool_input={"command": "sleep 100"}, error="interrupted", is_interrupt=True),
        hook("PreToolUse", "00:10.000", tool_name="Edit", tool_use_id="tC",
             tool_input={"file_path": f"{CWD}/secret.env", "old_string": "x", "new_string": "y"}),
        hook("PermissionRequest", "00:10.500", tool_name="Edit",
             tool_input={"file_path": f"{CWD}/secret.env", "old_string": "x", "new_string": "y"}),
        hook("PermissionDenied", "00:12.000", tool_name="Edit", tool_use_id="tC",
             tool_input={"file_path": f"{CWD}/secret.env"}, reason="user"),
        hook("PreToolUse", "00:20.000", tool_name="Write", tool_use_id="tD",
             tool_input={"file_path": f"{CWD}/new.py", "content": "a\nb"}),
        hook("PostToolUse", "00:20.100", tool_name="Write", tool_use_id="tD",
             tool_input={"file_path": f"{CWD}/new.py", "content": "a\nb"}, duration_ms=30,
             tool_response={"type": "create", "filePath": f"{CWD}/new.py", "content": "a\nb",
                            "structuredPatch": []}),
        hook("PreToolUse", "01:00.000", tool_name="Edit", tool_use_id="tE",
             tool_input={"file_path": f"{CWD}/main.py", "old_string": "a", "new_string": "b"}),
        hook("PostToolUse", "01:00.050", tool_name="Edit", tool_use_id="tE",
             tool_input={"file_path": f"{CWD}/main.py", "old_string": "a", "new_string": "b"},
             tool_response={"filePath": f"{CWD}/main.py", "structuredPatch": patch,
                            "userModified": True}),
        hook("PreToolUse", "03:00.000", tool_name="Edit", tool_use_id="tF",
             tool_input={"file_path": f"{CWD}/main.py", "old_string": "b", "new_string": "c"}),
        hook("PostToolUse", "03:00.040", tool_name="Edit", tool_use_id="tF",
             tool_input={"file_path": f"{CWD}/main.py", "old_string": "b", "new_string": "c"},
             tool_response={"filePath": f"{CWD}/main.py", "structuredPatch": patch}),
        hook("Stop", "03:01.000", stop_hook_active=False),
        hook("UserPromptSubmit", "03:30.000", prompt="now read it"),
        hook("PreToolUse", "03:31.000", tool_name="Read", tool_use_id="tG",
             tool_input={"file_path": f"{CWD}/main.py"}),
    ]


def calls_by_id(conn) -> dict[str, dict]:
    return {c["tool_use_id"]: c for c in rows(conn, "SELECT * FROM tool_calls")}


def test_hook_outcomes_latency_edits_and_churn(tmp_path):
    conn = store(tmp_path / "t.db", modern_hook_session())
    refresh_all(conn)
    c = calls_by_id(conn)
    assert (c["tA"]["status"], c["tA"]["error_class"], c["tA"]["latency_ms"],
            c["tA"]["latency_source"]) == ("error", "exit_code", 1200.0, "duration_ms")
    assert (c["tB"]["status"], c["tB"]["error_class"], c["tB"]["latency_ms"]) == \
        ("interrupted", "user_interrupted", None)
    assert (c["tC"]["status"], c["tC"]["permission_requested"]) == ("rejected", 1)
    assert (c["tD"]["status"], c["tD"]["lines_added"], c["tD"]["latency_ms"]) == \
        ("success", 2, 30.0)
    assert (c["tE"]["lines_added"], c["tE"]["lines_removed"], c["tE"]["user_modified"]) == \
        (3, 1, 1)
    assert c["tE"]["latency_ms"] == 50.0 and c["tE"]["latency_source"] == "hook"
    assert c["tE"]["file_path"] == "main.py"  # relative to the project (standard mode)
    # tG: PreToolUse, no outcome, nothing after it and less than 10 minutes of data: pending
    assert c["tG"]["status"] == "pending" and c["tG"]["ended_at"] is None
    edits = {e["edit_id"]: e for e in rows(conn, "SELECT * FROM file_edits")}
    assert set(edits) == {"tC", "tD", "tE", "tF"}
    # tF re-edits main.py 2 minutes after tE: tE churned, tF did not (nothing after it)
    assert (edits["tE"]["reedited_within_5m"], edits["tF"]["reedited_within_5m"]) == (1, 0)
    assert (edits["tC"]["accepted"], edits["tD"]["is_create"]) == (0, 1)
    s = rows(conn, "SELECT * FROM sessions")[0]
    # edits: tD, tE, tF accepted; tC rejected → 3/4; tE user-modified
    assert (s["edits_accepted"], s["edits_rejected"], s["acceptance_rate"]) == (3, 1, 0.75)
    assert s["edits_user_modified"] == 1 and s["primary_model"] == "claude-opus-4-5"
    assert (s["prompts"], s["tool_pending"], s["interrupts"]) == (2, 1, 1)
    m = rows(conn, "SELECT * FROM metrics_daily")[0]
    # executed = tA (error) + tD, tE, tF (success) = 4 → error rate 1/4;
    # interrupted 1 of 7 calls; user-modified share 1/3
    assert (m["error_rate"], m["interruption_rate"], m["user_modified_share"]) == \
        (0.25, round(1 / 7, 6), round(1 / 3, 6))
    # exact percentiles over the 4 executed latencies 30, 40, 50, 1200:
    # p50 = 40 + 0.5·10 = 45; p95 rank 2.85 → 50 + 0.85·1150 = 1027.5
    assert (m["latency_p50_ms"], m["latency_p95_ms"]) == (45.0, 1027.5)
    turns = rows(conn, "SELECT * FROM turns ORDER BY turn_index")
    assert [t["tool_calls"] for t in turns] == [6, 1]
    # active time of turn 0: gaps between its events 01.000→…→03:01.000, each ≤ 5 min:
    # the whole span, 180 s.
    assert turns[0]["active_s"] == 180.0


def test_pending_call_becomes_interrupted_when_newer_data_arrives(tmp_path):
    conn = store(tmp_path / "t.db", modern_hook_session())
    refresh_all(conn)
    assert calls_by_id(conn)["tG"]["status"] == "pending"
    other = hook_envelope({"session_id": "other", "hook_event_name": "SessionStart",
                           "cwd": CWD}, "2026-02-01T10:15:00.000Z")
    from blueplane_pipeline.core.envelope import dumps
    from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise
    RawEventWriter(conn).write([normalise(dumps(other))])
    refresh_all(conn)  # the session itself got no new event; 11+ minutes of data passed
    tg = calls_by_id(conn)["tG"]
    assert (tg["status"], tg["error_class"]) == ("interrupted", "no_outcome")
    assert rows(conn, "SELECT sum(tool_pending) AS n FROM metrics_daily")[0]["n"] == 0


def test_transcript_and_hooks_with_ids_merge(tmp_path):
    """The same call in both captures, keyed by tool_use_id: one row; the transcript's
    tool_result decides the outcome, hook duration_ms the latency."""
    lines = [
        {"type": "user", "uuid": "u1", "sessionId": S, "cwd": CWD,
         "timestamp": "2026-02-01T10:00:01.000Z",
         "message": {"role": "user", "content": "fix the build"}},
        {"type": "assistant", "uuid": "u2", "sessionId": S, "cwd": CWD,
         "timestamp": "2026-02-01T10:00:02.000Z", "requestId": "r1",
         "message": {"id": "m1", "model": "claude-opus-4-5", "role": "assistant",
                     "content": [{"type": "tool_use", "id": "tA", "name": "Bash",
                                  "input": {"command": "make"}}]}},
        {"type": "user", "uuid": "u3", "sessionId": S, "cwd": CWD,
         "timestamp": "2026-02-01T10:00:04.000Z",
         "message": {"role": "user", "content": [
             {"type": "tool_result", "tool_use_id": "tA", "is_error": True,
              "content": "Exit code 2\nmake: *** [all] Error 2"}]}},
        # the same tool_result written a second time (seen in real transcripts)
        {"type": "user", "uuid": "u4", "sessionId": S, "cwd": CWD,
         "timestamp": "2026-02-01T10:00:04.500Z",
         "message": {"role": "user", "content": [
             {"type": "tool_result", "tool_use_id": "tA", "is_error": True,
              "content": "Exit code 2\nmake: *** [all] Error 2"}]}},
    ]
    envs = line_envelopes(lines, mode="full") + modern_hook_session()[:4]
    conn = store(tmp_path / "t.db", envs)
    refresh_all(conn)
    calls = rows(conn, "SELECT * FROM tool_calls")
    assert len(calls) == 1
    c = calls[0]
    assert (c["sources"], c["status"], c["error_class"]) == ("hook+transcript", "error",
                                                            "exit_code")
    assert c["latency_ms"] == 1200.0 and c["model"] == "claude-opus-4-5"
    s = rows(conn, "SELECT * FROM sessions")[0]
    assert s["prompts"] == 1  # hook prompt and transcript line are the same prompt


def _compaction_lines(session: str, times: int) -> list[dict]:
    out = []
    for i in range(times):
        t = f"2026-02-02T09:{10 + i:02d}:00.000Z"
        out += [
            {"type": "system", "subtype": "compact_boundary", "uuid": f"{session}b{i}",
             "sessionId": session, "timestamp": t, "content": "Conversation compacted",
             "compactMetadata": {"trigger": "auto", "preTokens": 150000}},
            {"type": "user", "uuid": f"{session}s{i}", "sessionId": session, "timestamp": t,
             "isCompactSummary": True,
             "message": {"role": "user", "content": "This session is being continued…"}},
        ]
    return out


def test_compaction_counted_once_across_captures_and_flagged(tmp_path):
    once, twice = "c0000000-0000-0000-0000-000000000001", "c0000000-0000-0000-0000-000000000002"
    envs = line_envelopes(_compaction_lines(once, 1)) + line_envelopes(_compaction_lines(twice, 2))
    envs.append(hook_envelope({"session_id": once, "hook_event_name": "PreCompact",
                               "trigger": "auto"}, "2026-02-02T09:09:59.000Z"))
    conn = store(tmp_path / "t.db", envs)
    refresh_all(conn)
    got = {r["session_id"]: r["compactions"] for r in rows(conn, "SELECT * FROM sessions")}
    assert got == {once: 1, twice: 2}
    # the compact summary is not a prompt
    assert rows(conn, "SELECT sum(prompts) AS n FROM sessions")[0]["n"] == 0
    found = rows(conn, "SELECT * FROM insights WHERE kind = 'repeated_compaction'")
    assert [f["subject"] for f in found] == [twice]
    assert json.loads(found[0]["evidence"])["compactions"] == 2
    # the stored query reproduces the evidence
    assert conn.execute(found[0]["query"]).fetchone()[0] == twice


def test_cursor_hooks_and_store(tmp_path):
    conv = "cccccccc-0000-0000-0000-000000000001"
    base = {"conversation_id": conv, "generation_id": "g1", "workspace_roots": ["/w/app"],
            "model": "claude-4-sonnet", "cursor_version": "1.7"}

    def cursor(event: str, t: str, **fields) -> dict:
        return hook_envelope({**base, "hook_event_name": event, **fields},
                             f"2026-02-03T08:00:{t}Z", platform="cursor")

    envs = [
        cursor("beforeSubmitPrompt", "00.000", prompt="add a test"),
        cursor("beforeShellExecution", "01.000", command="pytest", cwd="/w/app"),
        cursor("afterShellExecution", "03.000", command="pytest", output="1 passed",
               duration=500),
        cursor("afterFileEdit", "04.000", file_path="/w/app/test_x.py",
               edits=[{"old_string": "a", "new_string": "b\nc"}]),
        cursor("stop", "05.000", status="aborted"),
    ]
    composer = "dddddddd-0000-0000-0000-000000000001"
    from blueplane_pipeline.core.envelope import make_envelope
    store_events = [
        ("composer", {"composerId": composer, "name": "Fix the bug", "createdAt": 1,
                      "_workspace": "file:///w/app"}, "2026-02-03T09:00:00.000Z"),
        ("bubble", {"type": 1, "bubbleId": "b1", "text": "fix it", "_composer_id": composer,
                    "modelInfo": {"modelName": "claude-4-sonnet"}}, "2026-02-03T09:00:01.000Z"),
        ("bubble", {"type": 2, "bubbleId": "b2", "text": "done", "_composer_id": composer,
                    "toolFormerData": {"toolCallId": "toolu_c1", "name": "edit_file",
                                       "status": "completed",
                                       "rawArgs": json.dumps({"target_file": "app.py"}),
                                       "result": json.dumps({"diff": {"chunks": [
                                           {"linesAdded": 4, "linesRemoved": 1}]}})}},
         "2026-02-03T09:00:05.000Z"),
    ]
    envs += [make_envelope("cursor", "cursor_db", et, p, session_id=composer, ts=ts)
             for et, p, ts in store_events]
    conn = store(tmp_path / "t.db", envs)
    refresh_all(conn)
    sessions = {s["session_id"]: s for s in rows(conn, "SELECT * FROM sessions")}
    hooked = sessions[conv]
    assert (hooked["platform"], hooked["project_path"], hooked["prompts"]) == \
        ("cursor", "/w/app", 1)
    assert (hooked["tool_calls"], hooked["interrupts"], hooked["edits_accepted"]) == (2, 1, 1)
    assert (hooked["lines_added"], hooked["lines_removed"]) == (2, 1)
    shell = rows(conn, "SELECT * FROM tool_calls WHERE tool_name = 'Shell'")[0]
    assert (shell["status"], shell["latency_ms"]) == ("success", 500.0)
    stored = sessions[composer]
    assert (stored["title"], stored["prompts"], stored["project_path"]) == \
        ("Fix the bug", 1, "/w/app")
    edit = rows(conn, "SELECT * FROM tool_calls WHERE session_id = ?", composer)[0]
    assert (edit["tool_name"], edit["status"], edit["is_edit"], edit["lines_added"],
            edit["lines_removed"]) == ("edit_file", "success", 1, 4, 1)


def _copied_history(session: str, uuid_prefix: str, t_use: str, t_result: str) -> list[dict]:
    """A Bash call with tool_use_id tCOPY, as a resumed session copies it under a new id."""
    return [
        {"type": "assistant", "uuid": f"{uuid_prefix}1", "sessionId": session, "cwd": CWD,
         "timestamp": t_use, "requestId": "r9",
         "message": {"id": "m9", "model": "claude-opus-4-5", "role": "assistant",
                     "content": [{"type": "tool_use", "id": "tCOPY", "name": "Bash",
                                  "input": {"command": "ls"}}]}},
        {"type": "user", "uuid": f"{uuid_prefix}2", "sessionId": session, "cwd": CWD,
         "timestamp": t_result, "message": {"role": "user", "content": [
             {"type": "tool_result", "tool_use_id": "tCOPY", "content": "a b"}]}},
    ]


def test_tool_use_id_copied_into_another_session_counts_once(tmp_path):
    """The original session (earlier start) keeps the call, whichever arrives first."""
    original = _copied_history("s-orig", "o", "2026-02-04T10:00:00.000Z",
                               "2026-02-04T10:00:01.000Z")
    copy = _copied_history("s-copy", "c", "2026-02-04T10:00:00.000Z",
                           "2026-02-04T10:00:01.000Z")
    copy[0]["timestamp"] = "2026-02-04T11:00:00.000Z"  # the copy is written later
    for name, first, second in (("a", copy, original), ("b", original, copy)):
        conn = store(tmp_path / f"{name}.db", line_envelopes(first, file=f"p/{name}1.jsonl"))
        refresh_all(conn)
        from blueplane_pipeline.core.envelope import dumps
        from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise
        RawEventWriter(conn).write([normalise(dumps(e)) for e in
                                    line_envelopes(second, file=f"p/{name}2.jsonl")])
        refresh_all(conn)
        got = {r["session_id"]: r["tool_calls"] for r in rows(conn, "SELECT * FROM sessions")}
        assert got == {"s-orig": 1, "s-copy": 0}, name
        assert [r["session_id"] for r in rows(conn, "SELECT * FROM tool_calls")] == ["s-orig"]


def test_a_changed_cursor_bubble_counts_once(tmp_path):
    """Cursor's importer stores a changed bubble again beside the old version."""
    from blueplane_pipeline.core.envelope import make_envelope

    composer = "dddddddd-0000-0000-0000-000000000002"
    versions = [
        {"type": 1, "bubbleId": "b1", "text": "fix i", "_composer_id": composer},
        {"type": 1, "bubbleId": "b1", "text": "fix it please", "_composer_id": composer},
    ]
    envs = [make_envelope("cursor", "cursor_db", "bubble", v, session_id=composer,
                          ts="2026-02-03T09:00:01.000Z") for v in versions]
    conn = store(tmp_path / "t.db", envs)
    refresh_all(conn)
    turns = rows(conn, "SELECT * FROM turns")
    assert [t["prompt_text"] for t in turns] == ["fix it please"]


def test_mcp_tracking_events_join_the_turn_timeline(tmp_path):
    """blueplane-mcp's track_decision/log_outcome events carry the assistant's session id:
    they appear in that turn's timeline and do not change the session's platform."""
    from blueplane_pipeline.core.envelope import make_envelope

    decision = make_envelope("mcp", "mcp", "decision", {"decision": "use pytest", "cwd": CWD},
                             session_id=S, ts="2026-02-01T10:00:03.000Z")
    outcome = make_envelope("mcp", "mcp", "outcome",
                            {"outcome": "success", "decision_id": decision["event_id"]},
                            session_id=S, ts="2026-02-01T10:03:00.500Z")
    early = make_envelope("mcp", "mcp", "decision", {"decision": "plan first"},
                          session_id=S, ts="2026-02-01T09:59:00.000Z")
    conn = store(tmp_path / "t.db", [early, decision, outcome, *modern_hook_session()])
    refresh_all(conn)
    s = rows(conn, "SELECT * FROM sessions")[0]
    assert s["platform"] == "claude_code" and s["sources"] == "hook,mcp"
    turn = rows(conn, "SELECT * FROM turns WHERE turn_index = 0")[0]
    items = [i for i in json.loads(turn["timeline"]) if i["kind"] in ("decision", "outcome")]
    assert [(i["kind"], i.get("text"), i.get("outcome")) for i in items] == \
        [("decision", "use pytest", None), ("outcome", None, "success")]
    assert items[1]["decision_id"] == items[0]["event_id"] == decision["event_id"]

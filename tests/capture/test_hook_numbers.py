"""NaN, Infinity and out-of-range numbers in a hook payload are normalised where they
enter, by the real hook process, and the event is stored like any other (issue 9 item 8)."""

from __future__ import annotations

import json

from blueplane_pipeline.capture import hook
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from tests.capture.test_hook import run_hook, stored_events

SESSION = "0dd0dd00-0000-4000-8000-00000000000a"
RAW = (
    b'{"session_id": "' + SESSION.encode() + b'", "hook_event_name": "PostToolUse",'
    b' "cwd": "/home/dev/app", "tool_name": "Bash", "tool_use_id": "toolu_n",'
    b' "tool_input": {"command": "bench", "timeout": NaN},'
    b' "duration_ms": Infinity, "score": -Infinity, "ratio": 1e999, "tiny": -1e999,'
    b' "big": 123456789012345678901234567890, "ok": 1.5, "n": 42, "neg": -9223372036854775808}'
)


def test_non_finite_numbers_become_null_through_the_real_hook(redis_home):
    assert run_hook(RAW).returncode == 0
    stats = ingest(config.db_path(), config.redis_url())
    assert stats.dead_lettered == 0 and stats.failed == 0
    (env,) = stored_events(session_id=SESSION)
    assert env["event_type"] == "PostToolUse"  # not invalid_input
    p = env["payload"]
    assert p["tool_input"]["timeout"] is None
    assert (p["duration_ms"], p["score"], p["ratio"], p["tiny"]) == (None, None, None, None)
    assert p["big"] == float(123456789012345678901234567890)
    assert (p["ok"], p["n"], p["neg"]) == (1.5, 42, -9223372036854775808)


def test_the_envelope_is_strict_json():
    payload, error = hook.parse_stdin(RAW)
    assert error is None
    line = hook.encode(hook.build_envelope("claude_code", RAW, "full"))
    assert b"NaN" not in line and b"Infinity" not in line
    json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))

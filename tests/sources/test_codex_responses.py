"""``sources.codex.rollouts.response_usage``: per-response rollout usage, keyed so that
Codex's OTLP ``response.completed`` records can be joined to it (issue 11 owns that join;
here: the keys and numbers it needs are right)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from blueplane_pipeline.sources.codex.rollouts import response_usage

FIX = Path(__file__).parents[1] / "fixtures" / "codex"


def otlp_completed(folder: Path) -> dict[str, list[dict]]:
    """The token-bearing ``response.completed`` log records, per conversation, in order."""
    by_thread: dict[str, list[tuple]] = defaultdict(list)
    for path in sorted((folder / "otlp").glob("*-logs.json")):
        body = json.loads(path.read_text())["body"]
        body = json.loads(body) if isinstance(body, str) else body
        for rl in body.get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                for rec in sl.get("logRecords", []):
                    attrs = {
                        a["key"]: next(iter(a["value"].values()), None)
                        for a in rec.get("attributes", [])
                    }
                    if (
                        attrs.get("event.kind") == "response.completed"
                        and "input_token_count" in attrs
                    ):
                        by_thread[attrs["conversation.id"]].append(
                            (attrs["event.timestamp"], rec.get("observedTimeUnixNano"), attrs)
                        )
    return {
        k: [a for _, _, a in sorted(v, key=lambda t: (t[0], t[1]))] for k, v in by_thread.items()
    }


def test_response_usage_equals_the_standin_response_by_response():
    rollout = next((FIX / "codex_home" / "sessions").rglob("rollout-*.jsonl"))
    served = json.loads((FIX / "standin_usage.json").read_text())
    got = response_usage(rollout)
    assert [r["response_id"] for r in got] == [s["response_id"] for s in served]
    assert [r["n"] for r in got] == list(range(len(served)))
    for mine, theirs in zip(got, served, strict=True):
        u = theirs["usage"]
        assert (
            mine["input_tokens"],
            mine["cached_input_tokens"],
            mine["output_tokens"],
            mine["reasoning_output_tokens"],
            mine["total_tokens"],
        ) == (
            u["input_tokens"],
            u["cached_tokens"],
            u["output_tokens"],
            u["reasoning_tokens"],
            u["total_tokens"],
        )


def test_the_nth_otlp_response_completed_is_the_nth_response_of_its_thread():
    for folder in (FIX, FIX / "extras"):
        otlp = otlp_completed(folder)
        rollouts = sorted((folder / "codex_home" / "sessions").rglob("rollout-*.jsonl"))
        joined = 0
        for rollout in rollouts:
            for resp in response_usage(rollout):
                record = otlp[resp["thread_id"]][resp["n"]]
                assert int(record["input_token_count"]) == resp["input_tokens"]
                assert int(record["cached_token_count"]) == resp["cached_input_tokens"]
                assert int(record["output_token_count"]) == resp["output_tokens"]
                assert int(record["reasoning_token_count"]) == resp["reasoning_output_tokens"]
                joined += 1
        assert joined == sum(len(v) for v in otlp.values())

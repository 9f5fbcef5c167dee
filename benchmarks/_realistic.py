"""Realistic Claude Code hook envelopes, built from the real data in ``tests/fixtures/real``.

Benchmarks must run on events of the sizes and shapes users really produce, not on toy
dicts. Each real transcript is replayed as the hooks would have seen it: SessionStart,
then per prompt a UserPromptSubmit, per ``tool_use`` a PreToolUse (the real
``tool_input``) and a PostToolUse (the real ``toolUseResult`` or ``tool_result``
content as ``tool_response``), a Stop when the assistant hands back, and SessionEnd. The
real hook payloads in ``hook_payloads/`` are added as they are. Sessions are replayed
several times under fresh session ids and interleaved as concurrent sessions would be in
the stream, and every envelope goes through the same privacy filter and ``dumps`` as the
hook, so the bytes are the bytes the stream would hold.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from blueplane_pipeline.core.envelope import dumps, make_envelope
from blueplane_pipeline.core.privacy import filter_payload

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("BLUEPLANE_FIXTURES", ROOT / "tests" / "fixtures" / "real"))
CLAUDE_HOME = FIXTURES / "claude_home"
HOOK_PAYLOADS = FIXTURES / "hook_payloads"


def _lines(path: Path) -> Iterator[dict]:
    with path.open("rb") as fh:
        for raw in fh:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                yield line


def _is_prompt(line: dict) -> str | None:
    content = (line.get("message") or {}).get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        blocks = [b for b in content if isinstance(b, dict)]
        texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
        if texts and not any(b.get("type") == "tool_result" for b in blocks):
            return "\n".join(texts)
    return None


def transcript_hook_payloads(path: Path) -> list[tuple[str, dict]]:
    """(ISO time, hook stdin payload) in the order the hooks would fire for one transcript."""
    out: list[tuple[str, dict]] = []
    pending: dict[str, dict] = {}  # tool_use_id -> PreToolUse payload
    base: dict | None = None
    last_ts = None
    for line in _lines(path):
        ts, kind = line.get("timestamp"), line.get("type")
        if not ts or kind not in ("user", "assistant"):
            continue
        if base is None:
            sid = line.get("sessionId") or path.stem
            base = {"session_id": sid, "transcript_path": f"/home/u/.claude/projects/"
                    f"{path.parent.name}/{path.name}", "cwd": line.get("cwd") or "/"}
            out.append((ts, {**base, "hook_event_name": "SessionStart", "source": "startup"}))
        last_ts = ts
        common = {**base, "permission_mode": "default"}
        if kind == "user":
            prompt = _is_prompt(line)
            if prompt is not None:
                if out and out[-1][1]["hook_event_name"] not in ("SessionStart", "Stop"):
                    out.append((ts, {**common, "hook_event_name": "Stop",
                                     "stop_hook_active": False}))
                out.append((ts, {**common, "hook_event_name": "UserPromptSubmit",
                                 "prompt": prompt}))
                continue
            for block in (line.get("message") or {}).get("content") or []:
                if not isinstance(block, dict) or block.get("type") != "tool_result":
                    continue
                pre = pending.pop(block.get("tool_use_id"), None)
                if pre is None:
                    continue
                response = line.get("toolUseResult", block.get("content"))
                event = "PostToolUseFailure" if block.get("is_error") else "PostToolUse"
                post = {**pre, "hook_event_name": event}
                if event == "PostToolUse":
                    post["tool_response"] = response
                else:
                    post["error"] = response if isinstance(response, str) else json.dumps(response)
                    post["is_interrupt"] = False
                out.append((ts, post))
        else:
            for block in (line.get("message") or {}).get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    pre = {**common, "hook_event_name": "PreToolUse",
                           "tool_name": block.get("name"), "tool_input": block.get("input"),
                           "tool_use_id": block.get("id")}
                    pending[block.get("id")] = pre
                    out.append((ts, pre))
    if base is not None and last_ts:
        out.append((last_ts, {**base, "hook_event_name": "Stop", "stop_hook_active": False}))
        out.append((last_ts, {**base, "hook_event_name": "SessionEnd", "reason": "other"}))
    return out


def real_hook_payloads() -> list[dict]:
    out: list[dict] = []
    for path in sorted(HOOK_PAYLOADS.glob("*/*/logs/*.json")):
        out.extend(json.loads(path.read_text()))
    return out


def corpus() -> list[list[tuple[str, dict]]]:
    """Every session's hook payloads (transcript replays + the real hook payload logs)."""
    sessions = [transcript_hook_payloads(p)
                for p in sorted(CLAUDE_HOME.glob("projects/*/*.jsonl"))]
    sessions = [s for s in sessions if s]
    logged: dict[str, list[tuple[str, dict]]] = {}
    t0 = datetime(2025, 9, 7, 19, 0, tzinfo=UTC)
    for i, payload in enumerate(real_hook_payloads()):
        ts = (t0 + timedelta(seconds=7 * i)).isoformat().replace("+00:00", "Z")
        logged.setdefault(str(payload.get("session_id")), []).append((ts, payload))
    return sessions + list(logged.values())


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def envelopes(n: int | None, *, privacy_mode: str = "standard", concurrent: int = 4,
              seed: int = 7) -> list[bytes]:
    """``n`` envelope lines as the hook would XADD them, ``concurrent`` sessions interleaved.

    Sessions are drawn from the corpus in a seeded random order and replayed under fresh
    session ids with fresh event ids, so nothing is a duplicate. ``n=None`` replays every
    real session exactly once (no repeated content: the honest compression case).
    """
    rng = random.Random(seed)
    base = corpus()
    once = n is None
    if once:
        unused = base[:]
        rng.shuffle(unused)
        n = sum(len(s) for s in base)
    clock = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    out: list[bytes] = []
    heap: list[tuple[datetime, int, int, list]] = []
    counter = 0

    def start_session(at: datetime) -> None:
        nonlocal counter
        if once and not unused:
            return
        events = unused.pop() if once else rng.choice(base)
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        first = _parse(events[0][0])
        replay = [(at + (_parse(ts) - first) / 20, payload) for ts, payload in events]
        counter += 1
        heapq.heappush(heap, (replay[0][0], counter, 0, [sid, replay]))

    for i in range(concurrent):
        start_session(clock + timedelta(seconds=i))
    while len(out) < n and heap:
        when, _, pos, (sid, replay) = heapq.heappop(heap)
        _ts, payload = replay[pos]
        payload = {**payload, "session_id": sid}
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        env = make_envelope("claude_code", "hook", str(payload.get("hook_event_name") or "unknown"),
                            filter_payload(payload, privacy_mode), session_id=sid, ts=stamp,
                            event_id=event_id, captured_at=stamp)
        out.append(dumps(env))
        if pos + 1 < len(replay):
            counter += 1
            heapq.heappush(heap, (replay[pos + 1][0], counter, pos + 1, [sid, replay]))
        else:
            start_session(when + timedelta(seconds=rng.randint(5, 600)))
    return out


def real_payload_envelopes(privacy_mode: str = "standard") -> list[bytes]:
    """The real hook payloads alone, one envelope each (what the compression target names)."""
    out = []
    for payload in real_hook_payloads():
        env = make_envelope("claude_code", "hook", str(payload.get("hook_event_name") or "unknown"),
                            filter_payload(payload, privacy_mode),
                            session_id=payload.get("session_id"))
        out.append(dumps(env))
    return out


def describe(lines: list[bytes]) -> dict:
    sizes = sorted(len(x) for x in lines)
    return {"events": len(lines), "raw_bytes": sum(sizes),
            "mean_bytes": round(sum(sizes) / len(sizes)), "median_bytes": sizes[len(sizes) // 2],
            "p95_bytes": sizes[int(0.95 * (len(sizes) - 1))], "max_bytes": sizes[-1]}


if __name__ == "__main__":
    import collections

    for mode in ("standard", "full"):
        lines = envelopes(20_000, privacy_mode=mode)
        kinds = collections.Counter(json.loads(x)["event_type"] for x in lines)
        print(mode, describe(lines), dict(kinds.most_common()))


def _real_text(size: int) -> str:
    """``size`` characters of real text: the fixture transcripts' own lines, repeated."""
    chunks, total = [], 0
    paths = sorted(CLAUDE_HOME.glob("projects/*/*.jsonl"))
    while total < size:
        for path in paths:
            text = path.read_text(errors="replace")
            chunks.append(text)
            total += len(text)
            if total >= size:
                break
    return "".join(chunks)[:size]


def with_large_reads(lines: list[bytes], *, every: int = 10_000,
                     size: int = 700_000) -> list[bytes]:
    """Every ``every``-th envelope replaced by a ``full``-privacy PostToolUse of a Read whose
    response holds a ``size``-character file (the few huge events a real ``full`` stream
    has: a big file read, a long command output), in that event's session and time."""
    text = _real_text(size)
    out = list(lines)
    for i in range(every // 2, len(out), every):
        env = json.loads(out[i])
        payload = {"session_id": env["session_id"], "cwd": "/home/u/proj",
                   "transcript_path": "/home/u/.claude/projects/-home-u-proj/x.jsonl",
                   "hook_event_name": "PostToolUse", "tool_name": "Read",
                   "tool_use_id": f"toolu_big_{i}", "permission_mode": "default",
                   "tool_input": {"file_path": "/home/u/proj/data/big.log"},
                   "tool_response": {"type": "text", "file": {
                       "filePath": "/home/u/proj/data/big.log", "content": text,
                       "numLines": text.count("\n"), "startLine": 1,
                       "totalLines": text.count("\n")}}}
        out[i] = dumps(make_envelope("claude_code", "hook", "PostToolUse", payload,
                                     session_id=env["session_id"], ts=env["ts"],
                                     event_id=env["event_id"], captured_at=env["captured_at"]))
    return out

"""Tapedeck: a throwaway assistant that exists only to prove the registry's promise.

Its history is ``*.tape`` files of JSON lines (``kind``: prompt, call, result, reply).
Everything an assistant needs is in this one module; ``tests/core/test_registry.py`` registers
it with one line and expects it in sessions, tool calls, usage and the MCP metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

from blueplane_pipeline.analytics.facts import Fact, model_name, note, prompt_fact, tool_info
from blueplane_pipeline.core.envelope import deterministic_id, dumps, make_envelope
from blueplane_pipeline.core.privacy import filter_payload
from blueplane_pipeline.core.times import parse_iso_ms
from blueplane_pipeline.sources.importer import Importer
from blueplane_pipeline.sources.stats import SentStats
from blueplane_pipeline.usage.records import UsageRecord

PLATFORM = "tapedeck"
SOURCE = "tape"
USAGE_EVENT_TYPES = ("reply",)


def facts(ts: int, seq: int, source: str, etype: str, p: dict, base: Fact,
          out: list[Fact]) -> None:
    note(base, "cwd", p.get("cwd"))
    note(base, "model", model_name(p.get("model")))
    if etype == "prompt":
        prompt_fact(ts, seq, source, p.get("text"), out)
    elif etype == "call":
        out.append(Fact(ts, seq, "tool_use", source, p["call_id"], p["tool"], {
            **tool_info(p["tool"], p.get("input")), "model": p.get("model"),
            "sidechain": False}))
    elif etype == "result":
        outcome = ("success", None, None) if p.get("ok") else ("error", "other", None)
        out.append(Fact(ts, seq, "tool_result", source, p["call_id"], data={"outcome": outcome}))
    elif etype == "reply":
        out.append(Fact(ts, seq, "assistant", source, p["id"], p.get("model"),
                        {"sidechain": False}))


def usage_record(seq: int, envelope: dict) -> UsageRecord | None:
    p = envelope.get("payload") or {}
    usage = p.get("usage")
    ts = parse_iso_ms(p.get("t"))
    if not isinstance(usage, dict) or ts is None:
        return None
    return UsageRecord(
        message_id=p["id"], request_id=None, session_id=envelope["session_id"],
        line_session_id=envelope["session_id"], project=Path(p.get("cwd") or "x").name,
        model=p.get("model"), ts_ms=ts, input_tokens=usage["in"], output_tokens=usage["out"],
        cache_creation_5m=0, cache_creation_1h=0, cache_read_tokens=0, cost_usd_log=None,
        is_sidechain=False, source_file=p["_file"], source_line=p["_line"], seq=seq)


def read(conn, sink, *, dirs: list[Path], privacy_mode: str, progress=None) -> SentStats:
    """Send every line of every tape (ids are deterministic: re-imports store nothing new)."""
    stats = SentStats()
    for folder in dirs:
        for path in sorted(Path(folder).glob("*.tape")):
            for n, raw in enumerate(path.read_text().splitlines(), 1):
                line = json.loads(raw)
                payload = filter_payload({**line, "_file": path.name, "_line": n},
                                         privacy_mode)
                sink.add(dumps(make_envelope(
                    PLATFORM, SOURCE, line["kind"], payload, session_id=line["session"],
                    ts=line["t"], event_id=deterministic_id(SOURCE, path.name, str(n)))))
                stats.events += 1
    sink.flush()
    stats.record_sink(sink)
    return stats


IMPORTER = Importer(what="tapes", state_source=SOURCE, default_dirs=lambda: [], read=read,
                    changed=lambda states, dirs: [], dir_option="--tape-dir",
                    dir_help="Folder of *.tape files.")

"""Cursor's stored events (hooks and its ``state.vscdb`` store) -> facts."""

from __future__ import annotations

import orjson

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.analytics.facts import (
    TEXT_KEEP,
    Fact,
    by_source,
    model_name,
    note,
    number,
    prompt_fact,
    response_info,
    tool_info,
)


def _hook(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    src = "hook"
    name = p.get("hook_event_name") or etype
    roots = p.get("workspace_roots")
    if isinstance(roots, list) and roots and isinstance(roots[0], str):
        note(base, "cwd", roots[0])
    note(base, "model", model_name(p.get("model")))
    if name == "beforeSubmitPrompt":
        prompt_fact(ts, seq, src, p.get("prompt"), out)
    elif name in ("beforeShellExecution", "afterShellExecution", "beforeMCPExecution",
                  "afterMCPExecution"):
        if "Shell" in name:
            tool, inp = "Shell", {"command": p.get("command")}
        else:
            tool = f"mcp__{p.get('server') or 'cursor'}__{p.get('tool_name') or 'tool'}"
            inp = p.get("tool_input")
        if name.startswith("before"):
            out.append(Fact(ts, seq, "pre", src, None, tool, tool_info(tool, inp)))
        else:
            out.append(Fact(ts, seq, "post", src, None, tool, {
                **tool_info(tool, inp), "duration_ms": number(p.get("duration")),
                "outcome": ("success", None, None)}))
    elif name in ("beforeReadFile", "afterFileEdit"):
        tool = "Read" if name == "beforeReadFile" else "cursor_edit"
        inp = {"file_path": p.get("file_path"), "edits": p.get("edits")}
        out.append(Fact(ts, seq, "post", src, None, tool, {
            **tool_info(tool, inp), "outcome": ("success", None, None), "standalone": True}))
    elif name == "afterAgentResponse":
        text, chars = classify.text_of(p.get("text"))
        out.append(Fact(ts, seq, "assistant", src, p.get("generation_id") or f"line:{seq}",
                        model_name(p.get("model")), {"sidechain": False}))
        out.append(Fact(ts, seq, "text", src, data={"text": text[:TEXT_KEEP] if text else None,
                                                     "chars": chars}))
    elif name in ("stop", "sessionEnd"):
        out.append(Fact(ts, seq, "stop", src, name=str(p.get("status") or name)))
        if p.get("status") == "aborted":
            out.append(Fact(ts, seq, "interrupt", src))


def _store(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    """Composers (conversations) and their bubbles (messages), at a basic level. Shapes as
    ``sources.cursor.store`` writes them: ``composer`` / ``composer_data`` (session =
    composerId) and ``bubble`` (session = its composer; ``type`` 1 user, 2 assistant)."""
    src = "cursor_db"
    workspace = p.get("_workspace")
    if isinstance(workspace, str) and workspace:
        note(base, "cwd", workspace.removeprefix("file://"))
    if etype in ("composer", "composer_data"):
        note(base, "custom_title", p.get("name"))
        return
    if etype != "bubble":
        return
    kind = p.get("type")
    info = p.get("modelInfo")
    model = model_name(info.get("modelName") if isinstance(info, dict) else None)
    note(base, "model", model)
    bubble = str(p.get("bubbleId") or p.get("_bubble_id") or f"line:{seq}")
    base.data["bubble"] = bubble  # a changed bubble is stored again: the builder keeps the last
    if kind == 1:
        prompt_fact(ts, seq, src, p.get("text"), out)
        return
    if kind != 2:
        return
    out.append(Fact(ts, seq, "assistant", src, bubble, model, {"sidechain": False}))
    text, chars = classify.text_of(p.get("text"))
    if chars:
        out.append(Fact(ts, seq, "text", src, data={"text": text[:TEXT_KEEP] if text else None,
                                                     "chars": chars}))
    tool = p.get("toolFormerData")
    if isinstance(tool, dict) and isinstance(tool.get("name"), str):
        tid = str(tool.get("toolCallId") or f"cursor:{bubble}")
        out.append(Fact(ts, seq, "tool_use", src, tid, tool["name"], {
            **tool_info(tool["name"], _json_value(tool.get("rawArgs"))), "model": model,
            "sidechain": False}))
        outcome = _CURSOR_STATUS.get(tool.get("status"))
        if outcome:
            out.append(Fact(ts, seq, "tool_result", src, tid, data={
                **response_info(_json_value(tool.get("result"))), "outcome": outcome}))


def _json_value(value: object) -> object:
    """Cursor stores tool arguments and results as JSON strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


_CURSOR_STATUS = {
    "completed": ("success", None, None),
    "error": ("error", "other", None),
    "cancelled": ("interrupted", "user_interrupted", None),
    "rejected": ("rejected", "user_rejected", None),
}


# The platform's ``facts``: one extractor per envelope source.
facts = by_source({"hook": _hook, "cursor_db": _store})

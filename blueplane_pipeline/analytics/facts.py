"""Stored events -> small facts.

Every source (Claude Code hooks, transcript lines, Cursor hooks, Cursor's store) is read
here and only here; the session builder works on facts and never looks at payloads. Facts
are small, so a full rebuild can hold a whole database's worth of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.core.times import parse_ts_ms

TEXT_KEEP = 300  # characters of assistant text kept for the turn timeline


@dataclass(slots=True)
class Fact:
    ts: int  # ms since epoch
    seq: int  # raw event seq (tie-breaker: arrival order)
    kind: str
    source: str  # hook | transcript | cursor_db
    key: str | None = None  # tool_use_id, message id, prompt key ...
    name: str | None = None  # tool name, model ...
    data: dict = field(default_factory=dict)


def event_ts(envelope: dict) -> int:
    return parse_ts_ms(envelope.get("ts")) or parse_ts_ms(envelope.get("captured_at")) or 0


def extract(seq: int, envelope: dict) -> list[Fact]:
    """The facts one stored event contributes. The first is always an ``event`` fact."""
    ts = event_ts(envelope)
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    platform = envelope.get("platform") or ""
    source = envelope.get("source") or ""
    etype = envelope.get("event_type") or ""
    base = Fact(ts, seq, "event", source, key=str(envelope.get("event_id") or seq),
                name=platform, data={})
    out = [base]
    if platform == "claude_code" and source == "hook":
        _claude_hook(ts, seq, etype, payload, base, out)
    elif platform == "claude_code" and source == "transcript":
        _transcript(ts, seq, etype, payload, base, out)
    elif platform == "cursor" and source == "hook":
        _cursor_hook(ts, seq, etype, payload, base, out)
    elif platform == "cursor" and source == "cursor_db":
        _cursor_db(ts, seq, etype, payload, base, out)
    elif platform == "mcp" and etype in ("decision", "outcome"):
        # tracking tools of blueplane-mcp: shown in the turn timeline where they happened
        text, _ = classify.text_of(payload.get("decision") or payload.get("notes"))
        out.append(Fact(ts, seq, etype, source, base.key, data={
            "text": text[:TEXT_KEEP] if text else None, "outcome": payload.get("outcome"),
            "decision_id": payload.get("decision_id")}))
    return out


# ---------------------------------------------------------------- Claude Code hooks

def _claude_hook(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    src = "hook"
    name = p.get("hook_event_name") or etype
    _set(base, "cwd", p.get("cwd"))
    _set(base, "model", _model_name(p.get("model")))
    tool = p.get("tool_name") if isinstance(p.get("tool_name"), str) else None
    tid = p.get("tool_use_id") if isinstance(p.get("tool_use_id"), str) else None
    inp = p.get("tool_input")
    if name == "PreToolUse" and tool:
        out.append(Fact(ts, seq, "pre", src, tid, tool, tool_info(tool, inp)))
    elif name == "PostToolUse" and tool:
        resp = p.get("tool_response")
        interrupted = isinstance(resp, dict) and resp.get("interrupted") is True
        info = tool_info(tool, inp, resp)
        out.append(Fact(ts, seq, "post", src, tid, tool, {
            **info, "duration_ms": _num(p.get("duration_ms")) or info.get("duration_ms"),
            "outcome": ("interrupted", "user_interrupted", None) if interrupted
            else ("success", None, None)}))
    elif name == "PostToolUseFailure" and tool:
        out.append(Fact(ts, seq, "fail", src, tid, tool, {
            **tool_info(tool, inp), "duration_ms": _num(p.get("duration_ms")),
            "outcome": classify.hook_failure_outcome(p.get("error"), p.get("is_interrupt"))}))
    elif name == "PermissionRequest" and tool:
        out.append(Fact(ts, seq, "perm_request", src, tid, tool, tool_info(tool, inp)))
    elif name == "PermissionDenied" and tool:
        out.append(Fact(ts, seq, "perm_denied", src, tid, tool, {
            **tool_info(tool, inp), "outcome": ("rejected", "permission_denied", None)}))
    elif name == "UserPromptSubmit":
        _prompt(ts, seq, src, p.get("prompt"), out)
    elif name == "PreCompact":
        out.append(Fact(ts, seq, "compact", src, name="hook"))
    elif name in ("Stop", "SessionEnd"):
        out.append(Fact(ts, seq, "stop", src, name=name))
        if name == "SessionEnd":
            _set(base, "end_reason", p.get("reason"))


# ---------------------------------------------------------------- Claude Code transcripts

def _transcript(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    src = "transcript"
    if not p.get("timestamp"):
        # summary/title lines carry no time; the importer stamps them with the file's
        # mtime, which says nothing about when the session ran
        base.data["untimed"] = True
    _set(base, "cwd", p.get("cwd"))
    _set(base, "branch", p.get("gitBranch"))
    sidechain = p.get("isSidechain") is True
    if etype == "summary":
        _set(base, "summary", p.get("summary"))
        return
    if etype == "custom-title":
        _set(base, "custom_title", p.get("customTitle") or p.get("title"))
        return
    if etype == "system":
        if p.get("subtype") == "compact_boundary":
            out.append(Fact(ts, seq, "compact", src, name="boundary"))
        return
    message = p.get("message")
    if not isinstance(message, dict):
        return
    content = message.get("content")
    if etype == "assistant":
        model = _model_name(message.get("model"))
        mid = message.get("id") if isinstance(message.get("id"), str) else None
        if model == "<synthetic>":
            return  # an API error written as a message, not a model answer
        out.append(Fact(ts, seq, "assistant", src, mid or f"line:{seq}", model,
                        {"sidechain": sidechain}))
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "tool_use" and isinstance(block.get("id"), str):
                tool = str(block.get("name"))
                out.append(Fact(ts, seq, "tool_use", src, block["id"], tool, {
                    **tool_info(tool, block.get("input")), "model": model,
                    "sidechain": sidechain}))
            elif kind == "text" and not sidechain:
                text, chars = classify.text_of(block.get("text"))
                out.append(Fact(ts, seq, "text", src, data={
                    "text": text[:TEXT_KEEP] if text else None, "chars": chars}))
        return
    if etype != "user":
        return
    if p.get("isCompactSummary") is True:
        out.append(Fact(ts, seq, "compact", src, name="summary"))
        return
    if p.get("isMeta") is True:
        return
    blocks = content if isinstance(content, list) else []
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
    for block in results:
        tid = block.get("tool_use_id")
        if not isinstance(tid, str):
            continue
        # the line's toolUseResult belongs to its one tool_result
        result = p.get("toolUseResult") if len(results) == 1 else None
        out.append(Fact(ts, seq, "tool_result", src, tid, data={
            **response_info(result),
            "outcome": classify.transcript_outcome(block.get("is_error"), block.get("content"),
                                                   result, block.get("error_head"))}))
    if results:
        return
    text, _ = classify.text_of(content)
    if text is not None and text.lstrip().startswith(classify.INTERRUPT_MARKER):
        if not sidechain:
            out.append(Fact(ts, seq, "interrupt", src))
        return
    if text is not None and text.lstrip().startswith(("<local-command-stdout>",
                                                       "<local-command-stderr>")):
        return
    if sidechain:
        return  # a subagent's task prompt, not the user's
    _prompt(ts, seq, src, content if isinstance(content, (str, dict)) else _first_text(blocks),
            out)


def _first_text(blocks: list) -> object:
    texts = [b.get("text") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    if len(texts) == 1:
        return texts[0]
    joined, _ = classify.text_of(blocks)
    return joined if joined is not None else (texts[0] if texts else None)


# ---------------------------------------------------------------- Cursor hooks

def _cursor_hook(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    src = "hook"
    name = p.get("hook_event_name") or etype
    roots = p.get("workspace_roots")
    if isinstance(roots, list) and roots and isinstance(roots[0], str):
        _set(base, "cwd", roots[0])
    _set(base, "model", _model_name(p.get("model")))
    if name == "beforeSubmitPrompt":
        _prompt(ts, seq, src, p.get("prompt"), out)
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
                **tool_info(tool, inp), "duration_ms": _num(p.get("duration")),
                "outcome": ("success", None, None)}))
    elif name in ("beforeReadFile", "afterFileEdit"):
        tool = "Read" if name == "beforeReadFile" else "cursor_edit"
        inp = {"file_path": p.get("file_path"), "edits": p.get("edits")}
        out.append(Fact(ts, seq, "post", src, None, tool, {
            **tool_info(tool, inp), "outcome": ("success", None, None), "standalone": True}))
    elif name == "afterAgentResponse":
        text, chars = classify.text_of(p.get("text"))
        out.append(Fact(ts, seq, "assistant", src, p.get("generation_id") or f"line:{seq}",
                        _model_name(p.get("model")), {"sidechain": False}))
        out.append(Fact(ts, seq, "text", src, data={"text": text[:TEXT_KEEP] if text else None,
                                                     "chars": chars}))
    elif name in ("stop", "sessionEnd"):
        out.append(Fact(ts, seq, "stop", src, name=str(p.get("status") or name)))
        if p.get("status") == "aborted":
            out.append(Fact(ts, seq, "interrupt", src))


# ---------------------------------------------------------------- Cursor's store

def _cursor_db(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    """Composers (conversations) and their bubbles (messages), at a basic level. Shapes as
    ``sources.cursor_store`` writes them: ``composer`` / ``composer_data`` (session =
    composerId) and ``bubble`` (session = its composer; ``type`` 1 user, 2 assistant)."""
    src = "cursor_db"
    workspace = p.get("_workspace")
    if isinstance(workspace, str) and workspace:
        _set(base, "cwd", workspace.removeprefix("file://"))
    if etype in ("composer", "composer_data"):
        _set(base, "custom_title", p.get("name"))
        return
    if etype != "bubble":
        return
    kind = p.get("type")
    info = p.get("modelInfo")
    model = _model_name(info.get("modelName") if isinstance(info, dict) else None)
    _set(base, "model", model)
    bubble = str(p.get("bubbleId") or p.get("_bubble_id") or f"line:{seq}")
    base.data["bubble"] = bubble  # a changed bubble is stored again: the builder keeps the last
    if kind == 1:
        _prompt(ts, seq, src, p.get("text"), out)
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


# ---------------------------------------------------------------- helpers

def tool_info(tool: str, tool_input: object, response: object = None) -> dict:
    """What the session builder needs of a call's input (and response), small enough to
    keep for a whole database: fingerprint, file, line counts, user-modified."""
    info = {"fp": classify.fingerprint(tool, tool_input),
            "path": classify.file_path_of(tool_input, response)}
    if tool in classify.EDIT_TOOLS:
        info["in_lines"] = classify.input_edit_lines(tool, tool_input)
    if response is not None:
        resp = response_info(response)
        if info["path"]:
            resp.pop("path", None)
        info.update(resp)
    return info


def response_info(response: object) -> dict:
    info: dict = {}
    if not isinstance(response, dict) or not response:
        return info
    lines = classify.response_edit_lines(response)
    if lines is not None:
        info["resp_lines"] = lines
    if classify.user_modified(response):
        info["modified"] = True
    path = classify.file_path_of(response)
    if path:
        info["path"] = path
    duration = response.get("durationMs")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        info["duration_ms"] = float(duration)
    return info


def _prompt(ts: int, seq: int, src: str, value: object, out: list[Fact]) -> None:
    text, chars = classify.text_of(value)
    out.append(Fact(ts, seq, "prompt", src, classify.prompt_key(value), data={
        "text": text, "chars": chars}))


def _set(base: Fact, key: str, value: object) -> None:
    if isinstance(value, str) and value:
        base.data[key] = value


def _model_name(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("display_name") or value.get("id")
    return value if isinstance(value, str) and value else None


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None

"""Claude Code's stored events (hooks and transcript lines) -> facts."""

from __future__ import annotations

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


def hook_facts(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    """Facts of a hook payload in Claude Code's shape (Codex's hooks share it)."""
    src = "hook"
    name = p.get("hook_event_name") or etype
    note(base, "cwd", p.get("cwd"))
    note(base, "model", model_name(p.get("model")))
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
            **info, "duration_ms": number(p.get("duration_ms")) or info.get("duration_ms"),
            "outcome": ("interrupted", "user_interrupted", None) if interrupted
            else ("success", None, None)}))
    elif name == "PostToolUseFailure" and tool:
        out.append(Fact(ts, seq, "fail", src, tid, tool, {
            **tool_info(tool, inp), "duration_ms": number(p.get("duration_ms")),
            "outcome": classify.hook_failure_outcome(p.get("error"), p.get("is_interrupt"),
                                                     p.get("error_head"))}))
    elif name == "PermissionRequest" and tool:
        out.append(Fact(ts, seq, "perm_request", src, tid, tool, tool_info(tool, inp)))
    elif name == "PermissionDenied" and tool:
        out.append(Fact(ts, seq, "perm_denied", src, tid, tool, {
            **tool_info(tool, inp), "outcome": ("rejected", "permission_denied", None)}))
    elif name == "UserPromptSubmit":
        prompt_fact(ts, seq, src, p.get("prompt"), out)
    elif name == "PreCompact":
        out.append(Fact(ts, seq, "compact", src, name="hook"))
    elif name in ("Stop", "SessionEnd"):
        out.append(Fact(ts, seq, "stop", src, name=name))
        if name == "SessionEnd":
            note(base, "end_reason", p.get("reason"))


def _transcript(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    src = "transcript"
    if not p.get("timestamp"):
        # summary/title lines carry no time; the importer stamps them with the file's
        # mtime, which says nothing about when the session ran
        base.data["untimed"] = True
    note(base, "cwd", p.get("cwd"))
    note(base, "branch", p.get("gitBranch"))
    sidechain = p.get("isSidechain") is True
    if etype == "summary":
        note(base, "summary", p.get("summary"))
        return
    if etype == "custom-title":
        note(base, "custom_title", p.get("customTitle") or p.get("title"))
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
        model = model_name(message.get("model"))
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
    prompt_fact(ts, seq, src, content if isinstance(content, (str, dict)) else _first_text(blocks),
            out)


def _first_text(blocks: list) -> object:
    texts = [b.get("text") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    if len(texts) == 1:
        return texts[0]
    joined, _ = classify.text_of(blocks)
    return joined if joined is not None else (texts[0] if texts else None)


# The platform's ``facts``: one extractor per envelope source.
facts = by_source({"hook": hook_facts, "transcript": _transcript})

"""Gemini CLI's stored events -> facts.

Session lines give prompts, the model's answers and tool calls with the outcome the
session reader worked out (``_bp.calls``; a failed shell command is an error although
Gemini records it as a success). Hooks give the live view: BeforeAgent's prompt,
BeforeTool/AfterTool (no call id: paired with the session's call by tool + input),
AfterAgent and SessionEnd as the ends of turns and sessions."""

from __future__ import annotations

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.analytics.facts import TEXT_KEEP, Fact, by_source, note, prompt_fact
from blueplane_pipeline.sources.gemini.sessions import TOOL_NAMES, conversation_text, shell_exit

SRC = "session"


def _args_by_call(p: dict) -> dict[str, object]:
    """Each tool call's arguments on the (filtered) line, for the fingerprint a hook of
    the same call also computes."""
    return {c.get("id"): c.get("args") for c in p.get("toolCalls") or [] if isinstance(c, dict)}


def _hook(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    name = p.get("hook_event_name") or etype
    note(base, "cwd", p.get("cwd"))
    raw_tool = p.get("tool_name") if isinstance(p.get("tool_name"), str) else None
    tool = TOOL_NAMES.get(raw_tool, raw_tool) if raw_tool else None
    inp = p.get("tool_input")
    if name == "BeforeAgent":
        prompt_fact(ts, seq, "hook", p.get("prompt"), out)
    elif name == "BeforeTool" and tool:
        out.append(
            Fact(
                ts,
                seq,
                "pre",
                "hook",
                None,
                tool,
                {"fp": classify.fingerprint(tool, inp), "path": None},
            )
        )
    elif name == "AfterTool" and tool:
        response = p.get("tool_response") if isinstance(p.get("tool_response"), dict) else {}
        code = shell_exit(response.get("llmContent")) if raw_tool == "run_shell_command" else None
        outcome = (
            ("error", "exit_code", f"exit code {code}")
            if code not in (0, None)
            else ("success", None, None)
        )
        out.append(
            Fact(
                ts,
                seq,
                "post",
                "hook",
                None,
                tool,
                {"fp": classify.fingerprint(tool, inp), "path": None, "outcome": outcome},
            )
        )
    elif name in ("AfterAgent", "SessionEnd"):
        out.append(Fact(ts, seq, "stop", "hook", name="Stop" if name == "AfterAgent" else name))
        if name == "SessionEnd":
            note(base, "end_reason", p.get("reason"))


def _session(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    bp = p.get("_bp") if isinstance(p.get("_bp"), dict) else {}
    note(base, "cwd", p.get("cwd"))
    if etype == "user":
        if "message" not in p:
            return  # tool results travel as user messages
        text = conversation_text(p)
        if isinstance(text, str) and text.lstrip().startswith("<session_context>"):
            return
        prompt_fact(ts, seq, SRC, text, out)
        return
    if etype != "gemini":
        return
    model = bp.get("model")
    mid = p.get("id") if isinstance(p.get("id"), str) else f"line:{seq}"
    out.append(Fact(ts, seq, "assistant", SRC, mid, model))
    text, chars = classify.text_of(conversation_text(p))
    if text:
        out.append(Fact(ts, seq, "text", SRC, data={"text": text[:TEXT_KEEP], "chars": chars}))
    args = _args_by_call(p)
    for call in bp.get("calls") or ():
        tool = str(call.get("tool") or "unknown")
        data: dict = {
            "fp": classify.fingerprint(tool, args.get(call["id"])),
            "path": None,
            "model": model,
        }
        out.append(Fact(ts, seq, "tool_use", SRC, call["id"], tool, data))
        result: dict = {}
        lines = call.get("lines")
        if isinstance(lines, list) and len(lines) == 3:
            result["resp_lines"] = tuple(lines)
        if call.get("ok"):
            result["outcome"] = ("success", None, None)
        elif call.get("state") == "cancelled":
            result["outcome"] = ("interrupted", "user_interrupted", None)
        else:
            code = call.get("exit")
            result["outcome"] = (
                "error",
                "exit_code" if code else "other",
                f"exit code {code}" if code else None,
            )
        out.append(Fact(ts, seq, "tool_result", SRC, call["id"], data=result))


facts = by_source({SRC: _session, "hook": _hook})

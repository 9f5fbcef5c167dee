"""Gemini CLI's stored session lines -> facts: prompts, the model's answers, and tool
calls with the outcome the rollout reader worked out (``_bp.calls``; a failed shell
command is an error although Gemini records it as a success)."""

from __future__ import annotations

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.analytics.facts import TEXT_KEEP, Fact, by_source, prompt_fact

SRC = "session"


def _session(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    bp = p.get("_bp") if isinstance(p.get("_bp"), dict) else {}
    if etype == "user":
        content = p.get("content")
        parts = content if isinstance(content, list) else []
        if any(isinstance(c, dict) and "functionResponse" in c for c in parts):
            return  # tool results travel as user messages
        texts = [c.get("text") for c in parts if isinstance(c, dict)]
        text = texts[0] if len(texts) == 1 else content
        if isinstance(text, str) and text.lstrip().startswith("<session_context>"):
            return
        prompt_fact(ts, seq, SRC, text, out)
        return
    if etype != "gemini":
        return
    model = bp.get("model")
    mid = p.get("id") if isinstance(p.get("id"), str) else f"line:{seq}"
    out.append(Fact(ts, seq, "assistant", SRC, mid, model))
    text, chars = classify.text_of(p.get("content"))
    if text:
        out.append(Fact(ts, seq, "text", SRC, data={"text": text[:TEXT_KEEP], "chars": chars}))
    for call in bp.get("calls") or ():
        tool = str(call.get("tool") or "unknown")
        data: dict = {"fp": f"{tool}:{call['id']}", "path": None, "model": model}
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


facts = by_source({SRC: _session})

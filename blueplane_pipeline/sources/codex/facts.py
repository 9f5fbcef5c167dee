"""Codex's stored events (hooks and rollout lines) -> facts.

Hooks have Claude Code's payload shape (``tool_use_id`` = the rollout's ``call_id``), so
their facts are Claude Code's. Rollout lines give the model's answers, the prompts and
the tool calls with their real outcome (``_bp``, written by the rollout reader): a shell
command that exits non-zero is an error although Codex's own ``PostToolUse`` says
nothing of it, and a rollout outcome wins over a hook outcome in the session builder.
"""

from __future__ import annotations

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.analytics.facts import (
    TEXT_KEEP,
    Fact,
    by_source,
    note,
    prompt_fact,
)
from blueplane_pipeline.sources.claude_code.facts import hook_facts
from blueplane_pipeline.sources.codex.rollouts import conversation_text

SRC = "rollout"


def _command_of(p: dict) -> dict:
    """The call's input as Codex's hooks show it (``{"command": …}``), for fingerprints."""
    from blueplane_pipeline.sources.codex.rollouts import _arguments, shell_command

    if p.get("type") == "custom_tool_call":
        return {"command": p.get("input")}
    args = _arguments(p.get("arguments") if "arguments" in p else p.get("action"))
    command = shell_command(args)
    return {"command": command} if command is not None else args


def _rollout(ts: int, seq: int, etype: str, p: dict, base: Fact, out: list[Fact]) -> None:
    bp = p.get("_bp") if isinstance(p.get("_bp"), dict) else {}
    body = p.get("payload") if isinstance(p.get("payload"), dict) else {}
    if etype in ("session_meta", "turn_context"):
        note(base, "cwd", body.get("cwd"))
        note(base, "model", bp.get("model") or body.get("model"))
        git = body.get("git") if isinstance(body.get("git"), dict) else {}
        note(base, "branch", git.get("branch"))
        return
    call = bp.get("call")
    if isinstance(call, dict) and isinstance(call.get("id"), str):
        tool = str(call.get("tool") or "unknown")
        data = {
            "fp": classify.fingerprint(tool, _command_of(body)),
            "path": None,
            "model": call.get("model"),
        }
        if tool in classify.EDIT_TOOLS:
            lines = call.get("lines")
            data["in_lines"] = (
                tuple(lines) if isinstance(lines, list) and len(lines) == 3 else (0, 0, False)
            )
        out.append(Fact(ts, seq, "tool_use", SRC, call["id"], tool, data))
        return
    result = bp.get("result")
    if isinstance(result, dict) and isinstance(result.get("id"), str):
        data: dict = {}
        lines = result.get("lines")
        if isinstance(lines, list) and len(lines) == 3:
            data["resp_lines"] = tuple(lines)
        if result.get("ok"):
            data["outcome"] = ("success", None, None)
        elif result.get("state") == "refused":
            data["outcome"] = ("rejected", "permission_denied", "refused by the approval policy")
        elif result.get("state") == "aborted":
            data["outcome"] = ("interrupted", "user_interrupted", None)
        else:
            code = result.get("exit")
            data["outcome"] = (
                "error",
                "exit_code" if code is not None else "other",
                f"exit code {code}" if code is not None else None,
            )
        out.append(Fact(ts, seq, "tool_result", SRC, result["id"], data=data))
        return
    if etype == "item_completed":
        item = body.get("item") if isinstance(body.get("item"), dict) else {}
        kind = item.get("type")
        if kind == "UserMessage":
            prompt_fact(ts, seq, SRC, conversation_text(p), out)
        elif kind == "AgentMessage" and isinstance(item.get("id"), str):
            out.append(Fact(ts, seq, "assistant", SRC, item["id"], base.data.get("model")))
            text, chars = classify.text_of(conversation_text(p))
            out.append(
                Fact(
                    ts,
                    seq,
                    "text",
                    SRC,
                    data={"text": text[:TEXT_KEEP] if text else None, "chars": chars},
                )
            )
    elif etype == "user_message":  # older rollouts
        prompt_fact(ts, seq, SRC, conversation_text(p), out)
    elif etype == "task_complete":
        out.append(Fact(ts, seq, "stop", SRC, name="Stop"))
    elif etype == "turn_aborted":
        out.append(Fact(ts, seq, "interrupt", SRC))
    elif etype == "compacted":
        out.append(Fact(ts, seq, "compact", SRC, name="auto"))


facts = by_source({"hook": hook_facts, SRC: _rollout})

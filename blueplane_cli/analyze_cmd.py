"""``blueplane analyze SESSION``: one session in depth — summary, turn timeline, tools, files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from blueplane_cli.formats import chosen, emit, format_options, human
from blueplane_cli.output import fail
from blueplane_cli.reading import complete_sessions, reader

SUMMARY = ("session_id", "platform", "project_path", "git_branch", "models", "title",
           "started_at", "ended_at", "duration_s", "active_s", "prompts", "tool_calls",
           "tool_errors", "tool_rejected", "tool_interrupted", "edits_accepted",
           "edits_rejected", "acceptance_rate", "lines_added", "lines_removed",
           "input_tokens", "output_tokens", "cache_read_tokens", "cost_usd", "compactions",
           "subagents", "interrupts", "end_reason", "sources")
TURN_COLUMNS = ("turn_index", "started_at", "duration_s", "prompt", "tool_calls", "tool_errors",
                "edits", "lines")
TOOL_COLUMNS = ("tool_name", "calls", "success", "errors", "rejected", "interrupted",
                "latency_p50_ms", "latency_p95_ms")
FILE_COLUMNS = ("file_path", "edits", "accepted", "rejected", "lines_added", "lines_removed",
                "reedited_within_5m")
ERROR_COLUMNS = ("started_at", "tool_name", "status", "error_class", "error_text")


@click.command()
@click.argument("session_id", metavar="SESSION", shell_complete=complete_sessions)
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the analysis to FILE (.json, or .md for markdown).")
@click.option("--turn", "turn_index", type=click.IntRange(0), metavar="N",
              help="Only turn N: its whole prompt and every step (as `blueplane search` "
                   "names hits).")
@format_options
def analyze(session_id: str, export_path: Path | None, turn_index: int | None, fmt: str,
            as_json: bool) -> None:
    """One session in depth: summary, turn timeline, tools, files, errors.

    SESSION is a session id or a unique prefix of one (as `blueplane sessions` shows).
    """
    from blueplane_pipeline.read.sessions import resolve_session, session_detail

    fmt = chosen(fmt, as_json)
    with reader() as conn:
        resolved, suggestions = resolve_session(conn, session_id)
        if resolved is None:
            hint = (f"; did you mean {', '.join(suggestions)}?" if suggestions
                    else "; `blueplane sessions` lists them")
            fail(f"no session {session_id!r}{hint}")
        detail = session_detail(conn, resolved)
    if detail is None:  # deleted between the two reads
        fail(f"no session {session_id!r}")
    for turn in detail["turns"]:
        turn["timeline"] = _timeline(turn.get("timeline"))
    if turn_index is not None:
        return _one_turn(detail, turn_index, fmt)
    from blueplane_pipeline.read.otel import otel_of_session

    detail["otel"] = otel_of_session(detail["session"])
    if export_path:
        _export(detail, export_path)
    if fmt == "json":
        emit([], [], fmt, raw=detail)
    elif fmt == "csv":  # the timeline is the tabular part
        emit(_turn_rows(detail["turns"]), TURN_COLUMNS, fmt)
    else:
        _print(detail)
    if export_path:
        click.echo(f"Wrote {export_path}", err=True)


def _timeline(raw: object) -> list:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return []
    return raw if isinstance(raw, list) else []


def _turn_rows(turns: list[dict]) -> list[dict]:
    return [{**t, "prompt": " ".join(str(t.get("prompt_text") or
                                         f"({t['prompt_chars']} characters)").split()),
             "edits": f"{t['edits_accepted']}✓ {t['edits_rejected']}✗",
             "lines": f"+{t['lines_added']} -{t['lines_removed']}"} for t in turns]


def _print(detail: dict) -> None:
    from rich.console import Console

    s = detail["session"]
    console = Console()
    title = " ".join(str(s.get("title") or "").split())
    console.print(f"[bold]Session {s['session_id']}[/]", highlight=False)
    if title:
        console.print(f"  {title[:117] + '…' if len(title) > 118 else title}", highlight=False)
    pairs = [(k, human(k, s.get(k))) for k in SUMMARY[1:]
             if k != "title" and s.get(k) not in (None, "")]
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        console.print(f"  [dim]{k.ljust(width)}[/]  {v}", highlight=False)
    from blueplane_pipeline.read.otel import otel_lines

    for line in otel_lines(detail["otel"]):
        console.print(f"  {line}", highlight=False, markup=False)
    turns = _turn_rows(detail["turns"])
    for t in turns:
        t["prompt"] = t["prompt"][:70] + ("…" if len(t["prompt"]) > 70 else "")
        t["started_at"] = str(t["started_at"])[11:19]
    emit(turns, TURN_COLUMNS, "table", title=f"Timeline ({len(turns)} turns)",
         labels={"turn_index": "#"},
         cells=lambda c, v: str(v) if c in ("edits", "lines", "started_at") else human(c, v))
    if detail["tools"]:
        emit(detail["tools"], TOOL_COLUMNS, "table", title="Tools", labels={"tool_name": "tool"})
    if detail["files"]:
        emit(detail["files"], FILE_COLUMNS, "table", title="Files edited",
             labels={"reedited_within_5m": "re-edited"})
    if detail["errors"]:
        emit(detail["errors"], ERROR_COLUMNS, "table", title="Errors and refusals",
             cells=lambda c, v: str(v)[11:19] if c == "started_at" and v else human(c, v))


def _export(detail: dict, path: Path) -> None:
    try:
        if path.suffix.lower() in (".md", ".markdown"):
            path.write_text(_markdown(detail))
        else:
            path.write_text(json.dumps(detail, indent=2, default=str))
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")


def _markdown(detail: dict) -> str:
    from blueplane_cli.export_cmd import markdown_table, md_cell

    s = detail["session"]
    out = [f"# Session {s['session_id']}", "", " ".join(str(s.get("title") or "").split()),
           "", "| | |", "|---|---|"]
    out += [f"| {k} | {md_cell(human(k, s.get(k)))} |" for k in SUMMARY[1:]
            if k != "title" and s.get(k) not in (None, "")]
    out += ["", "## Timeline", ""]
    out += markdown_table(TURN_COLUMNS, [[r.get(c) for c in TURN_COLUMNS]
                                         for r in _turn_rows(detail["turns"])])
    for title, key, cols in (("Tools", "tools", TOOL_COLUMNS), ("Files", "files", FILE_COLUMNS),
                             ("Errors", "errors", ERROR_COLUMNS)):
        if detail[key]:
            out += ["", f"## {title}", ""]
            out += markdown_table(cols, [[r.get(c) for c in cols] for r in detail[key]])
    return "\n".join(out) + "\n"


STEP_COLUMNS = ("t", "kind", "tool", "status", "latency_ms", "file")


def _one_turn(detail: dict, index: int, fmt: str) -> None:
    """``--turn N``: the turn's prompt in full and its timeline, step by step."""
    turns = {t["turn_index"]: t for t in detail["turns"]}
    sid = detail["session"]["session_id"]
    turn = turns.get(index)
    if turn is None:
        known = f"turns 0–{max(turns)}" if turns else "no turns"
        fail(f"session {sid[:8]} has no turn {index} (it has {known})")
    if fmt == "json":
        emit([], [], fmt, raw={"session_id": sid, **turn})
        return
    steps = [{**item, "t": str(item.get("t") or "")[11:19]} for item in turn["timeline"]]
    if fmt == "csv":
        emit(steps, STEP_COLUMNS, fmt)
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    console.print(f"[bold]Session {sid} · turn {index}[/]  [dim]{turn['started_at']} · "
                  f"{human('duration_s', turn['duration_s'])}[/]", highlight=False)
    prompt = turn.get("prompt_text") or f"({turn['prompt_chars']} characters, not kept)"
    console.print(escape(prompt), highlight=False)
    emit(steps, STEP_COLUMNS, "table", title=f"Steps ({len(steps)})",
         cells=lambda c, v: str(v) if c == "t" else human(c, v))

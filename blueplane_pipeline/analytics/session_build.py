"""One session's facts -> its rows in sessions, tool_calls, turns and file_edits.

The same tool call is often seen twice: by the PreToolUse/PostToolUse hooks and by the
transcript's tool_use/tool_result blocks. Calls are keyed by tool_use_id; captures
without one (older hooks, Cursor hooks) are paired by tool + input, first in first out,
and then merged into the transcript call with the same fingerprint, so a call counts once.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field

import orjson

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.analytics.facts import Fact
from blueplane_pipeline.analytics.metrics import STORED_DIGITS, acceptance_rate
from blueplane_pipeline.core.times import maybe_iso_ms, parse_iso_ms

IDLE_CAP_MS = 5 * 60 * 1000  # a gap longer than this counts as 5 minutes of activity
CHURN_MS = 5 * 60 * 1000
NO_OUTCOME_TIMEOUT_MS = 10 * 60 * 1000
TITLE_CHARS = 120


@dataclass(eq=False)  # compared by identity: two calls with equal fields are still two
class Call:
    id: str
    tool: str = "unknown"
    fp: str = ""
    path: str | None = None
    in_lines: tuple | None = None  # edit size from the input (fallback)
    resp_lines: tuple | None = None  # edit size from the response
    modified: bool = False
    sources: set = field(default_factory=set)
    model: str | None = None
    sidechain: bool = False
    t_use: int | None = None
    t_pre: int | None = None
    t_post: int | None = None
    t_result: int | None = None
    first: tuple[int, int] = (0, 0)
    transcript_outcome: tuple | None = None
    hook_outcome: tuple | None = None
    duration_ms: float | None = None
    permission: bool = False
    hook_only: bool = False
    # resolved
    status: str = "pending"
    error_class: str | None = None
    error_text: str | None = None
    latency_ms: float | None = None
    latency_source: str | None = None

    def take(self, f: Fact) -> None:
        """Adopt what this capture knows about the call and the call does not yet."""
        d = f.data
        if self.tool == "unknown" and f.name:
            self.tool = f.name
        if not self.fp and d.get("fp"):
            self.fp = d["fp"]
        if not self.path and d.get("path"):
            self.path = d["path"]
        if self.in_lines is None and d.get("in_lines") is not None:
            self.in_lines = d["in_lines"]
        if self.resp_lines is None and d.get("resp_lines") is not None:
            self.resp_lines = d["resp_lines"]
        self.modified = self.modified or bool(d.get("modified"))
        self.sources.add(f.source)


@dataclass
class SessionRows:
    session: dict
    tool_calls: list[dict]
    turns: list[dict]
    file_edits: list[dict]



_CALL_KINDS = frozenset({"tool_use", "tool_result", "pre", "post", "fail", "perm_request",
                         "perm_denied"})


def build_session(session_id: str, facts: list[Fact], now_ms: int,
                  exclude: frozenset[str] | set[str] = frozenset()) -> SessionRows:
    """Rows for one session. ``now_ms`` is the newest event time in the whole database: a
    call with no outcome becomes ``interrupted`` once 10 minutes of newer data exist.
    ``exclude``: tool_use_ids another session owns (a copied history), left out here."""
    if exclude:
        facts = [f for f in facts if not (f.kind in _CALL_KINDS and f.key in exclude)]
    facts = _latest_bubbles(facts)
    facts = sorted(facts, key=lambda f: (f.ts, f.seq, _KIND_ORDER.get(f.kind, 9)))
    events = [f for f in facts if f.kind == "event"]
    info = _session_info(events)
    timed = [f for f in events if not f.data.get("untimed")] or events
    calls = _pair_calls(facts)
    prompts = _prompts(facts)
    stops = [(f.ts, f.seq) for f in facts if f.kind in ("prompt", "stop")]
    model_counts = Counter()
    seen_msgs: set[str] = set()
    for f in facts:
        if f.kind == "assistant" and not f.data.get("sidechain") and f.key not in seen_msgs:
            seen_msgs.add(f.key)
            if f.name:
                model_counts[f.name] += 1
    for f in events:
        if f.data.get("model") and f.data["model"] not in model_counts:
            model_counts[f.data["model"]] += 0
    models = sorted(model_counts, key=lambda m: (-model_counts[m], m))
    primary = models[0] if models else ""
    for call in calls:
        _resolve(call, stops, now_ms)

    platform = info["platform"]
    project = info["cwd"]
    turn_rows, call_turn = _turns(session_id, facts, timed, prompts, calls, platform, project,
                                  primary)
    start_ms, end_ms = timed[0].ts, timed[-1].ts
    call_rows = [_call_row(session_id, c, call_turn.get(c.id), platform, project, primary,
                           start_ms) for c in calls]
    edit_rows = _file_edits(call_rows)
    statuses = Counter(c["status"] for c in call_rows)
    edits = [c for c in call_rows if c["is_edit"]]
    accepted = sum(1 for c in edits if c["status"] == "success")
    rejected = sum(1 for c in edits if c["status"] == "rejected")
    compaction = Counter(f.name for f in facts if f.kind == "compact")
    interrupts = max(sum(1 for f in facts if f.kind == "interrupt"),
                     sum(1 for c in calls if c.hook_outcome and c.hook_outcome[0] == "interrupted"))
    title = info.get("custom_title") or info.get("summary")
    if not title and prompts and prompts[0].data.get("text"):
        title = classify.as_typed(prompts[0].data["text"]).strip()[:TITLE_CHARS]
    session = {
        "session_id": session_id,
        "platform": platform,
        "sources": ",".join(sorted({f.source for f in events if f.source})),
        "project_path": project,
        "project_name": project.rstrip("/").rsplit("/", 1)[-1] if project else "",
        "git_branch": info.get("branch"),
        "models": ",".join(models),
        "primary_model": primary,
        "title": title,
        "started_at": maybe_iso_ms(start_ms),
        "ended_at": maybe_iso_ms(end_ms),
        "day": maybe_iso_ms(start_ms)[:10],
        "duration_s": round((end_ms - start_ms) / 1000, 3),
        "active_s": round(sum(t["active_s"] for t in turn_rows), 3),
        "events": len(events),
        "prompts": len(turn_rows),
        "assistant_messages": len(seen_msgs),
        "tool_calls": len(call_rows),
        "tool_success": statuses["success"],
        "tool_errors": statuses["error"],
        "tool_rejected": statuses["rejected"],
        "tool_interrupted": statuses["interrupted"],
        "tool_pending": statuses["pending"],
        "edits_accepted": accepted,
        "edits_rejected": rejected,
        "edits_user_modified": sum(1 for c in edits if c["status"] == "success"
                                   and c["user_modified"]),
        "acceptance_rate": acceptance_rate(accepted, rejected, STORED_DIGITS),
        "lines_added": sum(c["lines_added"] for c in call_rows),
        "lines_removed": sum(c["lines_removed"] for c in call_rows),
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 0,
        "cost_usd": 0.0,
        "compactions": max(compaction.values(), default=0),
        "subagents": sum(1 for c in call_rows if c["tool_name"] in classify.SUBAGENT_TOOLS
                         and c["status"] in ("success", "interrupted")),
        "interrupts": interrupts,
        "end_reason": info.get("end_reason"),
    }
    return SessionRows(session, call_rows, turn_rows, edit_rows)


def _latest_bubbles(facts: list[Fact]) -> list[Fact]:
    """Cursor's store importer keeps every version of a changed bubble: use the newest."""
    latest: dict[str, int] = {}
    for f in facts:
        if f.kind == "event" and "bubble" in f.data:
            latest[f.data["bubble"]] = max(latest.get(f.data["bubble"], -1), f.seq)
    if not latest:
        return facts
    stale = {f.seq for f in facts if f.kind == "event" and "bubble" in f.data
             and f.seq != latest[f.data["bubble"]]}
    return [f for f in facts if f.seq not in stale or f.kind == "event"]


# Within one millisecond: a tool_use precedes its result, a prompt precedes what follows it.
_KIND_ORDER = {"event": 0, "prompt": 1, "assistant": 2, "text": 3, "tool_use": 4, "pre": 5,
               "perm_request": 6, "post": 7, "fail": 7, "perm_denied": 7, "tool_result": 8}


def _session_info(events: list[Fact]) -> dict:
    # the assistant's platform, not that of an MCP tracking event attached to the session
    platforms = [f.name for f in events if f.name and f.name != "mcp"]
    info: dict = {"platform": platforms[0] if platforms else (events[0].name or ""), "cwd": ""}
    for f in events:
        for key in ("cwd",):
            if f.data.get(key) and not info.get(key):
                info[key] = f.data[key]
        for key in ("branch", "summary", "custom_title", "end_reason"):
            if f.data.get(key):
                info[key] = f.data[key]
    return info


# ---------------------------------------------------------------- pairing

def _pair_calls(facts: list[Fact]) -> list[Call]:
    calls: dict[str, Call] = {}
    event_ids = {f.seq: f.key for f in facts if f.kind == "event"}
    open_hooks: dict[str, deque[Call]] = defaultdict(deque)  # started, no hook outcome yet

    def get(key: str, f: Fact) -> Call:
        call = calls.get(key)
        if call is None:
            call = calls[key] = Call(key, first=(f.ts, f.seq))
        return call

    def hook_only(f: Fact) -> Call:
        call = get(f"hook:{event_ids.get(f.seq, f.seq)}", f)
        call.hook_only = True
        return call

    for f in facts:
        kind = f.kind
        if kind == "tool_use":
            call = get(f.key, f)
            call.tool = f.name or call.tool
            call.fp, call.path = f.data.get("fp", ""), f.data.get("path") or call.path
            call.in_lines = f.data.get("in_lines")
            call.model, call.sidechain = f.data.get("model"), bool(f.data.get("sidechain"))
            call.t_use = f.ts
            call.take(f)
        elif kind == "tool_result":
            call = get(f.key, f)
            if call.transcript_outcome is None:  # the same result can be written twice
                call.transcript_outcome = f.data["outcome"]
                call.t_result = f.ts
                call.take(f)
                if call.duration_ms is None and f.data.get("duration_ms") is not None:
                    call.duration_ms = f.data["duration_ms"]
        elif kind == "pre":
            call = get(f.key, f) if f.key else hook_only(f)
            call.take(f)
            call.t_pre = f.ts
            # id-less PermissionRequests (and old id-less outcomes) find it by tool + input
            open_hooks[f.data.get("fp", "")].append(call)
        elif kind in ("post", "fail", "perm_denied"):
            queue = open_hooks.get(f.data.get("fp", ""))
            if f.key:
                call = get(f.key, f)
            elif f.data.get("standalone") or not queue:
                call = hook_only(f)
                if f.data.get("standalone"):
                    call.t_pre = f.ts
            else:
                call = queue[0]
            if queue and call in queue:
                queue.remove(call)
            call.take(f)
            call.t_post = f.ts
            call.hook_outcome = f.data["outcome"]
            if f.data.get("duration_ms") is not None:
                call.duration_ms = f.data["duration_ms"]
        elif kind == "perm_request":
            queue = open_hooks.get(f.data.get("fp", ""))
            call = calls.get(f.key) if f.key else (queue[-1] if queue else None)
            if call is not None:
                call.permission = True
    _merge_hook_only(calls)
    return sorted(calls.values(), key=lambda c: (c.first, c.id))


def _merge_hook_only(calls: dict[str, Call]) -> None:
    """Fold id-less hook calls into the transcript call with the same tool and input."""
    hook_only = [c for c in calls.values() if c.hook_only]
    if not hook_only:
        return
    candidates: dict[str, deque[Call]] = defaultdict(deque)
    for c in sorted(calls.values(), key=lambda c: (c.t_use or 0, c.id)):
        if not c.hook_only and c.t_use is not None and c.t_pre is None and c.t_post is None:
            candidates[c.fp].append(c)
    for h in sorted(hook_only, key=lambda c: (c.first, c.id)):
        queue = candidates.get(h.fp)
        if not queue:
            continue
        target = queue.popleft()
        target.t_pre, target.t_post = h.t_pre, h.t_post
        target.hook_outcome = h.hook_outcome
        target.permission = target.permission or h.permission
        target.sources |= h.sources
        target.modified = target.modified or h.modified
        if h.duration_ms is not None:
            target.duration_ms = h.duration_ms
        if target.resp_lines is None:
            target.resp_lines = h.resp_lines
        target.path = target.path or h.path
        del calls[h.id]


def _resolve(call: Call, stops: list[tuple[int, int]], now_ms: int) -> None:
    outcome = call.transcript_outcome or call.hook_outcome
    start = call.t_pre if call.t_pre is not None else call.t_use
    if outcome is None:
        ref = start if start is not None else call.first[0]
        moved_on = bisect.bisect_right(stops, (ref, call.first[1])) < len(stops) or \
            now_ms - ref > NO_OUTCOME_TIMEOUT_MS
        if not moved_on:
            outcome = ("pending", None, None)
        elif call.permission:
            outcome = ("rejected", "permission_denied", None)
        else:
            outcome = ("interrupted", "no_outcome", None)
    call.status, call.error_class, call.error_text = outcome
    latency, source = None, None
    if call.duration_ms is not None:
        latency, source = call.duration_ms, "duration_ms"
    elif call.t_pre is not None and call.t_post is not None:
        latency, source = call.t_post - call.t_pre, "hook"
    elif call.t_use is not None and call.t_result is not None:
        latency, source = call.t_result - call.t_use, "transcript"
    # Only executed calls have a tool latency: a refusal or an interrupt measures the user.
    if latency is not None and latency >= 0 and call.status in ("success", "error"):
        call.latency_ms, call.latency_source = float(latency), source


# ---------------------------------------------------------------- prompts and turns

def _prompts(facts: list[Fact]) -> list[Fact]:
    """User prompts, each once: a hook prompt that the transcript (or Cursor's store) also
    recorded is dropped; one it did not is kept only if it is newer than everything the
    transcript holds (the live tail not imported yet)."""
    hook = [f for f in facts if f.kind == "prompt" and f.source == "hook"]
    other = [f for f in facts if f.kind == "prompt" and f.source != "hook"]
    if not other:
        return hook
    last_other = max(f.ts for f in facts if f.kind == "event" and f.source != "hook")
    unmatched: dict[str | None, deque[Fact]] = defaultdict(deque)
    for f in other:
        unmatched[f.key].append(f)
    kept = list(other)
    for f in hook:
        queue = unmatched.get(f.key) if f.key else None
        if queue:
            queue.popleft()
        elif f.ts > last_other:
            kept.append(f)
    kept.sort(key=lambda f: (f.ts, f.seq))
    return kept


def _turns(session_id: str, facts: list[Fact], events: list[Fact], prompts: list[Fact],
           calls: list[Call], platform: str, project: str,
           primary: str) -> tuple[list[dict], dict[str, int]]:
    starts = [(p.ts, p.seq) for p in prompts]

    def turn_of(ts: int, seq: int) -> int | None:
        i = bisect.bisect_right(starts, (ts, seq)) - 1
        return i if i >= 0 else None

    call_turn: dict[str, int] = {}
    per_turn_calls: dict[int, list[Call]] = defaultdict(list)
    for c in calls:
        i = turn_of(*c.first)
        if i is not None:
            call_turn[c.id] = i
            per_turn_calls[i].append(c)
    per_turn_events: dict[int, list[int]] = defaultdict(list)
    for f in events:
        i = turn_of(f.ts, f.seq)
        if i is not None:
            per_turn_events[i].append(f.ts)
    per_turn_items: dict[int, list[tuple]] = defaultdict(list)
    first_model: dict[int, str] = {}
    msgs: dict[int, set] = defaultdict(set)
    interrupted: set[int] = set()
    for f in facts:
        if f.kind not in ("text", "interrupt", "compact", "assistant", "decision", "outcome"):
            continue
        i = turn_of(f.ts, f.seq)
        if i is None:
            continue
        if f.kind == "assistant":
            if not f.data.get("sidechain"):
                msgs[i].add(f.key)
                if f.name and i not in first_model:
                    first_model[i] = f.name
            continue
        if f.kind == "interrupt":
            interrupted.add(i)
        item = {"t": maybe_iso_ms(f.ts), "kind": f.kind}
        if f.kind == "text":
            item.update(text=f.data.get("text"), chars=f.data.get("chars"))
        elif f.kind in ("decision", "outcome"):
            item.update({k: v for k, v in f.data.items() if v is not None}, event_id=f.key)
        per_turn_items[i].append((f.ts, f.seq, item))
    rows = []
    for i, p in enumerate(prompts):
        tcalls = per_turn_calls.get(i, [])
        items = list(per_turn_items.get(i, []))
        for c in tcalls:
            ts = c.t_pre if c.t_pre is not None else (c.t_use or c.first[0])
            items.append((ts, c.first[1], {
                "t": maybe_iso_ms(ts), "kind": "tool", "tool_use_id": c.id, "tool": c.tool,
                "status": c.status, "latency_ms": c.latency_ms,
                "file": c.path}))
            if c.status == "interrupted" and c.error_class == "user_interrupted":
                interrupted.add(i)
        items.sort(key=lambda x: (x[0], x[1]))
        times = sorted(per_turn_events.get(i, [p.ts]))
        active = sum(min(b - a, IDLE_CAP_MS) for a, b in zip(times, times[1:], strict=False))
        end = max(times[-1], p.ts)
        edits = [c for c in tcalls if c.tool in classify.EDIT_TOOLS]
        lines = [_lines(c) for c in tcalls]
        rows.append({
            "session_id": session_id,
            "turn_index": i,
            "platform": platform,
            "project_path": project,
            "model": first_model.get(i, primary),
            "day": maybe_iso_ms(p.ts)[:10],
            "started_at": maybe_iso_ms(p.ts),
            "ended_at": maybe_iso_ms(end),
            "duration_s": round((end - p.ts) / 1000, 3),
            "active_s": round(active / 1000, 3),
            "prompt_text": p.data.get("text"),
            "prompt_chars": p.data.get("chars") or 0,
            "prompt_source": p.source,
            "assistant_messages": len(msgs.get(i, ())),
            "tool_calls": len(tcalls),
            "tool_errors": sum(1 for c in tcalls if c.status == "error"),
            "tool_rejected": sum(1 for c in tcalls if c.status == "rejected"),
            "tool_interrupted": sum(1 for c in tcalls if c.status == "interrupted"),
            "edits_accepted": sum(1 for c in edits if c.status == "success"),
            "edits_rejected": sum(1 for c in edits if c.status == "rejected"),
            "lines_added": sum(a for a, _, _ in lines),
            "lines_removed": sum(r for _, r, _ in lines),
            "interrupted": 1 if i in interrupted else 0,
            "timeline": orjson.dumps([it for _, _, it in items]).decode(),
        })
    return rows, call_turn


# ---------------------------------------------------------------- rows

def _lines(c: Call) -> tuple[int, int, bool]:
    if c.tool not in classify.EDIT_TOOLS:
        return 0, 0, False
    added, removed, is_create = c.resp_lines or c.in_lines or (0, 0, False)
    if c.status != "success":
        return 0, 0, is_create
    return added, removed, is_create


def _call_row(session_id: str, c: Call, turn: int | None, platform: str, project: str,
              primary: str, session_start: int) -> dict:
    start = c.t_pre if c.t_pre is not None else c.t_use
    end = c.t_post if c.t_post is not None else c.t_result
    if c.status == "pending" or (c.transcript_outcome is None and c.hook_outcome is None):
        end = None
    path = c.path
    added, removed, is_create = _lines(c)
    day_ms = start if start is not None else (end if end is not None else session_start)
    return {
        "tool_use_id": c.id,
        "session_id": session_id,
        "platform": platform,
        "project_path": project,
        "model": c.model or primary,
        "turn_index": turn,
        "tool_name": c.tool,
        "mcp_server": classify.mcp_server(c.tool),
        "is_edit": 1 if c.tool in classify.EDIT_TOOLS else 0,
        "is_sidechain": 1 if c.sidechain else 0,
        "started_at": maybe_iso_ms(start),
        "ended_at": maybe_iso_ms(end),
        "day": maybe_iso_ms(day_ms)[:10],
        "latency_ms": c.latency_ms,
        "latency_source": c.latency_source,
        "status": c.status,
        "error_class": c.error_class,
        "error_text": c.error_text,
        "file_path": path,
        "file_ext": classify.file_ext(path) if path else None,
        "lines_added": added,
        "lines_removed": removed,
        "user_modified": 1 if c.status == "success" and c.modified else 0,
        "permission_requested": 1 if c.permission else 0,
        "sources": "+".join(sorted(c.sources)) or "hook",
        "_create": is_create,  # for file_edits; not a tool_calls column
    }


def _file_edits(call_rows: list[dict]) -> list[dict]:
    edits = [c for c in call_rows if c["is_edit"]]
    accepted_at: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for c in edits:
        if c["status"] == "success" and c["file_path"]:
            accepted_at[c["file_path"]].append((c["started_at"] or c["ended_at"] or "",
                                                c["tool_use_id"]))
    rows = []
    for c in edits:
        ts = c["started_at"] or c["ended_at"] or c["day"] + "T00:00:00.000Z"
        churn = 0
        if c["status"] == "success" and c["file_path"]:
            t0 = parse_iso_ms(ts) or 0
            churn = int(any(other != c["tool_use_id"]
                            and 0 <= (parse_iso_ms(t) or 0) - t0 <= CHURN_MS
                            and (t, other) > (ts, c["tool_use_id"])
                            for t, other in accepted_at[c["file_path"]]))
        rows.append({
            "edit_id": c["tool_use_id"],
            "session_id": c["session_id"],
            "platform": c["platform"],
            "project_path": c["project_path"],
            "model": c["model"],
            "ts": ts,
            "day": c["day"],
            "tool_name": c["tool_name"],
            "file_path": c["file_path"],
            "file_ext": c["file_ext"] or "",
            "is_create": int(c["_create"]),
            "status": c["status"],
            "accepted": 1 if c["status"] == "success" else (0 if c["status"] == "rejected"
                                                            else None),
            "user_modified": c["user_modified"],
            "lines_added": c["lines_added"],
            "lines_removed": c["lines_removed"],
            "reedited_within_5m": churn,
        })
    return rows


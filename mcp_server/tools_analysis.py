"""Analysis tools: where edits get rejected, how tools fail, productivity, and what the
data says about a file type, tool or project at hand."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

from blueplane_pipeline.analytics.metrics import (
    PRODUCTIVITY_FORMULA,
    acceptance_rate,
    error_rate,
    productivity,
    user_modified_share,
)
from blueplane_pipeline.read.breakdowns import acceptance_breakdown, call_counts, error_breakdown
from blueplane_pipeline.read.filters import Filters
from blueplane_pipeline.read.insights import list_insights
from blueplane_pipeline.read.summary import aggregate, summary
from blueplane_pipeline.read.tools import tool_names, tool_performance
from mcp_server.models import (
    AcceptancePatterns,
    AcceptanceRow,
    ContextualInsights,
    ErrorGroup,
    ErrorPatterns,
    Finding,
    InsightRow,
    Productivity,
    ProductivityDay,
)
from mcp_server.patterns import fmt_ms, fmt_rate
from mcp_server.reading import Platform, filters, known_project, normalise_ext, reading, window

MIN_DECIDED = 3  # fewer decisions than this say nothing about a group


def _acceptance_row(row: dict) -> AcceptanceRow:
    return AcceptanceRow(**{k: row.get(k) for k in AcceptanceRow.model_fields})


def _total(rows: list[dict]) -> dict:
    keys = ("edits", "accepted", "rejected", "user_modified", "reedited_within_5m",
            "lines_added", "lines_removed")
    out = {k: sum(r[k] for r in rows) for k in keys}
    out["key"] = None
    out["acceptance_rate"] = acceptance_rate(out["accepted"], out["rejected"])
    out["user_modified_share"] = user_modified_share(out["user_modified"], out["accepted"])
    return out


def acceptance_findings(groups: dict[str, list[dict]], overall: dict) -> list[Finding]:
    """Groups whose acceptance or modification share departs from the overall rate."""
    out = []
    for by, rows in groups.items():
        for row in rows:
            decided = row["accepted"] + row["rejected"]
            if decided < MIN_DECIDED or row["key"] in (None, ""):
                continue
            if overall["acceptance_rate"] is not None and row["rejected"] and (
                    row["acceptance_rate"] < overall["acceptance_rate"]):
                out.append(Finding(
                    kind=f"low_acceptance_{by}",
                    statement=(f"{by} {row['key']}: {fmt_rate(row['acceptance_rate'])} of edits "
                               f"accepted ({row['accepted']}/{decided}) vs "
                               f"{fmt_rate(overall['acceptance_rate'])} overall"),
                    evidence={"group": by, "key": row["key"], "accepted": row["accepted"],
                              "rejected": row["rejected"],
                              "overall_rate": overall["acceptance_rate"]}))
            churn = row["reedited_within_5m"] / row["accepted"] if row["accepted"] else 0
            if by == "file_ext" and row["accepted"] >= MIN_DECIDED and churn >= 0.3:
                out.append(Finding(
                    kind="edit_churn",
                    statement=(f"{row['key']} files: {row['reedited_within_5m']} of "
                               f"{row['accepted']} accepted edits ({churn:.0%}) were edited "
                               "again within 5 minutes"),
                    evidence={"key": row["key"], "reedited": row["reedited_within_5m"],
                              "accepted": row["accepted"]}))
    out.sort(key=lambda f: f.kind)
    return out


def analyze_acceptance_patterns(period: str = "30d", platform: Platform = None,
                                project: str | None = None) -> AcceptancePatterns:
    """Edit acceptance (accepted ÷ decided) by tool, file type, model and day, the share
    the user modified before accepting, churn, and the groups that stand out."""
    cur, _ = window(period)
    with reading() as conn:
        known_project(conn, project)
        flt = filters(platform, project)
        groups = {by: acceptance_breakdown(conn, cur, flt, by)
                  for by in ("tool", "file_ext", "model", "day")}
    overall = _total(groups["tool"])
    return AcceptancePatterns(
        period=cur.label, overall=_acceptance_row(overall),
        by_tool=[_acceptance_row(r) for r in groups["tool"]],
        by_file_ext=[_acceptance_row(r) for r in groups["file_ext"]],
        by_model=[_acceptance_row(r) for r in groups["model"]],
        by_day=[_acceptance_row(r) for r in sorted(groups["day"], key=lambda r: r["key"])],
        findings=acceptance_findings({k: v for k, v in groups.items() if k != "day"}, overall))


def error_findings(groups: list[dict], counts: dict, limit: int = 3) -> list[Finding]:
    failed = sum(g["calls"] for g in groups)
    out = []
    for g in groups[:limit]:
        out.append(Finding(
            kind="failure_class",
            statement=(f"{g['tool_name']} {g['status']} ({g['error_class']}): {g['calls']} of "
                       f"{failed} failed calls, in {g['sessions']} session(s); last "
                       f"{g['last_seen']}"),
            evidence={"tool": g["tool_name"], "status": g["status"],
                      "error_class": g["error_class"], "calls": g["calls"],
                      "failed_calls": failed, "all_calls": counts["calls"]}))
    return out


def get_error_patterns(period: str = "7d", tool: str | None = None,
                       platform: Platform = None,
                       project: str | None = None) -> ErrorPatterns:
    """Failed, rejected and interrupted tool calls grouped by tool and error class, with
    how many sessions each touched, when it was last seen and an example message."""
    cur, _ = window(period)
    with reading() as conn:
        known_project(conn, project)
        flt = filters(platform, project)
        groups = error_breakdown(conn, cur, flt, tool=tool)
        counts = call_counts(conn, cur, flt, tool=tool)
    return ErrorPatterns(
        period=cur.label, calls=counts["calls"],
        failed_calls=counts["errors"] + counts["rejected"] + counts["interrupted"],
        error_rate=error_rate(counts["errors"], counts["success"]),
        groups=[ErrorGroup(**g) for g in groups], findings=error_findings(groups, counts))


def _productivity(key: str, row: dict) -> ProductivityDay:
    return ProductivityDay(
        day=key, sessions=row["sessions"], prompts=row["prompts"],
        tool_calls=row["tool_calls"], edits_accepted=row["edits_accepted"],
        lines_added=row["lines_added"], lines_removed=row["lines_removed"],
        cost_usd=round(row["cost_usd"], 6), **productivity(row))


def analyze_productivity(period: str = "30d", platform: Platform = None,
                         project: str | None = None) -> Productivity:
    """Output per active hour, per day and over the period (accepted edits and lines per
    active hour, cost per accepted edit), with the formula and its inputs."""
    cur, _ = window(period)
    with reading() as conn:
        known_project(conn, project)
        flt = filters(platform, project)
        days = aggregate(conn, cur, flt, group_by="day")
        total = summary(conn, cur, flt)
    rows = [_productivity(d["key"], d) for d in days if d["key"]]
    findings = []
    rated = [d for d in rows if d.accepted_edits_per_active_hour is not None
             and d.active_hours >= 0.1]
    if rated:
        best = max(rated, key=lambda d: d.accepted_edits_per_active_hour or 0)
        findings.append(Finding(
            kind="best_day",
            statement=(f"Most accepted edits per active hour on {best.day}: "
                       f"{best.accepted_edits_per_active_hour} ({best.edits_accepted} edits in "
                       f"{best.active_hours} h)"),
            evidence={"day": best.day, "edits_accepted": best.edits_accepted,
                      "active_hours": best.active_hours}))
    return Productivity(period=cur.label, formula=PRODUCTIVITY_FORMULA,
                        totals=_productivity(cur.label, total), days=rows, findings=findings)


def get_contextual_insights(file_ext: str | None = None, tool: str | None = None,
                            project: str | None = None,
                            period: str = "90d") -> ContextualInsights:
    """What history says about the file type, tool or project at hand (give exactly one):
    its acceptance, error rate and latency against the overall figures, its most common
    failures, and stored insights about it."""
    given = {k: v for k, v in (("file_ext", file_ext), ("tool", tool), ("project", project))
             if v}
    if len(given) != 1:
        raise ToolError("give exactly one of file_ext, tool or project")
    (kind, value), = given.items()
    cur, _ = window(period)
    with reading() as conn:
        if kind == "file_ext":
            value = normalise_ext(value)
            findings = _ext_findings(conn, cur, value)
        elif kind == "tool":
            findings = _tool_findings(conn, cur, value)
        else:
            known_project(conn, value)
            findings = _project_findings(conn, cur, value)
        stored = [InsightRow(**{k: i[k] for k in InsightRow.model_fields})
                  for i in list_insights(conn, subject=value)]
    return ContextualInsights(context=kind, value=value, period=cur.label, findings=findings,
                              stored_insights=stored)


def _ext_findings(conn, cur, ext: str) -> list[Finding]:
    rows = acceptance_breakdown(conn, cur, by="tool", file_ext=ext)
    everywhere = _total(acceptance_breakdown(conn, cur, by="tool"))
    mine = _total(rows)
    out = [Finding(
        kind="acceptance",
        statement=(f"{ext} edits: {fmt_rate(mine['acceptance_rate'])} accepted "
                   f"({mine['accepted']}/{mine['accepted'] + mine['rejected']}) vs "
                   f"{fmt_rate(everywhere['acceptance_rate'])} for all files; "
                   f"{mine['reedited_within_5m']} re-edited within 5 min"),
        evidence={"accepted": mine["accepted"], "rejected": mine["rejected"],
                  "user_modified": mine["user_modified"],
                  "reedited_within_5m": mine["reedited_within_5m"],
                  "overall_rate": everywhere["acceptance_rate"]})]
    out += _failure_findings(conn, cur, file_ext=ext, label=f"calls on {ext} files")
    return out


def _tool_findings(conn, cur, tool: str) -> list[Finding]:
    rows = tool_performance(conn, cur, tool=tool)
    if not rows:
        known = tool_names(conn, limit=15)
        raise ToolError(f"no calls of {tool!r} in this period"
                        + (f"; tools seen: {', '.join(known)}" if known else ""))
    t = rows[0]
    counts = call_counts(conn, cur)
    overall = error_rate(counts["errors"], counts["success"])
    out = [Finding(
        kind="performance",
        statement=(f"{tool}: {t['calls']} calls, error rate {fmt_rate(t['error_rate'])} vs "
                   f"{fmt_rate(overall)} for all tools; p50 {fmt_ms(t['latency_p50_ms'])}, "
                   f"p95 {fmt_ms(t['latency_p95_ms'])}"),
        evidence={"calls": t["calls"], "success": t["success"], "errors": t["errors"],
                  "rejected": t["rejected"], "interrupted": t["interrupted"],
                  "latency_p50_ms": t["latency_p50_ms"], "latency_p95_ms": t["latency_p95_ms"],
                  "overall_error_rate": overall})]
    out += _failure_findings(conn, cur, tool=tool, label=f"{tool} calls")
    return out


def _project_findings(conn, cur, project: str) -> list[Finding]:
    mine = summary(conn, cur, Filters(project=project))
    every = summary(conn, cur)
    out = [Finding(
        kind="summary",
        statement=(f"{project}: {mine['sessions']} sessions, {mine['tool_calls']} tool calls, "
                   f"error rate {fmt_rate(mine['error_rate'])} (all projects "
                   f"{fmt_rate(every['error_rate'])}), edit acceptance "
                   f"{fmt_rate(mine['acceptance_rate'])} (all {fmt_rate(every['acceptance_rate'])}"
                   f"), cost ${mine['cost_usd']:.2f}"),
        evidence={k: mine[k] for k in ("sessions", "tool_calls", "tool_errors",
                                       "edits_accepted", "edits_rejected", "cost_usd")})]
    tools = tool_performance(conn, cur, Filters(project=project))[:5]
    if tools:
        out.append(Finding(
            kind="top_tools",
            statement="Most used tools: " + ", ".join(
                f"{t['tool_name']} ({t['calls']} calls, errors {fmt_rate(t['error_rate'])})"
                for t in tools),
            evidence={"tools": [t["tool_name"] for t in tools]}))
    out += _failure_findings(conn, cur, flt=Filters(project=project), label="its calls")
    return out


def _failure_findings(conn, cur, *, label: str, flt: Filters | None = None,
                      tool: str | None = None, file_ext: str | None = None) -> list[Finding]:
    flt = flt or Filters()
    groups = error_breakdown(conn, cur, flt, tool=tool, file_ext=file_ext)
    counts = call_counts(conn, cur, flt, tool=tool, file_ext=file_ext)
    if not groups:
        return [Finding(kind="failures", statement=f"No failed {label} in this period "
                        f"({counts['calls']} calls)", evidence={"calls": counts["calls"]})]
    return error_findings(groups, counts)

"""Typed results of the MCP tools (their output schemas). Field meanings follow
``docs/metrics.md``; rates are 0-1, latencies milliseconds, money USD."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Scalar = int | float | str | None


class Finding(BaseModel):
    """A statement computed from the data, with the numbers it rests on."""

    kind: str
    statement: str
    evidence: dict[str, Scalar | list[str]] = Field(default_factory=dict)


class MetricChange(BaseModel):
    name: str
    value: float | None
    previous: float | None
    change: float | None = Field(description="(value − previous) ÷ |previous|")
    better: bool | None = Field(description="True when the change is good news")


class OtelMetrics(BaseModel):
    """What only Claude Code's OpenTelemetry export knows; every value None and ``note``
    set when there is no OTel data (never a silent 0)."""

    otel_api_requests: int | None = None
    otel_cost_usd: float | None = None
    otel_lines_added: int | None = None
    otel_lines_removed: int | None = None
    otel_active_user_s: float | None = None
    otel_active_cli_s: float | None = None
    user_decisions: int | None = None
    user_accepts: int | None = None
    user_acceptance_rate: float | None = None
    note: str | None = None


class BudgetState(BaseModel):
    """One budget against its current window (`blueplane budget`)."""

    id: str
    period: str  # daily | weekly | monthly | block
    project: str | None
    amount: float  # US dollars
    spent: float
    ratio: float
    level: str  # ok | warn (>= 80 %) | over (>= 100 %)
    window: str
    enforce: bool
    denies: bool  # tool calls are refused now (hard cap over, not paused)


class CurrentMetrics(BaseModel):
    period: str
    window_start: str | None
    window_end: str | None
    platform: str | None
    project: str | None
    sessions: int
    prompts: int
    tool_calls: int
    tool_errors: int
    error_rate: float | None
    interruption_rate: float | None
    edits_accepted: int
    edits_rejected: int
    acceptance_rate: float | None
    lines_added: int
    lines_removed: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    total_tokens: int
    cost_usd: float
    changes: list[MetricChange]
    note: str | None = None
    otel: OtelMetrics | None = None
    budgets: list[BudgetState] = []


class ToolUsage(BaseModel):
    tool_name: str
    calls: int
    success: int
    errors: int
    rejected: int
    interrupted: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class FileActivity(BaseModel):
    file_path: str | None
    file_ext: str | None
    edits: int
    accepted: int
    rejected: int
    lines_added: int
    lines_removed: int


class FailedCall(BaseModel):
    started_at: str | None
    tool_name: str
    status: str
    error_class: str | None
    error_text: str | None


class TurnBrief(BaseModel):
    turn_index: int
    started_at: str
    prompt: str | None
    tool_calls: int
    tool_errors: int
    edits_accepted: int
    edits_rejected: int
    interrupted: bool
    tool_sequence: str


class SessionMetrics(BaseModel):
    session_id: str
    platform: str
    project_name: str
    title: str | None
    started_at: str
    ended_at: str
    duration_s: float
    active_s: float
    primary_model: str
    prompts: int
    tool_calls: int
    tool_errors: int
    tool_rejected: int
    tool_interrupted: int
    edits_accepted: int
    edits_rejected: int
    acceptance_rate: float | None
    lines_added: int
    lines_removed: int
    total_tokens: int
    cost_usd: float
    compactions: int
    otel: OtelMetrics | None = None
    tools: list[ToolUsage]
    files: list[FileActivity]
    failed_calls: list[FailedCall]
    turns: list[TurnBrief]


class ToolStats(BaseModel):
    tool_name: str
    mcp_server: str | None = None
    calls: int
    success: int
    errors: int
    rejected: int
    interrupted: int
    error_rate: float | None
    rejection_rate: float | None = None
    acceptance_rate: float | None = None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None = None
    latency_max_ms: float | None = None


class ToolPerformance(BaseModel):
    period: str
    tools: list[ToolStats]
    note: str | None = None


class AcceptanceRow(BaseModel):
    key: str | None
    edits: int
    accepted: int
    rejected: int
    acceptance_rate: float | None
    user_modified_share: float | None
    reedited_within_5m: int
    lines_added: int
    lines_removed: int


class AcceptancePatterns(BaseModel):
    period: str
    overall: AcceptanceRow
    by_tool: list[AcceptanceRow]
    by_file_ext: list[AcceptanceRow]
    by_model: list[AcceptanceRow]
    by_day: list[AcceptanceRow]
    findings: list[Finding]


class ErrorGroup(BaseModel):
    tool_name: str
    status: str
    error_class: str
    calls: int
    sessions: int
    last_seen: str | None
    example: str | None


class ErrorPatterns(BaseModel):
    period: str
    calls: int
    failed_calls: int
    error_rate: float | None
    groups: list[ErrorGroup]
    findings: list[Finding]


class ProductivityDay(BaseModel):
    day: str
    sessions: int
    prompts: int
    active_hours: float
    tool_calls: int
    edits_accepted: int
    lines_added: int
    lines_removed: int
    cost_usd: float
    accepted_edits_per_active_hour: float | None
    lines_per_active_hour: float | None
    cost_per_accepted_edit: float | None


class Productivity(BaseModel):
    period: str
    formula: str
    totals: ProductivityDay
    days: list[ProductivityDay]
    findings: list[Finding]


class InsightRow(BaseModel):
    kind: str
    severity: str
    subject: str
    title: str
    metric_value: float | None
    baseline_value: float | None


class ContextualInsights(BaseModel):
    context: Literal["file_ext", "tool", "project"]
    value: str
    period: str
    findings: list[Finding]
    stored_insights: list[InsightRow]


class SessionBrief(BaseModel):
    session_id: str
    platform: str
    project_name: str
    started_at: str
    duration_s: float
    prompts: int
    tool_calls: int
    tool_errors: int
    acceptance_rate: float | None
    total_tokens: int
    cost_usd: float
    title: str | None
    match_score: float | None = None


class SessionSearch(BaseModel):
    total: int
    sessions: list[SessionBrief]


class TaskMatch(BaseModel):
    session_id: str
    turn_index: int | None
    text: str
    score: float = Field(description="bm25 relevance, higher is closer")
    project_name: str | None
    succeeded: bool | None = Field(description="the turn's outcome (see find_successful_"
                                               "patterns); None for a title match")
    tool_sequence: str | None


class SimilarTasks(BaseModel):
    query: str
    indexed_texts: int
    matches: list[TaskMatch]


class PatternRow(BaseModel):
    sequence: str
    turns: int
    successes: int
    success_rate: float
    score: float = Field(description="95% Wilson lower bound of success_rate")
    median_active_s: float | None
    example_sessions: list[str]


class SuccessfulPatterns(BaseModel):
    period: str
    definition: str
    turns_considered: int
    turns_succeeded: int
    patterns: list[PatternRow]


class ToolRecommendation(BaseModel):
    tool_name: str
    score: float = Field(description="95% Wilson lower bound of the success rate in context")
    calls: int
    success_rate: float | None
    error_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    baseline_success_rate: float | None = Field(description="the tool everywhere in the window")
    reason: str


class ToolRecommendations(BaseModel):
    context: str
    calls_considered: int
    method: str
    recommendations: list[ToolRecommendation]
    cautions: list[Finding]


class Strategy(BaseModel):
    task: str
    similar_turns: int
    suggestions: list[Finding]
    note: str | None = None


class TrackedEvent(BaseModel):
    event_id: str
    event_type: Literal["decision", "outcome"]
    session_id: str | None
    delivered_to: Literal["stream", "spool"]

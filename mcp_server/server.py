"""``blueplane-mcp``: Blueplane's telemetry over MCP (stdio).

Every read tool answers from ``telemetry.db`` through the read API
(``blueplane_pipeline.read``) on a read-only connection and carries the read-only
annotation; the two tracking tools write events into the stream, never the database.
Startup imports only the MCP SDK and the standard-library read API, so the server answers
its first request quickly.
"""

from __future__ import annotations

from mcp.server import MCPServer
from mcp.types import ToolAnnotations

from mcp_server import (
    resources,
    tools_analysis,
    tools_metrics,
    tools_optimize,
    tools_search,
    tools_team,
    tracking,
)

INSTRUCTIONS = (
    "Blueplane answers questions about this machine's {assistants} sessions from "
    "locally stored telemetry: metrics, per-tool performance, edit acceptance, errors, "
    "productivity, similar past tasks and what worked in them. Periods are 1h, 24h, 7d, 30d, "
    "<N>h, <N>d or all; rates are 0-1; days are UTC. Definitions: telemetry://schema. "
    "track_decision and log_outcome record events; every other tool only reads."
)


def instructions() -> str:
    """What the server tells the model, naming the assistants of the platform registry."""
    from blueplane_pipeline.core.platforms import assistants

    labels = [p.label for p in assistants()]
    named = " and ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels)
    return INSTRUCTIONS.format(assistants=named)


READ_TOOLS = (
    tools_metrics.get_current_metrics, tools_metrics.get_session_metrics,
    tools_metrics.get_tool_performance,
    tools_analysis.analyze_acceptance_patterns, tools_analysis.get_error_patterns,
    tools_analysis.analyze_productivity, tools_analysis.get_contextual_insights,
    tools_search.search_sessions, tools_search.search_similar_tasks,
    tools_search.find_successful_patterns,
    tools_optimize.recommend_tools, tools_optimize.suggest_strategy,
)
WRITE_TOOLS = (tracking.track_decision, tracking.log_outcome)

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# Appends an event; never changes or deletes anything, and a retry records a second event.
APPENDS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                          open_world_hint=False)


def build_server() -> MCPServer:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("blueplane")
    except PackageNotFoundError:
        ours = "0"
    server = MCPServer("blueplane", title="Blueplane telemetry", version=ours,
                       instructions=instructions(), log_level="WARNING")
    for fn in READ_TOOLS:
        server.add_tool(fn, annotations=READ_ONLY)
    for fn in WRITE_TOOLS:
        server.add_tool(fn, annotations=APPENDS)
    if tools_team.enabled():  # team mode: only when team.url is set
        server.add_tool(tools_team.get_team_report, annotations=READ_ONLY)
    server.resource("telemetry://schema", name="schema", mime_type="application/json",
                    description="Tables, columns and metric definitions")(resources.schema)
    server.resource("telemetry://sessions/{session_id}", name="session",
                    mime_type="application/json",
                    description="One session as JSON (a unique id prefix works)",
                    )(resources.session)
    return server


def main() -> None:
    build_server().run("stdio")


if __name__ == "__main__":
    main()

"""``blueplane-mcp``: the Blueplane telemetry as an MCP server (stdio)."""

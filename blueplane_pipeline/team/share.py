"""What a published row may say about a project, a session or an MCP tool.

Projects leave the machine only as a configured alias (``team.project_alias.<name>``) or a
keyed hash of the project's folder name (so the same repository on two laptops of one
team gets the same label), and not at all unless ``team.share`` has ``projects``. Session
ids are keyed hashes. MCP server and tool names are hashed unless ``mcp_names`` is shared.
"""

from __future__ import annotations

from blueplane_pipeline.team.identity import keyed_hash
from blueplane_pipeline.team.settings import TeamSettings


class Policy:
    """The share policy of one publish: the settings plus the salt in effect."""

    def __init__(self, settings: TeamSettings, salt: str) -> None:
        self.settings = settings
        self.salt = salt
        self._projects: dict[str, str] = {}

    def shares(self, item: str) -> bool:
        return self.settings.shares(item)

    def project(self, name: str | None, fallback: str | None = None) -> str:
        """The label of the project called ``name`` (a session's folder name); ``fallback``
        (a usage row's transcript folder) is hashed when no session names the project."""
        if not self.shares("projects"):
            return ""
        key = name or (f"\0{fallback}" if fallback else "")
        label = self._projects.get(key)
        if label is None:
            if name and name in self.settings.project_alias:
                label = self.settings.project_alias[name]
            elif name:
                label = "p-" + keyed_hash(self.salt, "project", name, 12)
            elif fallback:
                label = "p-" + keyed_hash(self.salt, "project-folder", fallback, 12)
            else:
                label = ""
            self._projects[key] = label
        return label

    def session(self, session_id: str) -> str:
        return "s-" + keyed_hash(self.salt, "session", session_id, 24)

    def tool(self, tool_name: str, mcp_server: str | None) -> str:
        """Built-in tool names in clear; MCP ones (``mcp__server__tool``) hashed unless
        ``mcp_names`` is shared."""
        server = mcp_server
        if server is None and tool_name.startswith("mcp__"):
            server = tool_name.split("__")[1] if tool_name.count("__") >= 2 else ""
        if server is None or self.shares("mcp_names"):
            return tool_name
        return (f"mcp__{keyed_hash(self.salt, 'mcp-server', server, 8)}"
                f"__{keyed_hash(self.salt, 'mcp-tool', tool_name, 8)}")

"""Opening ``telemetry.db`` for a tool: read-only, and a clear answer instead of a crash.

Missing database, analytics not built, an older schema, a bad period or platform: the
read API's one error adapter (``read.connect.answering``) turns each into a ``ToolError``
whose message says what is wrong and what to run, which the client shows the model as the
tool's (error) result.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from blueplane_pipeline.core import config
from blueplane_pipeline.core.platforms import assistant_names
from blueplane_pipeline.read import connect
from blueplane_pipeline.read.filters import Filters, check_platform, unknown_project
from blueplane_pipeline.read.periods import Window, parse_period


def _platform_schema(schema: dict) -> None:
    """The registry's assistants as the argument's choices, when the server is built."""
    for option in schema.get("anyOf", []):
        if option.get("type") == "string":
            option["enum"] = list(assistant_names())


# A tool's ``platform`` argument: any registered assistant (checked by ``filters``).
Platform = Annotated[str | None, Field(json_schema_extra=_platform_schema)]


def tool_error(message: str) -> NoReturn:
    raise ToolError(message) from None


@contextmanager
def reading() -> Iterator[sqlite3.Connection]:
    with connect.reading(config.db_path(), tool_error) as conn:
        yield conn


def window(period: str) -> tuple[Window, Window | None]:
    with connect.answering(tool_error):
        return parse_period(period)


def filters(platform: str | None, project: str | None) -> Filters:
    """The filters of a tool call; an unknown platform is an error naming the known ones."""
    with connect.answering(tool_error):
        return Filters(check_platform(platform), project or None)


def known_project(conn: sqlite3.Connection, project: str | None) -> None:
    """A project filter that matches nothing is a mistake worth saying, with suggestions."""
    problem = unknown_project(conn, project)
    if problem:
        tool_error(problem)


def normalise_ext(ext: str) -> str:
    """``py``, ``.PY`` or ``*.py`` -> ``.py`` (how ``file_ext`` is stored)."""
    ext = ext.strip().lower().lstrip("*")
    if not ext:
        tool_error("file_ext is empty: give an extension such as .py")
    return ext if ext.startswith(".") else "." + ext

"""Small helpers for building the read API's SQL: AND-ed conditions, IN lists, dict rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence


class Where:
    """Accumulates ``AND``-ed SQL conditions and their parameters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[object] = []

    def add(self, sql: str, *params: object) -> Where:
        self.parts.append(sql)
        self.params.extend(params)
        return self

    def add_in(self, column: str, values: Sequence[object]) -> Where:
        sql, params = in_clause(column, values)
        return self.add(sql, *params)

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.parts)) if self.parts else ""


def in_clause(column: str, values: Sequence[object]) -> tuple[str, list]:
    """``column IN (?, …)`` and its parameters; a condition no row meets when empty."""
    if not values:
        return "0", []
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


def dict_rows(cur: sqlite3.Cursor) -> list[dict]:
    """Every row of ``cur`` as a dict keyed by column name."""
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]

"""Rules the team tables must keep (the team code location's asset checks): one row per
key, and every rollup adding up to the facts it was built from.

A laptop may publish between a rollup's build and its check, so each rule reads one
snapshot: when the facts version still equals the one the rollup was built from, the
rollup is compared with the live facts; otherwise with the fact totals recorded by the
build in the same snapshot it was built from.
"""

from __future__ import annotations

import json
from typing import Any

from blueplane_pipeline.team.rollups import FACT_TOTALS, KEYS, ROLLUP_TOTALS, in_snapshot
from blueplane_pipeline.team.schema import SCHEMA

COST_TOLERANCE = 1e-6


def unique_keys(conn: Any, table: str) -> tuple[bool, dict]:
    keys = ", ".join(KEYS[table])

    def work(cur) -> int:
        cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {SCHEMA}.{table} GROUP BY {keys}"
                    " HAVING count(*) > 1) d")
        return cur.fetchone()[0]

    dupes = in_snapshot(conn, work)
    return dupes == 0, {"duplicate_keys": dupes, "key": KEYS[table]}


def _plain(value: Any) -> int | float | None:
    """Postgres sums of integers arrive as ``Decimal``: integral ones become ``int``."""
    if value is None or isinstance(value, (int, float)):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


def _same(a: list, b: list) -> bool:
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            continue
        if isinstance(x, float) or isinstance(y, float):
            if abs(float(x) - float(y)) > COST_TOLERANCE + 1e-9 * abs(float(y)):
                return False
        elif int(x) != int(y):
            return False
    return True


def totals_match_facts(conn: Any, rollup: str) -> tuple[bool, dict]:
    def work(cur) -> dict:
        cur.execute(f"SELECT version FROM {SCHEMA}.facts_version")
        version = cur.fetchone()[0]
        cur.execute(f"SELECT facts_version, facts_totals FROM {SCHEMA}.rollup_builds"
                    " WHERE rollup = %s", (rollup,))
        build = cur.fetchone()
        cur.execute(ROLLUP_TOTALS[rollup])
        ours = [_plain(v) for v in cur.fetchone()]
        if build is None:
            return {"built": False, "rollup_totals": ours}
        built_version, built_totals = build
        if isinstance(built_totals, str):
            built_totals = json.loads(built_totals)
        if version == built_version:
            cur.execute(FACT_TOTALS[rollup])
            facts = [_plain(v) for v in cur.fetchone()]
            compared_with = "live facts"
        else:
            facts, compared_with = built_totals, "facts at build (published since)"
        return {"built": True, "rollup_totals": ours, "fact_totals": facts,
                "compared_with": compared_with, "facts_version": version,
                "built_from_version": built_version}

    details = in_snapshot(conn, work)
    if not details["built"]:
        return False, {**details, "note": "the rollup was never built"}
    # the first column of a rollup's totals (sessions) is a count of fact rows
    ours, facts = details["rollup_totals"], details["fact_totals"]
    return _same(ours, facts), details

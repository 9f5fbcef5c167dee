"""What only OTel knows, joined onto sessions, tool_calls and metrics_daily: the real hook
bodies and OTLP exports of one Claude Code 2.1.328 session (the http_hooks fixture is the
same run as otel/http-json), through the collector, ingest and the Dagster assets."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.orchestration.assets.analytics import ANALYTICS_ASSETS
from blueplane_pipeline.orchestration.assets.otel import OTEL_ASSETS
from blueplane_pipeline.orchestration.assets.token_usage import token_usage
from blueplane_pipeline.orchestration.checks import ANALYTICS_CHECKS
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.storage.db import open_db
from tests._collector import fixture_requests, hook_bodies, post, running_collector

SESSION = "3da242e3-a726-4e6c-9d1b-83a96a7c0566"


def materialize() -> None:
    result = dg.materialize(
        [token_usage, *OTEL_ASSETS, *ANALYTICS_ASSETS, *ANALYTICS_CHECKS],
        resources={"blueplane": BlueplaneResource()},
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())


def send(hooks: bool = True, otel: bool = True, rewrite=None) -> None:
    with running_collector() as server:
        port = server.server_address[1]
        if hooks:
            for body in hook_bodies():
                assert post(port, "/hook/claude-code", body)[0] == 200
        if otel:
            for row, body in fixture_requests("http-json"):
                if rewrite is not None:
                    body = rewrite(body)
                assert post(port, row["path"], body)[0] == 200
    ingest()


def one(conn, sql: str, *params):
    return conn.execute(sql, params).fetchone()


def test_sessions_tool_calls_and_daily_gain_the_otel_columns(bp_home):
    send(otel=False)
    materialize()
    conn = open_db(config.db_path())
    # Before any OTel data: NULL, never a silent 0.
    assert one(
        conn,
        "SELECT otel_api_requests, otel_lines_added, user_acceptance_rate"
        " FROM sessions WHERE session_id = ?",
        SESSION,
    ) == (None, None, None)
    assert one(conn, "SELECT count(*) FROM tool_calls WHERE decision IS NOT NULL") == (0,)
    # The OTel exports arrive later: the next refresh fills the columns in.
    send(hooks=False)
    materialize()
    row = one(
        conn,
        "SELECT otel_api_requests, otel_input_tokens, otel_cost_usd,"
        " otel_lines_added, otel_lines_removed, otel_active_cli_s > 0,"
        " user_decisions, user_acceptance_rate FROM sessions WHERE session_id = ?",
        SESSION,
    )
    assert row == (5, 15055, pytest.approx(0.07087), 4, 0, 1, 0, None)
    decisions = dict(
        (t, (d, s, u))
        for t, d, s, u in conn.execute(
            "SELECT tool_use_id, decision, decision_source, user_decided FROM tool_calls"
        )
    )
    assert decisions["toolu_otel_edit_refused"] == ("reject", "config", 0)
    assert decisions["toolu_otel_write"] == ("accept", "config", 0)
    assert one(conn, "SELECT count(*) FROM tool_calls") == (4,)  # one row per call still
    daily = one(
        conn,
        "SELECT sum(otel_api_requests), sum(otel_lines_added),"
        " round(sum(otel_cost_usd), 6), sum(user_decisions) FROM metrics_daily",
    )
    assert daily == (5, 4, 0.07087, 0)


def test_user_decided_acceptance(bp_home):
    """The same export with the Write allowed by the user (`user_temporary`) and the Edit
    refused by the user: 1 of 2 user decisions accepted; config decisions do not count."""

    def by_user(body: bytes) -> bytes:
        text = body.decode()
        for tool in ("toolu_otel_write", "toolu_otel_edit_refused"):
            if tool in text:
                doc = json.loads(text)
                for rl in doc.get("resourceLogs", []):
                    for sl in rl["scopeLogs"]:
                        for rec in sl["logRecords"]:
                            attrs = {a["key"]: a for a in rec["attributes"]}
                            if (
                                attrs.get("tool_use_id", {}).get("value", {}).get("stringValue")
                                in ("toolu_otel_write", "toolu_otel_edit_refused")
                                and "source" in attrs
                            ):
                                attrs["source"]["value"] = {"stringValue": "user_temporary"}
                text = json.dumps(doc)
        return text.encode()

    send(rewrite=by_user)
    materialize()
    conn = open_db(config.db_path())
    assert one(
        conn,
        "SELECT user_decisions, user_accepts, user_acceptance_rate FROM sessions"
        " WHERE session_id = ?",
        SESSION,
    ) == (2, 1, 0.5)
    assert one(
        conn,
        "SELECT sum(user_decisions), sum(user_accepts), max(user_acceptance_rate)"
        " FROM metrics_daily",
    ) == (2, 1, 0.5)

"""`blueplane usage … --source otel|best` and `usage reconcile`, over the real OTLP exports
of Claude Code 2.1.328 (the transcript side is covered by tests/e2e/test_collector_cli.py,
which imports the same session's transcript)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.sources.otel.store import refresh
from blueplane_pipeline.storage.db import open_db
from tests._collector import OTEL, fixture_requests, post, running_collector

SESSION = "3da242e3-a726-4e6c-9d1b-83a96a7c0566"


def load(skip_logs_batch: int | None = None) -> None:
    with running_collector() as server:
        logs = 0
        for row, body in fixture_requests("http-json"):
            if row["path"] == "/v1/logs":
                logs += 1
                if logs == skip_logs_batch:
                    continue
            assert post(server.server_address[1], row["path"], body)[0] == 200
    ingest()
    conn = open_db(config.db_path())
    refresh(conn)
    conn.close()


def usage(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["usage", *args, "--json", "-z", "UTC"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_source_otel_reports_the_api_request_events(bp_home):
    load()
    calls = json.loads((OTEL / "http-json" / "standin_usage.json").read_text())
    totals = usage("daily", "--source", "otel")["totals"]
    assert totals["inputTokens"] == sum(c["usage"]["input_tokens"] for c in calls)
    assert totals["outputTokens"] == sum(c["usage"]["output_tokens"] for c in calls)
    assert totals["cacheReadTokens"] == sum(c["usage"]["cache_read_input_tokens"] for c in calls)
    assert round(totals["totalCost"], 6) == 0.07087
    # The default stays the transcripts (none here) and `best` falls back to OTel.
    assert usage("daily")["totals"]["inputTokens"] == 0
    assert usage("session", "--source", "best")["sessions"][0]["sessionId"] == SESSION
    text = CliRunner().invoke(cli, ["usage", "daily", "--source", "otel", "-z", "UTC"]).output
    assert "by OpenTelemetry" in text and "15,055" in text


def test_best_skips_a_session_with_a_lost_batch(bp_home):
    load(skip_logs_batch=3)
    assert usage("daily", "--source", "best")["totals"]["inputTokens"] == 0
    (row,) = usage("reconcile")["sessions"]
    assert row["session_id"] == SESSION and row["otel_events_lost"] > 0
    assert row["sources"] == "otel" and row["diff_input_tokens"] is None


def test_reconcile_without_otel_data_says_so(bp_home):
    result = CliRunner().invoke(cli, ["usage", "reconcile"])
    assert result.exit_code == 0
    assert "No OTel data" in result.output
    assert (
        CliRunner().invoke(cli, ["usage", "daily", "--source", "otel"]).output.count("no OTel data")
        == 1
    )

"""``blueplane watch``: the live loop shows what the pipeline commits while it runs."""

from __future__ import annotations

import json

from analytics_fixtures import store, transcript_envelopes
from click.testing import CliRunner
from rich.console import Console

from blueplane_cli.main import cli
from blueplane_cli.watch_cmd import follow, render
from blueplane_pipeline.analytics.refresh import refresh_all
from blueplane_pipeline.read.activity import recent_activity
from blueplane_pipeline.read.connect import open_reader
from tests.conftest import CLAUDE_HOME

PROJECTS = CLAUDE_HOME / "projects"
FIRST = PROJECTS / "-path-to-Demo" / "5c0375b4-57a5-4f26-b12d-d022ee4e51b7.jsonl"
SECOND = (PROJECTS / "-Users-crlough-Code-personal-chat-pdf-via-rag"
          / "38cc65a3-09b0-4865-aafd-d4f65d638a61.jsonl")


def text(renderable) -> str:
    console = Console(record=True, width=120)
    console.print(renderable)
    return console.export_text()


def test_live_view_follows_new_sessions(bp_home):
    db = bp_home / "telemetry.db"
    conn = store(db, transcript_envelopes(FIRST))
    refresh_all(conn)
    reader = open_reader(db)
    first = text(render(recent_activity(reader)))
    assert "5c0375b4" in first and "38cc65a3" not in first

    def sleep_while_a_session_arrives(_seconds: float) -> None:
        if not frames:  # the pipeline stores and refreshes between two frames
            from blueplane_pipeline.core.envelope import dumps
            from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise

            RawEventWriter(conn).write([normalise(dumps(e))
                                        for e in transcript_envelopes(SECOND)])
            refresh_all(conn)

    frames: list[str] = []
    follow(reader, 1.0, lambda view: frames.append(text(view)),
           sleep=sleep_while_a_session_arrives, count=2)
    assert len(frames) == 2
    assert "38cc65a3" in frames[0] and "5c0375b4" in frames[0]
    assert frames[0].index("38cc65a3") < frames[0].index("5c0375b4")  # newest first
    reader.close()
    conn.close()


def test_backlog_warning_when_events_wait_for_the_analytics(bp_home):
    db = bp_home / "telemetry.db"
    conn = store(db, transcript_envelopes(FIRST))
    refresh_all(conn)
    store(db, transcript_envelopes(SECOND)).close()  # stored, not yet analysed
    data = json.loads(CliRunner().invoke(cli, ["watch", "--once", "--json"]).output)
    assert data["events_waiting"] == len(transcript_envelopes(SECOND))
    view = CliRunner().invoke(cli, ["watch", "--once"]).output
    assert "stored events waiting for the analytics" in " ".join(view.split())
    metrics = CliRunner().invoke(cli, ["metrics", "--period", "all"])
    assert "Not yet in these numbers" in metrics.stderr
    refresh_all(conn)
    conn.close()
    assert json.loads(CliRunner().invoke(cli, ["watch", "--once", "--json"]).output)[
        "events_waiting"] == 0

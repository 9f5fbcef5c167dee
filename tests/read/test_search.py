"""Full-text search: the stored FTS5 index built by the refresh from real transcripts,
`blueplane search` and its filters, privacy modes, incremental updates from new hook
events, and the MCP search tools reading the same index."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcp import Client

from blueplane_cli.main import cli
from blueplane_pipeline.analytics.search_index import refresh_search_index
from blueplane_pipeline.capture import hook
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.read import search as text_search
from blueplane_pipeline.storage.db import connect, open_db
from mcp_server.server import build_server
from tests._telemetry_db import build_from_fixtures, temp_home

# A prompt of a real fixture transcript (tests/fixtures/real/claude_home).
PHRASE = "Port this Python project to Rust"


@pytest.fixture(scope="module")
def db():
    with temp_home() as home:
        yield build_from_fixtures(home)


def sql(db: Path, query: str, *params) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def search(*args: str, env: dict | None = None) -> dict:
    result = CliRunner().invoke(cli, ["search", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_phrase_of_a_real_transcript_is_found_with_its_session_and_turn(db):
    (sid, turn), = sql(db, "SELECT session_id, turn_index FROM turns WHERE prompt_text LIKE ?",
                       f"{PHRASE}%")
    hits = search(f'"{PHRASE}"')["hits"]
    assert hits[0]["session_id"] == sid  # the prompt, and the title it gave the session
    assert (sid, turn, "prompt") in {(h["session_id"], h["turn_index"], h["kind"]) for h in hits}
    assert hits[0]["snippet"].startswith(f"«{PHRASE}»")
    # The words in another order are not the phrase; as loose words they still match.
    assert search('"Rust to port"')["hits"] == []
    assert search("rust port")["hits"]
    opened = CliRunner().invoke(cli, ["analyze", sid[:8], "--turn", str(turn), "--json"])
    assert json.loads(opened.output)["prompt_text"].startswith(PHRASE)


def test_commands_assistant_text_and_filters(db):
    hits = search("git", "status", "--tool", "Bash")["hits"]
    assert hits and all(h["kind"] == "tool" and h["tool_name"] == "Bash" for h in hits)
    assert all("«git» «status»" in h["snippet"] for h in hits)
    one = hits[0]["session_id"]
    only = search("git", "--session", one[:8])["hits"]
    assert only and {h["session_id"] for h in only} == {one}
    project = sql(db, "SELECT project_name FROM sessions WHERE session_id = ?", one)[0][0]
    in_project = search("git", "--project", project)["hits"]
    names = {r[0] for r in sql(db, "SELECT session_id FROM sessions WHERE project_name = ?",
                               project)}
    assert in_project and {h["session_id"] for h in in_project} <= names
    assert search("git", "--since", "2999-01-01")["hits"] == []
    kinds = {h["kind"] for h in search("the", "--limit", "200")["hits"]}
    assert "assistant" in kinds  # answers are searchable too
    bad = CliRunner().invoke(cli, ["search", "git", "--project", "no-such-project"])
    assert bad.exit_code == 1 and "no project named" in bad.output


def test_strict_mode_hides_prompt_text_and_rebuilds_the_index(db):
    strict = {"BLUEPLANE_PRIVACY_MODE": "strict"}
    assert search(f'"{PHRASE}"', env=strict)["hits"] == []  # captured earlier, not shown
    conn = open_db(db)
    try:
        stats = refresh_search_index(conn, privacy_mode="strict")
        assert stats.full_rebuild
        kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM search_docs")}
        assert kinds == {"tool"}
        assert not conn.execute("SELECT 1 FROM search_fts WHERE search_fts MATCH"
                                " '\"git status\"'").fetchone()  # no command text either
        stats = refresh_search_index(conn)  # back to standard: everything again
        assert stats.full_rebuild
    finally:
        conn.close()
    assert search(f'"{PHRASE}"')["hits"]


def test_prompts_captured_in_strict_mode_are_never_indexed():
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.sources.run import run_import
    from tests.conftest import CLAUDE_HOME

    with temp_home() as home:
        redis_server.start()
        run_import("claude_code", [CLAUDE_HOME], db_path=config.db_path(),
                   privacy_mode="strict", background_ingest=False)
        redis_server.stop()
        conn = open_db(home / "telemetry.db")
        try:
            from blueplane_pipeline.analytics.refresh import refresh_all

            refresh_all(conn)
            refresh_search_index(conn)  # even if the index believes it is standard
            assert conn.execute("SELECT count(*) FROM search_docs WHERE kind = 'tool'"
                                ).fetchone()[0] > 0
            assert conn.execute("SELECT count(*) FROM search_docs WHERE kind = 'prompt'"
                                ).fetchone()[0] == 0
            assert text_search.find(conn, f'"{PHRASE}"') == []
        finally:
            conn.close()


def test_new_hook_events_are_indexed_incrementally(redis_home):
    run_hook = Path(hook.__file__).with_name("run_hook.py")
    for n, prompt in enumerate(["tune the zeppelin cache eviction", "now the kraken queue"]):
        payload = {"hook_event_name": "UserPromptSubmit", "session_id": "sess-live",
                   "cwd": "/work/airship", "prompt": prompt}
        subprocess.run([sys.executable, "-S", str(run_hook), "claude-code"], check=True,
                       input=json.dumps(payload).encode(), env=os.environ.copy())
        ingest(config.db_path(), config.redis_url())
        conn = open_db(config.db_path())
        try:
            from blueplane_pipeline.analytics.refresh import refresh_all

            refresh_all(conn)
            stats = refresh_search_index(conn)
            assert (stats.events_read, stats.docs_added) == (1, 1)  # only the new event
            assert stats.titles_changed == (n == 0)  # the first prompt titled the session
        finally:
            conn.close()
    conn = connect(config.db_path(), readonly=True)
    try:
        hits = text_search.find(conn, "kraken queue")
        assert [(h.session_id, h.turn_index, h.kind) for h in hits] == [("sess-live", 1,
                                                                          "prompt")]
        assert text_search.find(conn, "zeppelin")[0].turn_index == 0
    finally:
        conn.close()


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_mcp_search_tools_read_the_stored_index(db):
    # A word only a tool command holds: the old in-memory index of prompts missed it.
    hits = search("git", "status", "--tool", "Bash")["hits"]
    sid = hits[0]["session_id"]
    async with Client(build_server()) as client:
        found = (await client.call_tool("search_sessions", {"text": "git status"})
                 ).structured_content
        similar = (await client.call_tool("search_similar_tasks", {"task": PHRASE})
                   ).structured_content
    assert sid in {s["session_id"] for s in found["sessions"]}
    prompts_and_titles = sql(db, "SELECT count(*) FROM search_docs WHERE kind IN"
                                 " ('prompt', 'title')")[0][0]
    assert similar["indexed_texts"] == prompts_and_titles
    assert similar["matches"][0]["text"].startswith(PHRASE)


def test_purge_takes_old_text_out_of_the_index():
    from blueplane_pipeline.storage.purge import cutoff_ms, purge

    with temp_home() as home:
        db = build_from_fixtures(home)
        cutoff = cutoff_ms("2026-01-01")
        old = sql(db, "SELECT d.session_id, f.text FROM search_docs d JOIN search_fts f"
                      " ON f.rowid = d.doc_id WHERE d.kind = 'prompt' AND d.ts_ms < ?", cutoff)
        assert old
        conn = open_db(db)
        try:
            stats = purge(conn, cutoff)
            assert stats.search_docs >= len(old)
            assert conn.execute("SELECT count(*) FROM search_docs WHERE ts_ms < ?",
                                (cutoff,)).fetchone()[0] == 0
            docs = conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
            assert conn.execute("SELECT count(*) FROM search_fts").fetchone()[0] == docs
            gone = {sid for sid, _ in old}
            for _, text in old:
                hits = text_search.find(conn, f'"{" ".join(text.split()[:8])}"')
                assert not {h.session_id for h in hits} & gone
        finally:
            conn.close()

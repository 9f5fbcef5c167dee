"""What reaches the team store: a ``pg_dump`` of the whole team database, after three
laptops published and the rollups ran, contains none of the prompts, file paths, tool
outputs, project paths or names, titles or session ids that the laptops (and the real
transcripts they came from) hold."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from blueplane_pipeline.team import pg, rollups
from tests._team import (
    PROJECTS,
    laptops,  # noqa: F401 - fixture
    team_url,  # noqa: F401 - fixture
    three_way_split,
)

FRAGMENT = re.compile(r"[A-Za-z0-9 ./_-]{16,}")


def fragments(text: str | None, limit: int = 2) -> list[str]:
    """Up to ``limit`` plain runs of >= 16 characters from ``text`` (dump-escaping safe)."""
    out = []
    for run in FRAGMENT.findall(text or ""):
        run = run.strip()
        if len(run) >= 16 and sum(c.isalpha() for c in run) >= 6:
            out.append(run[:48])
        if len(out) >= limit:
            break
    return out


def fixture_strings() -> dict[str, set[str]]:
    """Prompts, tool inputs' paths, tool outputs and working folders of the transcripts."""
    found: dict[str, set[str]] = {"prompt": set(), "path": set(), "tool_output": set()}
    for project in PROJECTS:
        for path in project.rglob("*.jsonl"):
            for raw in path.read_bytes().splitlines():
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(line, dict):
                    continue
                if isinstance(line.get("cwd"), str) and len(line["cwd"]) >= 8:
                    found["path"].add(line["cwd"])
                content = (line.get("message") or {}).get("content") \
                    if isinstance(line.get("message"), dict) else None
                if line.get("type") == "user" and isinstance(content, str):
                    found["prompt"].update(fragments(content))
                for block in content if isinstance(content, list) else []:
                    if not isinstance(block, dict):
                        continue
                    if block.get("type") == "tool_use":
                        for key in ("file_path", "path", "notebook_path"):
                            value = (block.get("input") or {}).get(key)
                            if isinstance(value, str) and len(value) >= 8:
                                found["path"].add(value)
                    if block.get("type") == "tool_result":
                        inner = block.get("content")
                        text = inner if isinstance(inner, str) else " ".join(
                            b.get("text", "") for b in inner or [] if isinstance(b, dict))
                        found["tool_output"].update(fragments(text, 1))
                    if block.get("type") == "text" and line.get("type") == "user":
                        found["prompt"].update(fragments(block.get("text")))
    return found


def laptop_strings(laptop) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"prompt": set(), "path": set(), "tool_output": set(),
                                  "project": set(), "session_id": set(), "title": set()}
    for (text,) in laptop.rows("SELECT prompt_text FROM turns WHERE prompt_text IS NOT NULL"):
        found["prompt"].update(fragments(text))
    for (p,) in laptop.rows("SELECT file_path FROM tool_calls WHERE file_path IS NOT NULL"
                            " UNION SELECT file_path FROM file_edits WHERE file_path IS NOT NULL"
                            " UNION SELECT project_path FROM sessions"
                            " UNION SELECT source_file FROM token_usage"
                            " UNION SELECT project FROM token_usage"):
        if p and len(p) >= 8:
            found["path"].add(p)
    for (text,) in laptop.rows("SELECT error_text FROM tool_calls WHERE error_text IS NOT NULL"):
        found["tool_output"].update(fragments(text, 1))
    for name, title, session in laptop.rows("SELECT project_name, title, session_id "
                                            "FROM sessions"):
        if name and len(name) >= 8:
            found["project"].add(name)
        found["title"].update(fragments(title, 1))
        found["session_id"].add(session)
    return found


def test_pg_dump_holds_no_prompt_path_or_tool_output(team_url, laptops):  # noqa: F811
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    parts = three_way_split()
    devs = [laptops(n, part, team_url=team_url, developer=d)
            for n, part, d in zip("abc", parts, ["alice", "bob", "carol"], strict=True)]
    for laptop in devs:
        laptop.cli("team", "publish")
    conn = pg.open_store(team_url)
    try:
        for rollup in rollups.BUILDS:
            rollups.rebuild(conn, rollup)
    finally:
        conn.close()
    dump = subprocess.run(["pg_dump", "--no-owner", team_url], capture_output=True, text=True,
                          check=True).stdout

    # the dump is not empty: the facts are in it
    assert "alice" in dump and "claude-sonnet-4-20250514" in dump and "COPY blueplane." in dump

    known = fixture_strings()
    for laptop in devs:
        for kind, values in laptop_strings(laptop).items():
            known.setdefault(kind, set()).update(values)
    assert len(known["prompt"]) >= 10 and len(known["path"]) >= 10
    assert len(known["tool_output"]) >= 10 and len(known["session_id"]) == 15
    leaks = {kind: sorted(v for v in values if v in dump) for kind, values in known.items()}
    assert not any(leaks.values()), leaks

"""The import sensors and jobs on real files, a real Dagster instance and real Redis."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from blueplane_pipeline.core import config
from blueplane_pipeline.orchestration.jobs import IMPORT_JOBS
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.orchestration.sensors import IMPORT_SENSORS
from blueplane_pipeline.storage.db import connect
from blueplane_pipeline.storage.reader import iter_events
from tests import cursor_fixture
from tests.conftest import CLAUDE_HOME

RESOURCES = {"blueplane": BlueplaneResource()}
SENSORS = {s.name: s for s in IMPORT_SENSORS}
JOBS = {j.name: j for j in IMPORT_JOBS.values()}
transcript_import_sensor = SENSORS["claude_code_import_sensor"]
cursor_import_sensor = SENSORS["cursor_import_sensor"]
claude_import_job = JOBS["claude_code_import_job"]
cursor_import_job = JOBS["cursor_import_job"]


def _quiet() -> dict:
    return {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _count(platform: str) -> int:
    conn = connect(config.db_path(), readonly=True)
    try:
        return sum(1 for _ in iter_events(conn, platform=platform))
    finally:
        conn.close()


def _tick(sensor, instance, cursor=None):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor,
                                  resources=RESOURCES)
    result = sensor(ctx)
    return result, ctx.cursor


@pytest.fixture
def claude_dir(tmp_path, monkeypatch):
    dest = tmp_path / "claude"
    shutil.copytree(CLAUDE_HOME, dest)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(dest))
    return dest


def test_transcript_sensor_requests_a_run_only_when_files_change(redis_home, claude_dir):
    with dg.instance_for_test() as instance:
        first, cursor = _tick(transcript_import_sensor, instance)
        assert isinstance(first, dg.RunRequest)
        assert "15 Claude Code transcripts" in first.tags["blueplane/reason"]
        # The same changes are not requested twice while nothing happened.
        again, _ = _tick(transcript_import_sensor, instance, cursor)
        assert isinstance(again, dg.SkipReason)
        run = claude_import_job.execute_in_process(instance=instance, run_config=_quiet(),
                                            resources=RESOURCES)
        assert run.success
        stored = _count("claude_code")
        assert stored == sum(1 for p in (claude_dir / "projects").glob("*/*.jsonl")
                             for ln in p.read_bytes().splitlines() if ln.strip())
        idle, cursor = _tick(transcript_import_sensor, instance, cursor)
        assert isinstance(idle, dg.SkipReason)
        assert "no Claude Code transcripts changed" in idle.skip_message
        path = next((claude_dir / "projects").glob("*/*.jsonl"))
        with path.open("ab") as fh:
            fh.write(b'{"type":"summary","summary":"grown","leafUuid":"z"}\n')
        grown, cursor = _tick(transcript_import_sensor, instance, cursor)
        assert isinstance(grown, dg.RunRequest)
        assert "1 Claude Code transcripts" in grown.tags["blueplane/reason"]
        claude_import_job.execute_in_process(instance=instance, run_config=_quiet(),
                                            resources=RESOURCES)
        assert _count("claude_code") == stored + 1


def test_cursor_sensor_and_job(redis_home, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    fx = cursor_fixture.build(tmp_path / "xdg" / "Cursor" / "User")
    with dg.instance_for_test() as instance:
        first, cursor = _tick(cursor_import_sensor, instance)
        assert isinstance(first, dg.RunRequest)
        assert cursor_import_job.execute_in_process(instance=instance, resources=RESOURCES,
                                                    run_config=_quiet()).success
        assert _count("cursor") == sum(fx.expected.values())
        idle, cursor = _tick(cursor_import_sensor, instance, cursor)
        assert isinstance(idle, dg.SkipReason)
        cursor_fixture.update_bubble(fx, fx.bubble_keys[0], "changed while Cursor ran")
        changed, cursor = _tick(cursor_import_sensor, instance, cursor)
        assert isinstance(changed, dg.RunRequest)
        cursor_import_job.execute_in_process(instance=instance, run_config=_quiet(),
                                            resources=RESOURCES)
        assert _count("cursor") == sum(fx.expected.values()) + 1


def test_codex_sensor_imports_grown_rollouts(redis_home, tmp_path, monkeypatch):
    """The Codex import sensor (built from the registry) asks for a run when a rollout
    appears or grows (an ``exec resume`` appends to it), and only then."""
    from pathlib import Path

    src_home = Path(__file__).parents[1] / "fixtures" / "codex" / "codex_home"
    src = next((src_home / "sessions").rglob("rollout-*.jsonl"))
    home = tmp_path / "codex_home"
    dest = home / "sessions" / src.relative_to(src_home / "sessions")
    dest.parent.mkdir(parents=True)
    lines = src.read_bytes().splitlines(keepends=True)
    dest.write_bytes(b"".join(lines[:35]))  # turn 1 only; the resume comes later
    monkeypatch.setenv("CODEX_HOME", str(home))
    sensor, job = SENSORS["codex_import_sensor"], JOBS["codex_import_job"]
    with dg.instance_for_test() as instance:
        first, cursor = _tick(sensor, instance)
        assert isinstance(first, dg.RunRequest)
        assert job.execute_in_process(instance=instance, run_config=_quiet(),
                                      resources=RESOURCES).success
        assert _count("codex") == 35
        idle, cursor = _tick(sensor, instance, cursor)
        assert isinstance(idle, dg.SkipReason)
        with dest.open("ab") as fh:
            fh.write(b"".join(lines[35:]))
        grown, cursor = _tick(sensor, instance, cursor)
        assert isinstance(grown, dg.RunRequest)
        job.execute_in_process(instance=instance, run_config=_quiet(), resources=RESOURCES)
        assert _count("codex") == len(lines)

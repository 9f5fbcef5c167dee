"""``blueplane serve``: the real Datasette process over a real database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request

import pytest

from blueplane_pipeline.datasette.config import DASHBOARD_SLUG
from tests._serve import blueplane_exe, free_port, serving
from tests._telemetry_db import build_from_fixtures, file_digest, temp_home


@pytest.fixture(scope="module")
def served_home():
    with temp_home() as home:
        build_from_fixtures(home)
        yield home


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def run_serve(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*blueplane_exe(), "serve", *args], capture_output=True, text=True,
                          env=dict(os.environ, BLUEPLANE_HOME=str(home)), timeout=60)


def test_serve_answers_read_only(served_home):
    db = served_home / "telemetry.db"
    before = file_digest(db)
    with serving(served_home, free_port()) as base:
        status, body = fetch(base + "/telemetry/sessions.json?_shape=objects&_size=max")
        rows = json.loads(body)["rows"]
        assert status == 200 and len(rows) > 0
        status, page = fetch(f"{base}/-/dashboards/{DASHBOARD_SLUG}")
        assert status == 200 and b"Blueplane overview" in page
        status, body = fetch(base + "/telemetry/acceptance_by_day.json?_shape=objects")
        assert json.loads(body)["rows"]
        # Generated metadata lands in the home, not next to the database.
        meta = json.loads((served_home / "datasette" / "metadata.json").read_text())
        assert "telemetry" in meta["databases"]
    assert file_digest(db) == before


def test_serve_refuses_busy_port_and_other_hosts(served_home):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        result = run_serve(served_home, "--port", str(busy))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error: port {busy} on 127.0.0.1 is already in use: "
                                     "pick another with --port")
    result = run_serve(served_home, "--host", "0.0.0.0")
    assert result.returncode == 1 and "refusing to listen on 0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_without_database(tmp_path):
    result = run_serve(tmp_path, "--port", str(free_port()))
    assert result.returncode == 1
    assert "no telemetry database" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "telemetry.db").exists()

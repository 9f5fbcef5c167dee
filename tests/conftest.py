"""Shared fixtures: a temporary BLUEPLANE_HOME and the project's embedded Redis.

Tests never touch a user's ~/.blueplane nor the machine's Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Real data recorded by other people's Claude Code (tests/fixtures/real/README.md: provenance).
FIXTURES = Path(os.environ.get("BLUEPLANE_FIXTURES",
                               Path(__file__).resolve().parent / "fixtures" / "real"))
HOOK_PAYLOADS = FIXTURES / "hook_payloads"
CLAUDE_HOME = FIXTURES / "claude_home"


@pytest.fixture
def bp_home(monkeypatch):
    """A fresh, short-pathed BLUEPLANE_HOME (unix socket paths must stay < 104 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="bp-", dir="/tmp"))
    monkeypatch.setenv("BLUEPLANE_HOME", str(path))
    monkeypatch.delenv("BLUEPLANE_REDIS_URL", raising=False)
    monkeypatch.delenv("BLUEPLANE_PRIVACY_MODE", raising=False)
    yield path
    from blueplane_pipeline.runtime import redis_server

    redis_server.stop()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def redis_home(bp_home):
    """``bp_home`` with the embedded Redis running on its unix socket."""
    from blueplane_pipeline.runtime import redis_server

    redis_server.start()
    yield bp_home


@pytest.fixture
def redis_client(redis_home):
    from blueplane_pipeline.ingest import stream

    r = stream.client()
    yield r
    r.close()


def load_hook_payloads() -> list[dict]:
    """Every real hook payload in the shared fixtures, in file order."""
    out: list[dict] = []
    for path in sorted(HOOK_PAYLOADS.glob("*/*/logs/*.json")):
        out.extend(json.loads(path.read_text()))
    return out

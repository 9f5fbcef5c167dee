"""The real Claude Code CLI, installed from this folder's package-lock.json on first use."""

from __future__ import annotations

import shutil

import pytest
from harness import CliUnavailable, ensure_cli


@pytest.fixture(scope="session")
def claude_cli():
    if shutil.which("npm") is None and shutil.which("node") is None:
        pytest.skip("Node.js/npm not installed: the real Claude Code CLI cannot be installed")
    try:
        return ensure_cli()
    except CliUnavailable as exc:
        pytest.fail(f"the real Claude Code CLI is unavailable: {exc}")

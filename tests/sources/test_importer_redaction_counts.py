"""Every importer counts the secrets its privacy filter replaced, so `blueplane status`
reports redactions for Codex and Gemini history as it does for hooks (issue 9 item 4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from blueplane_pipeline.core import config
from blueplane_pipeline.sources.run import run_import
from tests.ingest.test_redaction_counts import counts_table

FIXTURES = Path(__file__).parents[1] / "fixtures"
KEY = "AKIAIOSFODNN7EXAMPLE"

CASES = {
    # platform: (fixture home, glob of its history files, text to plant the key after)
    "codex": ("codex/codex_home", "sessions/**/*.jsonl", "Run the two shell commands,"),
    "gemini": ("gemini/gemini_home", "tmp/*/chats/*.jsonl", "Run the two shell commands,"),
}


@pytest.mark.parametrize("platform", sorted(CASES))
def test_imported_history_counts_its_redactions(platform, redis_home, tmp_path):
    home, pattern, anchor = CASES[platform]
    copy = tmp_path / "home"
    shutil.copytree(FIXTURES / home, copy)
    (path,) = copy.glob(pattern)
    text = path.read_text()
    assert anchor in text
    path.write_text(text.replace(anchor, f"{anchor} {KEY}"))

    run_import(platform, [copy], db_path=config.db_path(), background_ingest=False)

    counts = counts_table()
    assert counts.get((platform, "aws-access-key-id"), 0) >= 1, counts
    assert not any(p != platform for p, _ in counts)

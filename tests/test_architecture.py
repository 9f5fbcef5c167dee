"""docs/architecture.md stays true: every path it names exists, every room is described."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "blueplane_pipeline"
DOC = (ROOT / "docs" / "architecture.md").read_text()
PATH = re.compile(r"`([A-Za-z_][\w./-]*(?:\.py|/))`")


def _rooms() -> dict[str, str]:
    """room -> its description, from the table of rooms."""
    rows = re.findall(r"^\| `([\w]+/)` \| (.+) \|$", DOC, re.M)
    return dict(rows)


def test_every_room_of_the_package_is_described():
    on_disk = {p.name + "/" for p in PACKAGE.iterdir()
               if p.is_dir() and not p.name.startswith(("_", "."))}
    assert set(_rooms()) == on_disk


def test_every_path_in_a_room_exists():
    for room, text in _rooms().items():
        for name in PATH.findall(text):
            candidates = [PACKAGE / room / name, PACKAGE / name]
            assert any(c.exists() for c in candidates), f"{room}: {name} does not exist"


def test_every_other_path_named_exists():
    rest = DOC.split("## Which room for which change")[1] + DOC.split("## The rooms")[1].split(
        "| room |")[0] + DOC.split("`definitions.py` only assembles")[1].split("##")[0]
    for name in PATH.findall(rest):
        candidates = [ROOT / name, PACKAGE / name, ROOT / "tests" / Path(name).name]
        assert any(c.exists() for c in candidates), f"{name} does not exist"


FRONT_ENDS = {"cli", "mcp", "e2e"}


def test_tests_mirror_the_rooms():
    """Every test module sits in the folder of the room (or front end) it tests."""
    rooms = {r.rstrip("/") for r in _rooms()} | FRONT_ENDS
    stray = [p.relative_to(ROOT / "tests").as_posix()
             for p in (ROOT / "tests").rglob("test_*.py")
             if p.parent != ROOT / "tests" and p.relative_to(ROOT / "tests").parts[0] not in rooms]
    at_top = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))
    assert not stray, f"test modules outside any room's folder: {stray}"
    assert at_top == ["test_architecture.py"], f"move these into their room's folder: {at_top}"


# SQLite's own dialect: where it appears, the code is tied to SQLite (issue 10's storage seam).
SQLITE_ONLY = re.compile(r"PRAGMA |INSERT OR (IGNORE|REPLACE)|sqlite_master|BEGIN IMMEDIATE")
# Outside storage/ only: the team laptop's own state file and Datasette's cache check, both
# SQLite by definition (neither is telemetry.db).
SQLITE_ELSEWHERE = {"team/state.py", "datasette/plugins/blueplane_sql.py"}


def test_sqlite_only_statements_live_in_storage():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("storage/") or rel in SQLITE_ELSEWHERE:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if SQLITE_ONLY.search(code) and not code.lstrip().startswith(('"""', "``")):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "SQLite-only SQL outside storage/:\n" + "\n".join(found)

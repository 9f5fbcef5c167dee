"""Spool: where envelopes wait on disk when Redis cannot be reached.

Each writer creates its own file (written under a temporary name, then renamed), so no two
processes ever share one and ingest only sees complete files. Standard library only.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # ``typing`` costs the hook ~2 ms to import

if TYPE_CHECKING:  # the hook imports this module; pathlib is only needed by callers
    from collections.abc import Iterator
    from pathlib import Path

SUFFIX = ".jsonl"


def write(spool_dir: Path | str, lines: list[bytes]) -> Path | str:
    """Append ``lines`` (one JSON document each) as a new spool file; return its path (a
    string when ``spool_dir`` is one: the hook passes strings to stay clear of pathlib).

    All or nothing: on any failure (a full disk) the temporary file is removed and the
    error raised, so ingest never sees a partial file."""
    name = f"{time.time_ns()}-{os.getpid()}-{os.urandom(3).hex()}"
    tmp = os.path.join(spool_dir, f".{name}.tmp")
    final = os.path.join(spool_dir, f"{name}{SUFFIX}")
    data = memoryview(b"".join(line.rstrip(b"\n") + b"\n" for line in lines))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            while data:  # a full disk may take part of a write without an error
                written = os.write(fd, data)
                if written <= 0:
                    raise OSError(28, "No space left on device", tmp)
                data = data[written:]
        finally:
            os.close(fd)
        os.rename(tmp, final)
    except BaseException:
        # Never leave a temporary file behind (the caller logs the failure). Not
        # contextlib.suppress: the hook would pay for importing contextlib.
        try:  # noqa: SIM105
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return final if isinstance(spool_dir, str) else spool_dir / f"{name}{SUFFIX}"


def pending_files(spool_dir: Path) -> list[Path]:
    """Complete spool files, oldest first."""
    if not spool_dir.is_dir():
        return []
    return sorted(p for p in spool_dir.iterdir() if p.name.endswith(SUFFIX))


def read_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield line


def spool_bytes(spool_dir: Path) -> int:
    return sum(p.stat().st_size for p in pending_files(spool_dir))

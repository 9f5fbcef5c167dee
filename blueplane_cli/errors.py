"""The last line of defence: any failure a command did not handle becomes one ``Error:``
line that says what is wrong and what to do, never a traceback.

Commands report the failures they expect themselves; this catches the environment's
(a read-only or full disk, a file that is not a database, a folder that cannot be
created) wherever they surface. ``BLUEPLANE_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import sqlite3


def describe(exc: BaseException) -> str:
    """One line for people: what went wrong, and what to do about it."""
    text = str(exc).strip() or type(exc).__name__
    lowered = text.lower()
    if isinstance(exc, sqlite3.Error):
        if "readonly" in lowered or "read-only" in lowered:
            return (f"the database cannot be written ({text}): check the permissions of "
                    "BLUEPLANE_HOME and that its disk is not mounted read-only")
        if "disk is full" in lowered or "disk i/o" in lowered:
            return (f"the disk holding BLUEPLANE_HOME is full or failing ({text}): free "
                    "some space and run the command again; nothing captured was lost")
        if "not a database" in lowered or "malformed" in lowered:
            return (f"telemetry.db is not a readable Blueplane database ({text}): move it "
                    "away (or restore a backup) and run the command again")
        if "locked" in lowered or "busy" in lowered:
            return f"the database is busy ({text}): try again in a moment"
        return f"database error: {text}"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        reason = exc.strerror or text
        if exc.errno == 28:  # ENOSPC
            return (f"no space left on the device{where}: free some space and run the "
                    "command again; nothing captured was lost")
        if exc.errno == 30:  # EROFS
            return f"the file system is read-only{where}: BLUEPLANE_HOME must be writable"
        return f"{reason}{where}"
    return f"unexpected {type(exc).__name__}: {text} (BLUEPLANE_DEBUG=1 shows the traceback)"

"""When to launch an ingest run: the pure decision behind ``redis_stream_sensor``."""

from __future__ import annotations


def ingest_decision(*, in_flight: int, lag: int | None, pending: int | None,
                    spool_files: int, redis_error: str | None = None) -> tuple[bool, str]:
    """Return (launch?, reason). No run while one is queued or running; none without work."""
    if in_flight:
        return False, f"an ingest run is already in flight ({in_flight})"
    if spool_files:
        return True, f"{spool_files} spool file(s) waiting"
    if redis_error:
        return False, f"Redis unreachable: {redis_error}"
    if lag:
        return True, f"stream lag {lag}"
    if pending:
        return True, f"{pending} pending (unacknowledged) entries to recover"
    return False, "stream has no lag"

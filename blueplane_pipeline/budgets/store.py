"""``budgets.json`` under the home: the budgets and the pause of the hard cap.

Standard library only (the hook and the statusline read it), and ``json`` is imported only
where a caller passes no parser of its own: the statusline parses without it (see there).
Written atomically, mode 0600.
"""

from __future__ import annotations

import os

PERIODS = ("daily", "weekly", "monthly", "block")


def budget_id(period: str, project: str | None) -> str:
    """One budget per period and project: ``daily``, ``weekly:myapp``."""
    return f"{period}:{project}" if project else period


def load(path: str, loads=None) -> dict:
    """``{"budgets": [...], "paused_until_ms": int}``; a missing or broken file is empty."""
    if loads is None:
        import json

        loads = json.loads
    try:
        with open(path, "rb") as fh:
            doc = loads(fh.read())
    except (OSError, ValueError):
        return {"budgets": [], "paused_until_ms": 0}
    if not isinstance(doc, dict) or not isinstance(doc.get("budgets"), list):
        return {"budgets": [], "paused_until_ms": 0}
    budgets = [b for b in doc["budgets"] if _valid(b)]
    paused = doc.get("paused_until_ms")
    return {
        "budgets": budgets,
        "paused_until_ms": paused if isinstance(paused, (int, float)) else 0,
    }


def _valid(b: object) -> bool:
    return (
        isinstance(b, dict)
        and b.get("period") in PERIODS
        and isinstance(b.get("amount"), (int, float))
        and b["amount"] > 0
        and (b.get("project") is None or isinstance(b.get("project"), str))
    )


def save(path: str, doc: dict) -> None:
    """Write ``doc``; with no budget left the file is removed (the hook's fast path)."""
    import contextlib
    import json

    if not doc.get("budgets"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def upsert(doc: dict, period: str, amount: float, project: str | None, enforce: bool) -> dict:
    """``doc`` with the budget of (period, project) set (replacing an earlier one)."""
    if period not in PERIODS:
        raise ValueError(f"unknown budget period {period!r}: use {', '.join(PERIODS)}")
    if not amount > 0:
        raise ValueError("a budget must be a positive amount of US dollars")
    ident = budget_id(period, project)
    kept = [b for b in doc.get("budgets", []) if budget_id(b["period"], b.get("project")) != ident]
    kept.append(
        {
            "id": ident,
            "period": period,
            "amount": float(amount),
            "project": project,
            "enforce": bool(enforce),
        }
    )
    kept.sort(key=lambda b: (PERIODS.index(b["period"]), b.get("project") or ""))
    return {**doc, "budgets": kept}


def remove(doc: dict, ident: str) -> tuple[dict, bool]:
    kept = [b for b in doc.get("budgets", []) if budget_id(b["period"], b.get("project")) != ident]
    return {**doc, "budgets": kept}, len(kept) != len(doc.get("budgets", []))


def write_atomic_json(path: str, data: dict) -> None:
    """Write a small JSON file atomically (its folder is created), mode 0600."""
    import json

    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, separators=(",", ":"))
    os.replace(tmp, path)

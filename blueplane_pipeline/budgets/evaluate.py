"""Budgets against spend: pure functions over the two small documents (no database).

Standard library only, and cheap (microseconds): the hook runs :func:`gate` on every event
once a budget exists, the statusline :func:`evaluate` on every redraw.

Windows are local calendar ones: ``daily`` today, ``weekly`` since Monday, ``monthly``
since the 1st; ``block`` is the current 5-hour billing block (as ``usage blocks`` and
ccusage define it), which ends after 5 hours with no spend until the next message opens one.
"""

from __future__ import annotations

import time

WARN_RATIO = 0.8
ALL = "*"  # the spend of every project together


def local_days(now_ms: int, period: str) -> list[str]:
    """The local calendar days (``YYYY-MM-DD``) of the window ``period`` that holds now."""
    now = now_ms / 1000
    lt = time.localtime(now)
    noon = now - (lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec) + 12 * 3600
    if period == "daily":
        back = 0
    elif period == "weekly":
        back = lt.tm_wday  # Monday = 0
    elif period == "monthly":
        back = lt.tm_mday - 1
    else:
        return []
    # Stepping whole days from local noon stays between 11:00 and 13:00 across DST changes.
    return [
        time.strftime("%Y-%m-%d", time.localtime(noon - k * 86400)) for k in range(back, -1, -1)
    ]


def window_id(period: str, days: list[str], block: dict | None) -> str:
    if period == "block":
        return f"block-{int(block['start_ms'])}" if block else "block-none"
    if period == "monthly":
        return days[-1][:7]
    return f"week-{days[0]}" if period == "weekly" else days[-1]


def active_block(spend: dict, now_ms: int) -> dict | None:
    block = spend.get("block")
    if isinstance(block, dict) and block.get("start_ms", 0) <= now_ms < block.get("end_ms", 0):
        return block
    return None


def spent(
    spend: dict, period: str, project: str | None, now_ms: int, live_extra: float = 0.0
) -> tuple[float, str]:
    """(US dollars spent in the current window, the window's id)."""
    key = project or ALL
    if period == "block":
        block = active_block(spend, now_ms)
        total = 0.0
        if block is not None:
            total = (
                (block.get("by_project") or {}).get(key, 0.0) if project else block.get("cost", 0.0)
            )
        return total + live_extra, window_id(period, [], block)
    days = local_days(now_ms, period)
    by_day = spend.get("days") or {}
    total = sum((by_day.get(d) or {}).get(key, 0.0) for d in days)
    return total + live_extra, window_id(period, days, None)


def level_of(ratio: float) -> str:
    return "over" if ratio >= 1 else "warn" if ratio >= WARN_RATIO else "ok"


def evaluate(
    doc: dict, spend: dict, now_ms: int, *, project: str | None = None, live_extra: float = 0.0
) -> list[dict]:
    """One state per budget that applies (all-project budgets, and ``project``'s own):
    ``{id, period, project, amount, spent, ratio, level, window, enforce, denies}``.
    ``live_extra`` is spend not in ``spend`` yet (a running session's newest cost)."""
    paused = now_ms < (doc.get("paused_until_ms") or 0)
    states = []
    for b in doc.get("budgets", []):
        scope = b.get("project")
        if scope is not None and project is not None and scope != project:
            continue
        amount = float(b["amount"])
        used, window = spent(spend, b["period"], scope, now_ms, live_extra)
        ratio = used / amount
        level = level_of(ratio)
        states.append(
            {
                "id": b.get("id") or b["period"],
                "period": b["period"],
                "project": scope,
                "amount": amount,
                "spent": round(used, 6),
                "ratio": round(ratio, 4),
                "level": level,
                "window": window,
                "enforce": bool(b.get("enforce")),
                "denies": bool(b.get("enforce")) and level == "over" and not paused,
            }
        )
    return states


def describe(state: dict) -> str:
    """``daily budget $20.00: $17.10 spent (86 %)`` (+ the project)."""
    scope = f" for {state['project']}" if state.get("project") else ""
    return (
        f"{state['period']} budget{scope} ${state['amount']:.2f}: "
        f"${state['spent']:.2f} spent ({state['ratio'] * 100:.0f} %)"
    )


def deny_reason(states: list[dict]) -> str | None:
    """Why tool calls are refused now (the enforced budgets that are over), or None."""
    over = [s for s in states if s["denies"]]
    if not over:
        return None
    return (
        "Blueplane hard cap reached: "
        + "; ".join(describe(s) for s in over)
        + ". Tool calls are refused until the window ends; `blueplane budget pause 1h` "
        "lifts the cap for an hour."
    )


def notices(states: list[dict]) -> list[tuple[str, str]]:
    """(key, message) of each crossing worth telling once: 80 % and 100 % per window."""
    out = []
    for s in states:
        if s["level"] == "ok":
            continue
        what = "reached" if s["level"] == "over" else "at 80 %"
        out.append((f"{s['id']}@{s['window']}@{s['level']}", f"Blueplane: {describe(s)}, {what}."))
    return out

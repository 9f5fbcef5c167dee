"""``blueplane statusline``: the command Claude Code runs for its status line.

Claude Code pipes a JSON document to it (model, session id, ``cost.total_cost_usd``,
``context_window.used_percentage``, ``rate_limits.*`` when logged in with a subscription,
…; the shape recorded from the real CLI is in ``tests/fixtures/statusline``) and shows the
first line it prints. This prints the model, the session's cost, today's cost, the current
5-hour block (spent, time left, projected), context use, the rate limits and the budgets,
coloured unless ``NO_COLOR`` is set. Spend comes from ``run/spend.json`` (the analytics
refresh keeps it current); a running session's cost newer than that file is added from
the JSON itself, so the line moves with every answer.

It also captures the JSON as an event (source ``statusline``: Claude Code's own running
cost, context and rate-limit numbers, for reconciliation), through the privacy filter and
the same deliver-or-spool path as the hook, in a child process once the line is out, and
skips that when nothing but the clock changed since the last one. The event names its
session only in its payload, so a status-line refresh never stretches a session's duration.

Same rules as the hook: standard library only, never fails, never prints a traceback,
always exits 0. The installer registers ``<python> -S …/capture/run_statusline.py``.
"""

from __future__ import annotations

import os
import sys
import time

RESET, DIM, GREEN, YELLOW, RED, CYAN, BOLD = (
    "\x1b[0m",
    "\x1b[2m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[31m",
    "\x1b[36m",
    "\x1b[1m",
)
SEP = " │ "


def _get(doc: object, *path: str) -> object:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    if value in (float("inf"), float("-inf")):
        return None
    return float(value)


def _money(usd: float) -> str:
    return f"${usd:.2f}" if usd < 1000 else f"${usd:,.0f}"


def _duration(ms: float) -> str:
    minutes = max(0, int(ms // 60_000))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


class Painter:
    """ANSI colour, or plain text when ``NO_COLOR`` is set (https://no-color.org)."""

    def __init__(self, env: dict) -> None:
        self.on = not env.get("NO_COLOR")

    def __call__(self, text: str, *styles: str) -> str:
        return "".join(styles) + text + RESET if self.on and styles else text

    def level(self, text: str, level: str) -> str:
        return self(text, {"ok": GREEN, "warn": YELLOW, "over": RED + BOLD}.get(level, ""))


class _Parse:
    """What ``_json.make_scanner`` asks of a decoder (``json.JSONDecoder``'s defaults)."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int, parse_constant = float, int, float
    memo: dict = {}


def loads(data: bytes | str) -> object:
    """``json.loads`` without importing ``json``: it imports ``re`` (and ``enum``,
    ``functools``, …), several milliseconds of a status line's budget. The C scanner alone
    parses; anything it cannot is handed to ``json`` itself."""
    try:
        import _json

        text = data.decode("utf-8") if isinstance(data, bytes) else data
        start = len(text) - len(text.lstrip(" \t\n\r"))
        value, end = _json.make_scanner(_Parse())(text, start)
        if text[end:].strip(" \t\n\r"):
            raise ValueError("extra data")
        return value
    except (ImportError, AttributeError, TypeError):
        import json

        return json.loads(data)
    except (ValueError, RecursionError):
        raise
    except Exception:  # noqa: BLE001 - StopIteration / SystemError on truncated input
        raise ValueError("not a JSON value") from None


def _read_json(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            doc = loads(fh.read())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _stop(signum: int, frame: object) -> None:
    raise TimeoutError


def _alarm(seconds: float) -> None:
    try:
        import _signal  # built in and loaded already (``signal`` would build its enums)

        _signal.signal(_signal.SIGALRM, _stop)
        _signal.setitimer(_signal.ITIMER_REAL, seconds)
    except (ImportError, AttributeError, ValueError, OSError):
        pass


def _read_stdin(deadline_s: float = 3.0) -> bytes:
    """All of stdin, within a hard deadline (as the hook reads it)."""
    chunks: list[bytes] = []
    _alarm(deadline_s)
    try:
        while True:
            chunk = os.read(0, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except (TimeoutError, OSError):
        pass
    finally:
        _alarm(0)
    return b"".join(chunks)


def render(doc: dict, spend: dict, budgets: dict, now_ms: int, env: dict) -> str:
    """The status line for one statusline JSON document (pure: files are read by main)."""
    from blueplane_pipeline.budgets import evaluate

    paint = Painter(env)
    parts: list[str] = []
    model = _get(doc, "model", "display_name") or _get(doc, "model", "id")
    if isinstance(model, str) and model:
        parts.append(paint(model, BOLD, CYAN))
    session_cost = _num(_get(doc, "cost", "total_cost_usd"))
    sid = doc.get("session_id") if isinstance(doc.get("session_id"), str) else None
    # The running session's cost that spend.json does not hold yet.
    stored = (spend.get("sessions") or {}).get(sid, 0.0) if sid else 0.0
    live = max(0.0, (session_cost or 0.0) - (stored or 0.0))
    if session_cost is not None:
        parts.append(f"{_money(session_cost)} session")
    if spend:
        today, _ = evaluate.spent(spend, "daily", None, now_ms, live)
        parts.append(f"{_money(today)} today")
        block = evaluate.active_block(spend, now_ms)
        if block is not None:
            cost = block.get("cost", 0.0) + live
            left = block["end_ms"] - now_ms
            span = max(now_ms - block.get("first_ms", block["start_ms"]), 60_000)
            projected = cost + cost / span * left
            parts.append(f"block {_money(cost)} · {_duration(left)} left · →{_money(projected)}")
    used = _num(_get(doc, "context_window", "used_percentage"))
    if used is not None:
        level = "over" if used >= 90 else "warn" if used >= 70 else "ok"
        parts.append("ctx " + paint.level(f"{used:.0f}%", level))
    for key, label in (("five_hour", "5h"), ("seven_day", "7d")):
        pct = _num(_get(doc, "rate_limits", key, "used_percentage"))
        if pct is not None:
            level = "over" if pct >= 90 else "warn" if pct >= 70 else "ok"
            parts.append(f"{label} " + paint.level(f"{pct:.0f}%", level))
    if _get(doc, "fast_mode") is True:
        parts.append(paint("fast", YELLOW))
    project = _get(doc, "workspace", "project_dir") or doc.get("cwd")
    project = os.path.basename(project.rstrip("/")) if isinstance(project, str) else None
    for s in evaluate.evaluate(budgets, spend, now_ms, project=project, live_extra=live):
        label = s["period"] + (f" {s['project']}" if s["project"] else "")
        mark = " ⛔" if s["denies"] else ""
        parts.append(f"{label} " + paint.level(f"{s['ratio'] * 100:.0f}%", s["level"]) + mark)
    return paint(SEP, DIM).join(parts) if parts else "blueplane"


DURATION_KEY = b'"total_duration_ms"'


def steady_mark(raw: bytes) -> str:
    """A checksum of the JSON without ``cost.total_duration_ms`` (the wall clock, different
    on every call): equal marks mean nothing worth a new event happened."""
    import zlib

    i = raw.find(DURATION_KEY)
    if i >= 0:
        j = i + len(DURATION_KEY)
        while j < len(raw) and raw[j] in b" \t\r\n:":
            j += 1
        k = j
        while k < len(raw) and raw[k] in b"0123456789.-+eE":
            k += 1
        raw = raw[:j] + raw[k:]
    return str(zlib.crc32(raw))


def is_new(raw: bytes, home: str) -> bool:
    """Whether this JSON differs from the last one captured (then it becomes the last).
    Decided before the capture child starts, so calls in quick succession agree."""
    mark = steady_mark(raw)
    last = os.path.join(home, "run", "statusline.last")
    try:
        with open(last) as fh:
            if fh.read() == mark:
                return False
    except OSError:
        pass
    try:
        os.makedirs(os.path.dirname(last), mode=0o700, exist_ok=True)
        with open(last, "w") as fh:
            fh.write(mark)
    except OSError:
        pass
    return True


def capture(raw: bytes, doc: dict | None, home: str) -> None:
    """Send the JSON as a ``statusline`` event through the privacy filter."""
    from blueplane_pipeline.capture import hook
    from blueplane_pipeline.core import config
    from blueplane_pipeline.core.envelope import make_envelope

    mode = config.load_settings().privacy_mode
    counts: dict[str, int] = {}
    if doc is None:
        payload = hook.invalid_payload(raw, "not a JSON object", True, mode)
    else:
        from blueplane_pipeline.core.privacy import filter_payload

        cwd = doc.get("cwd") if isinstance(doc.get("cwd"), str) else None
        payload = filter_payload(doc, mode, cwd, counts)
    envelope = make_envelope("claude_code", "statusline", "statusline", payload,
                             redactions=counts)
    hook.deliver(hook.encode(envelope))


def main(argv: list[str] | None = None) -> None:
    os.umask(0o077)
    line = "blueplane"
    raw, doc = b"", None
    try:
        from blueplane_pipeline.core import config

        raw = _read_stdin()
        try:
            parsed = loads(raw)
            doc = parsed if isinstance(parsed, dict) else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            doc = None
        home = config.home_str()
        spend = _read_json(config.spend_path_str())
        budgets = {"budgets": []}
        if os.path.exists(config.budgets_path_str()):
            from blueplane_pipeline.budgets import store

            budgets = store.load(config.budgets_path_str(), loads)
        line = render(doc or {}, spend, budgets, int(time.time() * 1000), dict(os.environ))
    except BaseException:  # noqa: BLE001 - a status line must never show a traceback
        home = None
    try:  # noqa: SIM105 - contextlib costs this process ~1 ms to import
        os.write(1, (line + "\n").encode("utf-8", "replace"))
    except BaseException:  # noqa: BLE001
        pass
    if home is not None and (argv or sys.argv[1:])[:1] != ["--no-capture"]:
        try:
            fresh = is_new(raw, home)
        except BaseException:  # noqa: BLE001
            fresh = True
        if fresh:
            _capture_after_exit(raw, doc, home)
    os._exit(0)


def _capture_after_exit(raw: bytes, doc: dict | None, home: str) -> None:
    """Capture in a forked child once the line is out: Claude Code shows the line when this
    process exits and its stdout closes, so the child lets go of stdout and stderr first.
    Where there is no ``fork`` (Windows) or it fails, capture here."""
    pid = -1
    if hasattr(os, "fork") and not os.environ.get("BLUEPLANE_STATUSLINE_FOREGROUND"):
        try:
            pid = os.fork()
        except OSError:
            pid = -1
    if pid > 0:
        return  # the parent: exit now
    try:
        if pid == 0:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
        capture(raw, doc, home)
    except BaseException as exc:  # noqa: BLE001
        from blueplane_pipeline.capture.hook import _last_resort

        _last_resort(exc)
    if pid == 0:
        os._exit(0)


if __name__ == "__main__":
    main()

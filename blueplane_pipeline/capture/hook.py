"""``blueplane-hook <assistant>``: capture one hook event, never fail the assistant.

Reads the hook's stdin, wraps it in the envelope, applies the privacy filter and XADDs it
to the stream under a hard deadline; if Redis is unreachable or slow the envelope goes to
the spool. Always exits 0. Prints nothing unless the assistant's registry entry
(``core.platforms``) says it waits for an answer: Claude Code's stdout of some events is
injected into the model's context, while Cursor's "before…" hooks wait for their
allow/continue answer, which they get even when capture itself fails.

Input that is not a JSON object (empty, binary, truncated, a bare value) is still
captured, as event type ``invalid_input`` with the text kept as the privacy mode allows.

Standard library only: this runs once per event, on the assistant's critical path. The
installers register ``<python> -S …/capture/run_hook.py <platform>`` (see there); the
``blueplane-hook`` console script and ``python -m blueplane_pipeline.capture.hook`` run
the same ``main``.
"""

from __future__ import annotations

import json
import os
import sys


def _env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment; anything else means the default
    (this runs at import, outside every guard: it must not raise)."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if 0 < value < 3600 else default


INVALID_INPUT = "invalid_input"
# Hard deadlines (seconds): reading stdin, and delivering to Redis before spooling instead.
STDIN_DEADLINE_S = _env_seconds("BLUEPLANE_HOOK_STDIN_TIMEOUT", 3.0)
REDIS_DEADLINE_S = _env_seconds("BLUEPLANE_HOOK_TIMEOUT", 0.25)
MAX_RAW_BYTES = 8 * 1024 * 1024
# Outside ``full`` mode, unparseable input keeps only this much (secrets redacted).
STANDARD_RAW_HEAD = 4096


class Deadline(BaseException):
    """Raised by the interval timer when a phase of the hook overruns its budget."""


def _on_alarm(signum: int, frame: object) -> None:
    raise Deadline()


def _arm(seconds: float) -> None:
    """Start (or with 0, stop) the hard deadline; a no-op where there is no SIGALRM."""
    try:
        import _signal  # built in and already loaded; ``signal`` would build its enums

        _signal.signal(_signal.SIGALRM, _on_alarm)
        _signal.setitimer(_signal.ITIMER_REAL, max(seconds, 0.0))
    except (ImportError, AttributeError, ValueError, OSError):
        pass


def read_stdin(fd: int = 0) -> tuple[bytes, bool]:
    """All of stdin within ``STDIN_DEADLINE_S``; returns (data, complete)."""
    chunks: list[bytes] = []
    _arm(STDIN_DEADLINE_S)
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
    except (Deadline, OSError):
        return b"".join(chunks), False
    finally:
        _arm(0)


def sniff_string(data: bytes, key: str) -> str | None:
    """The string value of ``"key"`` in JSON that may be truncated or otherwise broken."""
    marker = b'"' + key.encode() + b'"'
    start = data.find(marker)
    if start < 0:
        return None
    i = start + len(marker)
    n = len(data)
    while i < n and data[i] in b" \t\r\n":
        i += 1
    if i >= n or data[i : i + 1] != b":":
        return None
    i += 1
    while i < n and data[i] in b" \t\r\n":
        i += 1
    if data[i : i + 1] != b'"':
        return None
    j = i + 1
    while j < n and j - i < 4096:
        if data[j : j + 1] == b"\\":
            j += 2
            continue
        if data[j : j + 1] == b'"':
            try:
                value = json.loads(data[i : j + 1])
            except ValueError:
                return None
            return value if isinstance(value, str) else None
        j += 1
    return None


def _no_constant(name: str) -> None:
    """``NaN``, ``Infinity``, ``-Infinity``: not JSON, and no store downstream takes them."""
    return None


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if value - value == 0 else None  # 1e999 parses as inf


def _bounded_int(text: str) -> int | float:
    """Integers past 64 bits (which SQLite and the ingest parser refuse) become floats."""
    value = int(text)
    return value if -(1 << 63) <= value < (1 << 64) else float(value)


def parse_stdin(data: bytes) -> tuple[dict | None, str | None]:
    """Return (payload, None) for a JSON object, else (None, why it is invalid).

    Non-finite numbers are normalised where they enter: ``NaN``/``Infinity`` (which
    Python's parser accepts) and overflowing floats become ``null``, integers past 64 bits
    floats, so the event is stored like any other instead of being dead-lettered later."""
    try:
        payload = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float,
                             parse_int=_bounded_int)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    if not isinstance(payload, dict):
        return None, f"not a JSON object ({type(payload).__name__})"
    return payload, None


def invalid_payload(data: bytes, error: str, complete: bool, privacy_mode: str,
                    counts: dict[str, int] | None = None) -> dict:
    """Describe unparseable input; how much of its text is kept depends on the privacy mode."""
    import hashlib

    payload: dict = {
        "parse_error": error,
        "raw_bytes": len(data),
        "stdin_complete": complete,
        "sha256": hashlib.sha256(data).hexdigest(),
        "hook_event_name": sniff_string(data, "hook_event_name"),
    }
    if privacy_mode == "full":
        payload["raw_text"] = data[:MAX_RAW_BYTES].decode("utf-8", errors="replace")
        payload["truncated"] = len(data) > MAX_RAW_BYTES
    elif privacy_mode == "standard":
        from blueplane_pipeline.core.privacy import redact

        payload["raw_text"] = redact(data[:STANDARD_RAW_HEAD].decode("utf-8", errors="replace"),
                                     counts)
        payload["truncated"] = len(data) > STANDARD_RAW_HEAD
    return payload


def build_envelope(platform: str, data: bytes, privacy_mode: str, complete: bool = True) -> dict:
    from blueplane_pipeline.core.envelope import make_envelope
    from blueplane_pipeline.core.privacy import filter_payload

    payload, error = parse_stdin(data) if complete else (None, "stdin not closed in time")
    counts: dict[str, int] = {}  # secrets redacted, per rule (summed by ingest)
    if payload is None:
        session_id = sniff_string(data, "session_id") or sniff_string(data, "conversation_id")
        return make_envelope(platform, "hook", INVALID_INPUT,
                             invalid_payload(data, error or "invalid", complete, privacy_mode,
                                             counts),
                             session_id=session_id, redactions=counts)
    event_type = payload.get("hook_event_name")
    session_id = payload.get("session_id") or payload.get("conversation_id")
    filtered = filter_payload(payload, privacy_mode, _project_dir(payload), counts)
    return make_envelope(platform, "hook", str(event_type or "unknown"), filtered,
                         session_id=str(session_id) if session_id else None, redactions=counts)


def _project_dir(payload: dict) -> str | None:
    """Paths are kept relative to this: Claude Code's ``cwd``, Cursor's first workspace root."""
    cwd = payload.get("cwd")
    if isinstance(cwd, str):
        return cwd
    roots = payload.get("workspace_roots")
    if isinstance(roots, list) and roots and isinstance(roots[0], str):
        return roots[0]
    return None


def encode(envelope: dict) -> bytes:
    """One JSON line. A lone surrogate (legal as a JSON escape, not in UTF-8, refused by the
    ingest parser) becomes U+FFFD instead of failing the event."""
    from blueplane_pipeline.core.envelope import dumps

    try:
        return dumps(envelope)
    except UnicodeEncodeError:
        import re

        text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
        return re.sub("[\ud800-\udfff]", "\ufffd", text).encode()


def deliver(line: bytes) -> str:
    """XADD the envelope within the deadline; on any failure spool it. Returns where it went."""
    from blueplane_pipeline.capture import resp, spool
    from blueplane_pipeline.core import config

    _arm(REDIS_DEADLINE_S)
    try:
        resp.xadd(config.redis_url(), config.STREAM_KEY, "e", line, REDIS_DEADLINE_S)
        return "stream"
    except (Deadline, OSError, resp.RespError, ValueError):
        pass
    finally:
        _arm(0)
    spool.write(config.spool_dir_str(), [line])
    return "spool"


def envelope_line(platform: str, data: bytes, mode: str, complete: bool = True
                  ) -> tuple[dict, bytes]:
    """The envelope of one hook body and its stream line, never raising for odd input: what
    the command hook and the collector's HTTP hook endpoint both store."""
    try:
        envelope = build_envelope(platform, data, mode, complete)
        return envelope, encode(envelope)
    except Exception as exc:  # noqa: BLE001 - a filter bug must not lose the event
        envelope = _fallback_envelope(platform, data, f"capture failed: {exc!r}"[:300], mode)
        return envelope, encode(envelope)


def capture(platform: str, data: bytes, complete: bool = True) -> str:
    """Capture one event; return its event type."""
    from blueplane_pipeline.core import config

    envelope, line = envelope_line(platform, data, config.load_settings().privacy_mode,
                                   complete)
    deliver(line)
    return envelope["event_type"]


def _fallback_envelope(platform: str, data: bytes, error: str, mode: str) -> dict:
    from blueplane_pipeline.core.envelope import make_envelope

    return make_envelope(platform, "hook", INVALID_INPUT, invalid_payload(data, error, True, mode),
                         session_id=sniff_string(data, "session_id"))


def hook_answer(spec, event_type: str | None, data: bytes) -> dict | None:
    """What the assistant waits for on stdout (its registry entry says, per event); the
    event name is read defensively from the raw bytes if the payload could not be."""
    if event_type in (None, INVALID_INPUT, "unknown"):
        event_type = sniff_string(data, "hook_event_name")
        if event_type is None:
            return spec.hook_fallback_answer
    return spec.hook_answers.get(event_type)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    os.umask(0o077)  # the spool and the error log are private (one syscall)
    spec = None
    data, event_type = b"", None
    try:
        from blueplane_pipeline.core import platforms

        spec = platforms.from_cli(args[0] if args else None) or platforms.get("claude_code")
        data, complete = read_stdin()
        event_type = capture(spec.name, data, complete)
    except BaseException as exc:  # noqa: BLE001 - a hook must never fail the assistant
        _last_resort(exc)
    try:
        answer = _budget_answer(spec, event_type, data)  # never raises
        if answer is None and spec is not None and (spec.hook_answers
                                                    or spec.hook_fallback_answer):
            answer = hook_answer(spec, event_type, data)
        if answer is not None:
            os.write(1, (json.dumps(answer) + "\n").encode())
    except BaseException:  # noqa: BLE001
        pass
    os._exit(0)


def _budget_answer(spec, event_type: str | None, data: bytes) -> dict | None:
    """A budget's denial or notice (``capture.budget_gate``); without ``budgets.json`` this
    is one ``stat`` and nothing is imported."""
    try:
        from blueplane_pipeline.core import config

        if spec is None or not os.path.exists(config.budgets_path_str()):
            return None
        from blueplane_pipeline.capture import budget_gate

        if event_type in (None, INVALID_INPUT, "unknown"):
            event_type = sniff_string(data, "hook_event_name")
        return budget_gate.answer(spec.name, event_type, data, config.home_str())
    except BaseException:  # noqa: BLE001 - a budget must never break capture
        return None


ERROR_LOG = "hook-errors.log"
ERROR_LOG_MAX_BYTES = 1024 * 1024


def _last_resort(exc: BaseException) -> None:
    """Record why capture failed in ``logs/hook-errors.log`` (one line, UTC time first; the
    file is rotated to ``.1`` past 1 MB), without raising."""
    try:
        import time

        from blueplane_pipeline.core import config

        path = os.path.join(config.subdir_str("logs"), ERROR_LOG)
        if os.path.exists(path) and os.path.getsize(path) > ERROR_LOG_MAX_BYTES:
            os.replace(path, path + ".1")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(path, "a") as fh:
            fh.write(f"{stamp} {type(exc).__name__}: {exc}\n"[:2000])
    except BaseException:  # noqa: BLE001
        pass


if __name__ == "__main__":
    main()

"""``blueplane-hook claude-code|cursor``: capture one hook event, never fail the assistant.

Reads the hook's stdin, wraps it in the envelope, applies the privacy filter and XADDs it
to the stream with a short hard timeout; if Redis is unreachable the envelope goes to the
spool. Always exits 0. Prints nothing for Claude Code (stdout of some events is injected
into the model's context); prints the allow/continue answer Cursor's "before…" hooks expect.

Standard library only: this runs once per event, on the assistant's critical path.
"""

from __future__ import annotations

import json
import os
import sys

PLATFORMS = {"claude-code": "claude_code", "claude_code": "claude_code", "cursor": "cursor"}
TIMEOUT_S = float(os.environ.get("BLUEPLANE_HOOK_TIMEOUT", "0.25"))
MAX_RAW_BYTES = 8 * 1024 * 1024

# What Cursor waits for on stdout from its blocking hooks.
CURSOR_ANSWERS = {
    "beforeSubmitPrompt": {"continue": True},
    "beforeShellExecution": {"permission": "allow"},
    "beforeMCPExecution": {"permission": "allow"},
    "beforeReadFile": {"permission": "allow"},
}


def parse_stdin(data: bytes) -> tuple[object, str | None]:
    """Return (payload, error); unparseable input is kept as text, flagged."""
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        text = data[:MAX_RAW_BYTES].decode("utf-8", errors="replace")
        payload = {"raw_text": text, "raw_bytes": len(data), "truncated": len(data) > MAX_RAW_BYTES}
        return payload, f"{type(exc).__name__}: {exc}"[:300]
    return payload, None


def build_envelope(platform: str, data: bytes, privacy_mode: str) -> dict:
    from blueplane_pipeline.envelope import make_envelope
    from blueplane_pipeline.privacy import filter_payload

    payload, error = parse_stdin(data)
    if error is not None:
        payload["parse_error"] = error  # type: ignore[index]
        return make_envelope(platform, "hook", "invalid_input", payload)
    if not isinstance(payload, dict):
        payload = {"value": payload}
    event_type = payload.get("hook_event_name") or "unknown"
    session_id = payload.get("session_id") or payload.get("conversation_id")
    filtered = filter_payload(payload, privacy_mode)
    return make_envelope(platform, "hook", str(event_type), filtered,
                         session_id=str(session_id) if session_id else None)


def deliver(line: bytes) -> str:
    """XADD the envelope; on any failure spool it. Returns ``"stream"`` or ``"spool"``."""
    from blueplane_pipeline import config
    from blueplane_pipeline.capture import resp, spool

    try:
        resp.xadd(config.redis_url(), config.STREAM_KEY, "e", line, TIMEOUT_S)
        return "stream"
    except (OSError, resp.RespError, ValueError):
        spool.write(config.spool_dir(), [line])
        return "spool"


def run(platform_arg: str, data: bytes) -> dict | None:
    """Capture one event; return the JSON answer to print, if any."""
    from blueplane_pipeline import config
    from blueplane_pipeline.envelope import dumps

    platform = PLATFORMS.get(platform_arg, "claude_code")
    envelope = build_envelope(platform, data, config.load_settings().privacy_mode)
    deliver(dumps(envelope))
    if platform == "cursor":
        return CURSOR_ANSWERS.get(envelope["event_type"])
    return None


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    answer = None
    try:
        data = sys.stdin.buffer.read()
        answer = run(args[0] if args else "claude-code", data)
    except BaseException as exc:  # noqa: BLE001 - a hook must never fail the assistant
        _last_resort(exc)
    if answer is not None:
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    os._exit(0)


def _last_resort(exc: BaseException) -> None:
    """Record why capture failed somewhere a user can find it, without raising."""
    try:
        from blueplane_pipeline import config

        with open(config.logs_dir() / "hook-errors.log", "a") as fh:
            fh.write(f"{type(exc).__name__}: {exc}\n")
    except BaseException:  # noqa: BLE001
        pass


if __name__ == "__main__":
    main()

"""A local stand-in for the OpenAI Responses API that plays a scripted Codex session.

The real Codex CLI talks to it through a custom ``[model_providers.<id>]`` whose
``base_url`` is this server's ``/v1`` (``wire_api = "responses"``); nothing leaves the
machine. Every ``POST /v1/responses`` gets the next scripted response, in order, streamed
as SSE the way the API does (``response.created``, ``response.output_item.added`` /
``.done`` per item, ``response.output_text.delta`` for text, ``response.completed`` with
the usage). Each scripted response carries KNOWN usage, so a test can compare what Codex
(and ccusage) report against what the "model" said. Every request body is recorded.

The usage convention is the Responses API's: ``input_tokens`` includes the cached tokens
(``input_tokens_details.cached_tokens``), ``output_tokens`` includes the reasoning tokens
(``output_tokens_details.reasoning_tokens``), ``total_tokens = input + output``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "gpt-5.5"


@dataclass(frozen=True)
class Usage:
    input_tokens: int          # includes cached_tokens
    cached_tokens: int
    output_tokens: int         # includes reasoning_tokens
    reasoning_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def wire(self) -> dict:
        """The ``usage`` object of a ``response.completed`` event."""
        return {"input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": self.cached_tokens},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
                "total_tokens": self.total_tokens}

    def as_dict(self) -> dict:
        return {"input_tokens": self.input_tokens, "cached_tokens": self.cached_tokens,
                "output_tokens": self.output_tokens, "reasoning_tokens": self.reasoning_tokens,
                "total_tokens": self.total_tokens}


def shell(call_id: str, cmd: str, **extra: object) -> dict:
    """A call of Codex's shell tool (``exec_command``; arguments are a JSON string)."""
    return {"type": "function_call", "name": "exec_command", "call_id": call_id,
            "arguments": json.dumps({"cmd": cmd, **extra})}


def apply_patch(call_id: str, patch: str) -> dict:
    """A call of the freeform ``apply_patch`` tool (a custom tool: raw text input)."""
    return {"type": "custom_tool_call", "name": "apply_patch", "call_id": call_id,
            "input": patch}


def poll(call_id: str, yield_time_ms: int = 5000) -> Callable[[dict], list[dict]]:
    """A ``write_stdin`` poll of the unified-exec session the previous call left running.

    The session id is only known at run time (Codex prints ``Process running with session
    ID N`` in the last ``function_call_output``), so this returns a function of the request
    body that builds the call."""
    def build(body: dict) -> list[dict]:
        outputs = [i for i in body.get("input", []) if i.get("type") == "function_call_output"]
        text = str(outputs[-1].get("output", "")) if outputs else ""
        found = re.search(r"session ID (\d+)", text)
        session = int(found.group(1)) if found else 0
        return [{"type": "function_call", "name": "write_stdin", "call_id": call_id,
                 "arguments": json.dumps({"session_id": session, "chars": "",
                                          "yield_time_ms": yield_time_ms})}]
    return build


def reasoning(summary: str) -> dict:
    return {"type": "reasoning", "summary": [{"type": "summary_text", "text": summary}],
            "content": None, "encrypted_content": None}


def message(value: str) -> dict:
    return {"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": value, "annotations": []}]}


@dataclass
class Scripted:
    """One model response: its output items (or a function of the request body that
    returns them) and the usage it reports."""
    items: list[dict] | Callable[[dict], list[dict]]
    usage: Usage
    label: str = ""

    def render(self, body: dict) -> list[dict]:
        return self.items(body) if callable(self.items) else self.items


@dataclass
class Served:
    index: int                 # position in its script, or -1 for the fallback answer
    response_id: str
    label: str
    usage: Usage
    untooled: bool = False     # a request without ``tools`` (Codex's local compaction)
    request: dict = field(repr=False, default_factory=dict)


FALLBACK = Scripted([message("Done.")], Usage(500, 0, 5, 0), "fallback")


def _sse(data: dict) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def stream_frames(response_id: str, model: str, scripted: Scripted,
                  body: dict | None = None) -> list[bytes]:
    """The SSE frames of one response."""
    base = {"id": response_id, "object": "response", "model": model, "status": "in_progress",
            "output": []}
    frames = [_sse({"type": "response.created", "sequence_number": 0, "response": base})]
    seq = 1
    done_items = []
    for index, item in enumerate(scripted.render(body or {})):
        prefix = {"message": "msg", "function_call": "fc", "custom_tool_call": "ctc",
                  "reasoning": "rs"}.get(item["type"], "item")
        item = {"id": f"{prefix}_{response_id[5:]}_{index}", **item}
        if item["type"] in ("message", "function_call", "custom_tool_call"):
            item.setdefault("status", "completed")
        added = {**item, "status": "in_progress"} if "status" in item else dict(item)
        if item["type"] == "message":
            added["content"] = []
        frames.append(_sse({"type": "response.output_item.added", "sequence_number": seq,
                            "output_index": index, "item": added}))
        seq += 1
        if item["type"] == "message":
            for part in item["content"]:
                frames.append(_sse({"type": "response.output_text.delta",
                                    "sequence_number": seq, "item_id": item["id"],
                                    "output_index": index, "content_index": 0,
                                    "delta": part["text"]}))
                seq += 1
        frames.append(_sse({"type": "response.output_item.done", "sequence_number": seq,
                            "output_index": index, "item": item}))
        seq += 1
        done_items.append(item)
    frames.append(_sse({"type": "response.completed", "sequence_number": seq, "response": {
        **base, "status": "completed", "output": done_items,
        "usage": scripted.usage.wire()}}))
    return frames


class ResponsesStandIn:
    """``with ResponsesStandIn(script) as api: api.base_url`` — 127.0.0.1, a free port.

    ``script`` is served in order, one entry per ``POST /v1/responses``; once it runs
    out, every further request gets ``FALLBACK`` (recorded with index -1). Requests that
    offer no ``tools`` (Codex's local auto-compaction asks for a summary that way) take
    the next entry of ``untooled`` instead, when that list is given.
    """

    def __init__(self, script: list[Scripted], untooled: list[Scripted] | None = None) -> None:
        self.script = list(script)
        self.untooled = list(untooled) if untooled is not None else None
        self.requests: list[dict] = []      # every request: method, path, headers, body
        self.served: list[Served] = []      # every /v1/responses answer, in order
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ResponsesStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def usage_log(self) -> list[dict]:
        """What was returned, per response, in order (for ``standin_usage.json``)."""
        return [{"response_id": s.response_id, "script_index": s.index, "label": s.label,
                 "untooled": s.untooled, "usage": s.usage.as_dict()} for s in self.served]

    def _take(self, body: dict) -> tuple[Served, Scripted]:
        with self._lock:
            untooled = self.untooled is not None and not body.get("tools")
            queue = self.untooled if untooled else self.script
            position = sum(1 for s in self.served if s.untooled == untooled and s.index >= 0)
            scripted = queue[position] if position < len(queue) else FALLBACK
            index = position if position < len(queue) else -1
            served = Served(index, f"resp_standin_{len(self.served) + 1:04d}", scripted.label,
                            scripted.usage, untooled, body)
            self.served.append(served)
            return served, scripted

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _record(self, body: object) -> None:
                standin.requests.append({"method": self.command, "path": self.path,
                                         "headers": dict(self.headers.items()),
                                         "body": body})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                self._record(body)
                if not self.path.split("?")[0].endswith("/responses"):
                    return self._json(404, {"error": {"message": "not scripted"}})
                served, scripted = standin._take(body)
                model = body.get("model") or MODEL
                frames = stream_frames(served.response_id, model, scripted, body)
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("content-length", str(sum(len(f) for f in frames)))
                self.end_headers()
                for frame in frames:
                    self.wfile.write(frame)
                self.wfile.flush()

            def do_GET(self) -> None:
                self._record(None)
                if self.path.split("?")[0].endswith("/models"):
                    return self._json(200, {"object": "list", "data": [], "models": []})
                self._json(404, {"error": {"message": "not scripted"}})

            def _json(self, status: int, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler

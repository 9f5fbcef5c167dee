"""A local stand-in for the Anthropic Messages API that plays a scripted session.

The real Claude Code CLI talks to it through ``ANTHROPIC_BASE_URL``; nothing leaves the
machine. Requests of the main agent loop (they carry ``tools``) get the next scripted
assistant turn, chosen by how many assistant turns the conversation already holds, and
streamed as SSE the way the API does (message_start, content_block_start/delta/stop,
message_delta, message_stop). Side requests (titles, summaries, quota checks) get a
short text answer. Every request body is recorded for the test to inspect.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "claude-sonnet-4-5-20250929"


def tool_use(tool_id: str, name: str, tool_input: dict) -> dict:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


def text(value: str) -> dict:
    return {"type": "text", "text": value}


class Script:
    """The assistant's turns, in order; once they run out, every turn ends with text."""

    def __init__(self, turns: list[list[dict]]) -> None:
        self.turns = turns

    def answer(self, body: dict) -> list[dict]:
        if not body.get("tools"):
            return [text("Scripted session")]
        done = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        return self.turns[done] if done < len(self.turns) else [text("Done.")]


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def stream_events(blocks: list[dict], message_id: str, model: str) -> list[bytes]:
    """The SSE frames of one assistant message made of ``blocks``."""
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    usage = {"input_tokens": 120, "output_tokens": 1, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0}
    frames = [_sse("message_start", {"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}})]
    for index, block in enumerate(blocks):
        if block["type"] == "tool_use":
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        frames.append(_sse("content_block_start", {
            "type": "content_block_start", "index": index, "content_block": start}))
        frames.append(_sse("content_block_delta", {
            "type": "content_block_delta", "index": index, "delta": delta}))
        frames.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    frames.append(_sse("message_delta", {
        "type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": 25}}))
    frames.append(_sse("message_stop", {"type": "message_stop"}))
    return frames


class StandIn:
    """``with StandIn(script) as api: api.url`` — a server on 127.0.0.1, a free port."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict] = []
        self._count = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_id(self) -> str:
        with self._lock:
            self._count += 1
            return f"msg_standin_{self._count:04d}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                standin.requests.append({"path": self.path, "body": body})
                if not self.path.split("?")[0].endswith("/v1/messages"):
                    return self._json({"input_tokens": 100} if "count_tokens" in self.path
                                      else {})
                blocks = standin.script.answer(body)
                model = body.get("model") or MODEL
                if body.get("stream"):
                    return self._stream(stream_events(blocks, standin._next_id(), model))
                self._json({"id": standin._next_id(), "type": "message", "role": "assistant",
                            "model": model, "content": blocks,
                            "stop_reason": "tool_use" if any(
                                b["type"] == "tool_use" for b in blocks) else "end_turn",
                            "stop_sequence": None,
                            "usage": {"input_tokens": 120, "output_tokens": 25}})

            def do_GET(self) -> None:
                standin.requests.append({"path": self.path, "body": None})
                self._json({"data": [], "has_more": False})

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def _json(self, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, frames: list[bytes]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("content-length", str(sum(len(f) for f in frames)))
                self.end_headers()
                for frame in frames:
                    self.wfile.write(frame)
                self.wfile.flush()

        return Handler

"""A local stand-in for the Gemini API (``generativelanguage``) that plays a scripted session.

The real Gemini CLI talks to it through ``GOOGLE_GEMINI_BASE_URL`` (plain http is accepted
for localhost); nothing leaves the machine. Every
``POST /v1beta/models/<model>:streamGenerateContent?alt=sse`` of the main agent loop gets
the next scripted response, in order, as SSE ``data:`` chunks the way the API streams
them; the last chunk carries ``finishReason`` and the response's ``usageMetadata``. Each
scripted response has KNOWN usage so a test can compare what the CLI (and ccusage)
record. Other calls (``:generateContent``, ``:countTokens``, side requests without
tools) get a short generic answer, recorded apart. Every request is recorded.

Usage convention (the Gemini API's): ``promptTokenCount`` includes
``cachedContentTokenCount``; ``candidatesTokenCount`` does NOT include
``thoughtsTokenCount``; ``totalTokenCount = prompt + candidates + thoughts + toolUsePrompt``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, whether sent with ``content-length`` or chunked (Node's OTLP
    exporters send ``Transfer-Encoding: chunked``)."""
    if "chunked" in (handler.headers.get("transfer-encoding") or "").lower():
        data = b""
        while True:
            size_line = handler.rfile.readline().strip().split(b";")[0]
            size = int(size_line or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return data
            data += handler.rfile.read(size)
            handler.rfile.readline()  # the CRLF after each chunk
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""

MODEL = "gemini-2.5-pro"


@dataclass(frozen=True)
class Usage:
    prompt: int            # includes cached
    cached: int
    candidates: int        # visible output, excludes thoughts
    thoughts: int = 0
    tool_use_prompt: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.candidates + self.thoughts + self.tool_use_prompt

    def wire(self) -> dict:
        data = {"promptTokenCount": self.prompt, "candidatesTokenCount": self.candidates,
                "totalTokenCount": self.total,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.prompt}]}
        if self.cached:
            data["cachedContentTokenCount"] = self.cached
            data["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": self.cached}]
        if self.thoughts:
            data["thoughtsTokenCount"] = self.thoughts
        if self.tool_use_prompt:
            data["toolUsePromptTokenCount"] = self.tool_use_prompt
        return data

    def as_dict(self) -> dict:
        return {"promptTokenCount": self.prompt, "cachedContentTokenCount": self.cached,
                "candidatesTokenCount": self.candidates, "thoughtsTokenCount": self.thoughts,
                "toolUsePromptTokenCount": self.tool_use_prompt,
                "totalTokenCount": self.total}


def function_call(name: str, args: dict) -> dict:
    return {"functionCall": {"name": name, "args": args}}


def shell(command: str, description: str = "") -> dict:
    """A call of Gemini CLI's shell tool (``run_shell_command``)."""
    args = {"command": command}
    if description:
        args["description"] = description
    return function_call("run_shell_command", args)


def thought(value: str) -> dict:
    return {"text": value, "thought": True}


def text(value: str) -> dict:
    return {"text": value}


@dataclass
class Scripted:
    """One model response: its parts (or a function of the request body returning them)
    and the usage it reports."""
    parts: list[dict] | Callable[[dict], list[dict]]
    usage: Usage
    label: str = ""

    def render(self, body: dict) -> list[dict]:
        return self.parts(body) if callable(self.parts) else self.parts


@dataclass
class Served:
    index: int                   # position in the script, -1 for a side/fallback answer
    response_id: str
    label: str
    usage: Usage
    path: str
    request: dict = field(repr=False, default_factory=dict)


SIDE = Scripted([text("ok")], Usage(100, 0, 2), "side request")
FALLBACK = Scripted([text("Done.")], Usage(500, 0, 5), "fallback")


def _chunks(response_id: str, model: str, scripted: Scripted, body: dict) -> list[dict]:
    """The streamed chunks of one response: a thought chunk first (if any), then one
    chunk with the other parts, the finish reason and the usage."""
    parts = scripted.render(body)
    thoughts = [p for p in parts if p.get("thought")]
    rest = [p for p in parts if not p.get("thought")]
    base = {"modelVersion": model, "responseId": response_id}
    chunks = []
    if thoughts:
        chunks.append({"candidates": [{"content": {"parts": thoughts, "role": "model"},
                                       "index": 0}], **base})
    chunks.append({"candidates": [{"content": {"parts": rest or [text("")], "role": "model"},
                                   "finishReason": "STOP", "index": 0}],
                   "usageMetadata": scripted.usage.wire(), **base})
    return chunks


class GeminiStandIn:
    """``with GeminiStandIn(script) as api: api.url`` — 127.0.0.1, a free port.

    ``script`` entries answer, in order, the streamed requests that offer tools (the
    agent loop). Once it runs out, ``FALLBACK`` answers (index -1).
    """

    def __init__(self, script: list[Scripted]) -> None:
        self.script = list(script)
        self.requests: list[dict] = []
        self.served: list[Served] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> GeminiStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def usage_log(self, main_only: bool = True) -> list[dict]:
        """What was returned, per response, in order (for ``standin_usage.json``)."""
        return [{"response_id": s.response_id, "script_index": s.index, "label": s.label,
                 "path": s.path.split("?")[0], "usageMetadata": s.usage.as_dict()}
                for s in self.served if s.index >= 0 or not main_only]

    def _take(self, body: dict, path: str) -> tuple[Served, Scripted]:
        with self._lock:
            agent_loop = ":streamGenerateContent" in path and bool(body.get("tools"))
            number = len(self.served) + 1
            if agent_loop:
                position = sum(1 for s in self.served if s.index >= 0)
                if position < len(self.script):
                    scripted, index = self.script[position], position
                else:
                    scripted, index = FALLBACK, -1
                    position = -1
            else:
                scripted, index = SIDE, -1
            served = Served(index, f"standin-resp-{number:04d}", scripted.label,
                            scripted.usage, path, body)
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
                raw = read_body(self)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                self._record(body)
                path = self.path
                if ":countTokens" in path:
                    return self._json({"totalTokens": 100})
                model = path.split("/models/")[-1].split(":")[0] if "/models/" in path else MODEL
                served, scripted = standin._take(body, path)
                chunks = _chunks(served.response_id, model, scripted, body)
                if ":streamGenerateContent" in path:
                    frames = [f"data: {json.dumps(c)}\r\n\r\n".encode() for c in chunks]
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("content-length", str(sum(len(f) for f in frames)))
                    self.end_headers()
                    for frame in frames:
                        self.wfile.write(frame)
                    self.wfile.flush()
                    return
                merged = dict(chunks[-1])
                merged["candidates"][0]["content"]["parts"] = [
                    p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
                self._json(merged)

            def do_GET(self) -> None:
                self._record(None)
                self._json({"models": []})

            def _json(self, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler

"""A tiny OTLP/HTTP receiver on 127.0.0.1 that records every export request.

``with OtlpRecorder() as otlp: otlp.url`` — POST /v1/logs, /v1/traces, /v1/metrics (or
any path) are answered 200 with an empty export response, in the encoding asked for
(``{}`` for JSON, an empty body for protobuf). Each request is kept as
``{"path", "headers", "content_type", "content_encoding", "body"}``: ``body`` is the
parsed JSON for JSON requests, else ``{"base64": …}``; gzip bodies are inflated first.
``save(folder)`` writes one file per request (``NNN-<signal>.json``) plus ``index.json``.
Any other method (a ``CONNECT`` when used as ``HTTPS_PROXY``, a ``GET``) is recorded and
refused with 403: a second instance serves as an egress trap. Shared by the Codex and
Gemini harnesses (stdlib only).
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


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


class OtlpRecorder:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def by_signal(self, signal: str) -> list[dict]:
        return [r for r in self.requests if r["path"].split("?")[0].rstrip("/").endswith(signal)]

    def save(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for n, req in enumerate(self.requests, 1):
            signal = req["path"].split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "root"
            path = folder / f"{n:03d}-{signal}.json"
            path.write_text(json.dumps(req, indent=1) + "\n")
            written.append(path)
        index = [{"file": p.name, "path": r["path"], "content_type": r["content_type"],
                  "content_encoding": r["content_encoding"], "bytes": r["bytes"]}
                 for p, r in zip(written, self.requests, strict=True)]
        (folder / "index.json").write_text(json.dumps(index, indent=1) + "\n")
        return written

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = read_body(self)
                encoding = (self.headers.get("content-encoding") or "").lower()
                data = raw
                try:
                    if encoding == "gzip":
                        data = gzip.decompress(raw)
                    elif encoding == "deflate":
                        data = zlib.decompress(raw)
                except OSError:
                    data = raw
                ctype = (self.headers.get("content-type") or "").lower()
                is_json = "json" in ctype
                body: object
                if is_json:
                    try:
                        body = json.loads(data or b"{}")
                    except ValueError:
                        body = {"unparsed": data.decode("utf-8", "replace")}
                else:
                    body = {"base64": base64.b64encode(data).decode()}
                with recorder._lock:
                    recorder.requests.append({
                        "method": "POST", "path": self.path, "headers": dict(self.headers.items()),
                        "content_type": self.headers.get("content-type"),
                        "content_encoding": self.headers.get("content-encoding"),
                        "transfer_encoding": self.headers.get("transfer-encoding"),
                        "bytes": len(raw), "body": body})
                reply = b"{}" if is_json else b""
                self.send_response(200)
                self.send_header("content-type",
                                 "application/json" if is_json else "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def _refuse(self) -> None:
                # A proxy request (CONNECT host:443, or GET http://host/…): record it and
                # refuse, so nothing is forwarded anywhere.
                with recorder._lock:
                    recorder.requests.append({
                        "method": self.command, "path": self.path,
                        "headers": dict(self.headers.items()), "content_type": None,
                        "content_encoding": None, "bytes": 0, "body": None})
                self.send_response(403)
                self.send_header("content-length", "0")
                self.end_headers()

            do_CONNECT = _refuse
            do_GET = _refuse
            do_PUT = _refuse
            do_DELETE = _refuse

        return Handler

"""A loopback HTTP recorder for OTLP/HTTP exports and HTTP hooks (standard library only).

Every POST is kept as it arrived: path, headers, raw body bytes (still gzipped when the
client compressed it) and arrival time, in memory and, when ``directory`` is given, as
``NNN-<name>.<ext>`` files plus a ``requests.json`` index. The answer is 200 with an
empty body of the request's content type (``{}`` for JSON, nothing for protobuf or
anything else), or a chosen status for the next N requests (``fail_next(n, 503)``) to
watch a client retry.

    with Recorder(directory=out) as rec:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = rec.url
        ...
        rec.requests[0].path, rec.requests[0].body, rec.requests[0].decoded_body()

Run standalone: ``python otlp_recorder.py --port 4318 --dir /tmp/otlp``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SIGNALS = {"/v1/logs": "logs", "/v1/metrics": "metrics", "/v1/traces": "traces"}


@dataclass
class Recorded:
    index: int
    path: str
    headers: dict[str, str]
    body: bytes
    time: float                  # time.time() when the body had been read
    status: int = 200            # what the recorder answered
    extra: dict = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def content_encoding(self) -> str:
        return self.headers.get("content-encoding", "").strip().lower()

    @property
    def name(self) -> str:
        """``logs``/``metrics``/``traces`` for the OTLP paths, else the last path segment."""
        path = self.path.split("?")[0]
        for suffix, signal in SIGNALS.items():
            if path.endswith(suffix):
                return signal
        return path.rstrip("/").rsplit("/", 1)[-1] or "root"

    def decoded_body(self) -> bytes:
        """The body with any gzip/deflate content encoding removed."""
        if self.content_encoding == "gzip":
            return gzip.decompress(self.body)
        if self.content_encoding == "deflate":
            return zlib.decompress(self.body)
        return self.body

    def json(self):
        return json.loads(self.decoded_body() or b"null")

    def index_entry(self) -> dict:
        return {"index": self.index, "file": self.file_name, "path": self.path,
                "content_type": self.headers.get("content-type"),
                "content_encoding": self.headers.get("content-encoding"),
                "user_agent": self.headers.get("user-agent"), "size": len(self.body),
                "decoded_size": len(self.decoded_body()), "time": round(self.time, 6),
                "status": self.status, **self.extra}

    @property
    def file_name(self) -> str:
        if self.content_type.endswith("json"):
            ext = "json"
        elif "protobuf" in self.content_type:
            ext = "pb"
        else:
            ext = "bin"
        if self.content_encoding == "gzip":
            ext += ".gz"
        return f"{self.index:03d}-{self.name}.{ext}"


class Recorder:
    """``with Recorder() as rec: rec.url`` — a recorder on 127.0.0.1 (a free port unless
    ``port`` is given). Thread safe; ``requests`` is in arrival order."""

    def __init__(self, port: int = 0, directory: Path | str | None = None,
                 host: str = "127.0.0.1", delay: float = 0.0) -> None:
        self.requests: list[Recorded] = []
        self.directory = Path(directory) if directory else None
        self.delay = delay           # seconds to wait before answering (a slow receiver)
        self.response_body: bytes | None = None  # override the answer (hook experiments)
        self._fail: list[int] = []   # statuses to answer for the next requests
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> Recorder:
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.write_index()

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ---------------------------------------------------------------------------
    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer ``status`` (empty body) to the next ``count`` requests."""
        with self._lock:
            self._fail.extend([status] * count)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` requests have arrived (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- output ----------------------------------------------------------------------------
    def index(self) -> list[dict]:
        with self._lock:
            return [r.index_entry() for r in self.requests]

    def write_index(self) -> None:
        if self.directory:
            (self.directory / "requests.json").write_text(
                json.dumps(self.index(), indent=2) + "\n")

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> Recorded:
        with self._lock:
            status = self._fail.pop(0) if self._fail else 200
            rec = Recorded(len(self.requests) + 1, path, headers, body, time.time(), status)
            self.requests.append(rec)
            self._arrived.notify_all()
        if self.directory:
            (self.directory / rec.file_name).write_bytes(body)
        return rec

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                rec = recorder._record(self.path, headers, body)
                if recorder.delay:
                    time.sleep(recorder.delay)
                if rec.status != 200:
                    raw = b""
                elif recorder.response_body is not None:
                    raw = recorder.response_body
                else:
                    raw = b"{}" if rec.content_type.endswith("json") else b""
                try:
                    self.send_response(rec.status)
                    self.send_header("content-type", self.headers.get("content-type")
                                     or "application/octet-stream")
                    self.send_header("content-length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    rec.extra["client_gone"] = True  # the client gave up waiting

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--dir", help="save every body and requests.json here")
    parser.add_argument("--fail", type=int, default=0, help="answer 503 to the first N")
    args = parser.parse_args()
    rec = Recorder(args.port, args.dir)
    rec.fail_next(args.fail)
    rec.start()
    print(f"recording on {rec.url} (Ctrl-C to stop)", flush=True)
    seen = 0
    try:
        while True:
            rec.wait_for(seen + 1, timeout=1.0)
            for r in rec.requests[seen:]:
                print(f"{r.index:03d} {r.status} POST {r.path} {r.content_type} "
                      f"{r.content_encoding or '-'} {len(r.body)} B", flush=True)
            seen = len(rec.requests)
            rec.write_index()
    except KeyboardInterrupt:
        pass
    finally:
        rec.stop()


if __name__ == "__main__":
    main()

"""The collector's HTTP server: ``blueplane-collector [--host H] [--port P]``.

Routes: ``POST /v1/logs|metrics|traces`` (OTLP/HTTP, JSON or protobuf, gzip or not),
``POST /hook/<assistant>`` (the body a command hook reads on stdin, through the same
envelope and privacy filter as ``blueplane-hook``), ``GET /health``. Every POST is answered
only after its envelope is in the stream or the spool. A bearer token, when configured
(``BLUEPLANE_COLLECTOR_TOKEN`` or ``$BLUEPLANE_HOME/collector.token``), is required on
every POST. Requests whose ``Host`` is not loopback, or that a browser sends cross-site,
are refused like on the other local servers (``runtime.loopback_guard``).
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from blueplane_pipeline.capture.hook import envelope_line, hook_answer
from blueplane_pipeline.collector.durable import DurableWriter, NotStored
from blueplane_pipeline.collector.otlp_request import (
    JSON_TYPE,
    MAX_BODY_BYTES,
    PROTOBUF_TYPE,
    Refused,
    dumps,
    error_body,
    media_type,
    otlp_envelope,
)
from blueplane_pipeline.core import config, platforms
from blueplane_pipeline.runtime.loopback_guard import LOOPBACK_NAMES, refusal

TOKEN_ENV = "BLUEPLANE_COLLECTOR_TOKEN"
TOKEN_FILE = "collector.token"
HOOK_PREFIX = "/hook/"
DISCARD_MAX_BYTES = 64 * 1024 * 1024


def configured_token() -> str | None:
    """The bearer token POSTs must carry, or ``None`` when none is configured."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token.strip()
    try:
        with open(os.path.join(config.home_str(), TOKEN_FILE)) as fh:
            return fh.read().strip() or None
    except OSError:
        return None


class PrivacyMode:
    """The privacy mode, re-read when ``config.toml`` changes (``blueplane config set``)."""

    def __init__(self) -> None:
        self._stamp: float | None = None
        self._mode = config.load_settings().privacy_mode

    def get(self) -> str:
        try:
            stamp = os.stat(config.config_file()).st_mtime
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._mode = config.load_settings().privacy_mode
        return self._mode


class Collector(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        writer: DurableWriter | None = None,
        token: str | None = None,
        any_host: bool = False,
    ) -> None:
        super().__init__(address, Handler)
        self.writer = writer or DurableWriter()
        self.token = token
        self.any_host = any_host
        self.privacy = PrivacyMode()
        self.started = time.time()
        self.requests = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: both the OTel exporter and axios reuse it
    # One segment per answer, sent at once: headers and body written separately to an
    # unbuffered socket meet the client's delayed ACK (Nagle) and cost ~40 ms per request.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: Collector
    server_version = "blueplane-collector"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # one line per request would be most of the collector's work

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _refused_why(self) -> str | None:
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1", "replace"))
            for k, v in self.headers.items()
        ]
        scope = {"type": "http", "method": self.command, "path": self.path, "headers": headers}
        return refusal(scope, LOOPBACK_NAMES, self.server.any_host)

    def do_GET(self) -> None:  # noqa: N802
        why = self._refused_why()
        if why is not None:
            self._reply(403, why.encode(), "text/plain; charset=utf-8")
            return
        if self.path != "/health":
            self._reply(404, b"not found\n", "text/plain; charset=utf-8")
            return
        w = self.server.writer
        info = {
            "service": "blueplane-collector",
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.server.started, 1),
            "requests": self.server.requests,
            "stored": dict(w.counts),
            "token": self.server.token is not None,
        }
        self._reply(200, json.dumps(info).encode(), JSON_TYPE)

    def do_POST(self) -> None:  # noqa: N802
        self.server.requests += 1
        kind = media_type(self.headers.get("Content-Type"))
        reply_type = PROTOBUF_TYPE if kind == PROTOBUF_TYPE else JSON_TYPE
        try:
            body = self._read_body()
            why = self._refused_why()
            if why is not None:
                raise Refused(403, why)
            if self.server.token is not None and not self._authorised():
                raise Refused(401, "missing or wrong bearer token")
            if self.path.startswith(HOOK_PREFIX):
                self._hook(body)
                return
            envelope = otlp_envelope(
                self.path,
                self.headers.get("Content-Type"),
                self.headers.get("Content-Encoding"),
                body,
                self.headers.get("User-Agent"),
                self.server.privacy.get(),
            )
            if envelope is not None:
                self.server.writer.write([dumps(envelope)])
        except Refused as exc:
            self._reply(exc.status, error_body(reply_type, exc.status, exc.message), reply_type)
            return
        except NotStored as exc:
            self._reply(503, error_body(reply_type, 503, str(exc)), reply_type)
            return
        # The OTLP success answer: an empty Export*ServiceResponse in the request's encoding.
        self._reply(200, b"" if reply_type == PROTOBUF_TYPE else b"{}", reply_type)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise Refused(411, "chunked bodies are not accepted: send Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            # Read and drop a moderately large body so the client gets the answer rather
            # than a broken pipe; past that the connection is simply closed.
            left = length if 0 < length <= DISCARD_MAX_BYTES else 0
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
            self.close_connection = True
            raise Refused(413, f"body larger than {MAX_BODY_BYTES} bytes")
        data = self.rfile.read(length) if length else b""
        if len(data) != length:
            self.close_connection = True
            raise Refused(400, "body shorter than its Content-Length")
        return data

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), (self.server.token or "").encode()
        )

    def _hook(self, body: bytes) -> None:
        spec = platforms.from_cli(self.path[len(HOOK_PREFIX) :].split("?", 1)[0])
        if spec is None or not spec.assistant:
            raise Refused(404, f"no assistant named in {self.path!r} (use /hook/claude-code)")
        envelope, line = envelope_line(spec.name, body, self.server.privacy.get())
        self.server.writer.write([line])
        answer = hook_answer(spec, envelope["event_type"], body)
        # Any JSON object is parsed as hook output and may change the session: only ``{}``
        # unless the assistant waits for a specific answer.
        self._reply(200, json.dumps(answer or {}).encode(), JSON_TYPE)


def serve(
    host: str, port: int, *, allow_remote: bool = False, writer: DurableWriter | None = None
) -> Collector:
    """Bind (the ``config.listen_host`` rule) and return the server, not yet serving."""
    return Collector(
        (config.listen_host(host, allow_remote), port),
        writer=writer,
        token=configured_token(),
        any_host=allow_remote,
    )


def main(argv: list[str] | None = None) -> None:
    settings = config.load_settings()
    parser = argparse.ArgumentParser(
        prog="blueplane-collector",
        description="Receive OTLP/HTTP exports and HTTP hooks on loopback and store them in "
        "the Blueplane stream (or the spool when Redis is down).",
    )
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.collector_port)
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on a non-loopback --host (anyone who can reach it can "
        "write into your telemetry)",
    )
    args = parser.parse_args(argv)
    config.private_umask()
    try:
        server = serve(args.host, args.port, allow_remote=args.allow_remote)
    except (ValueError, OSError) as exc:
        print(f"blueplane-collector: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"blueplane-collector listening on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

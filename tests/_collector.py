"""Helpers for the collector tests: a real collector on a free loopback port, and POSTs."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

from blueplane_pipeline.collector.durable import DurableWriter
from blueplane_pipeline.collector.server import Collector, serve

OTEL = Path(__file__).parent / "fixtures" / "otel" / "claude-code-2.1.328"
HTTP_HOOKS = Path(__file__).parent / "fixtures" / "http_hooks" / "claude-code-2.1.328"


@contextlib.contextmanager
def running_collector(writer: DurableWriter | None = None) -> Iterator[Collector]:
    server = serve("127.0.0.1", 0, writer=writer)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def post(
    port: int,
    path: str,
    body: bytes,
    content_type: str | None = "application/json",
    headers: dict | None = None,
) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        hdrs = dict(headers or {})
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        conn.request("POST", path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheader("Content-Type") or ""
    finally:
        conn.close()


def fixture_requests(folder: str) -> list[tuple[dict, bytes]]:
    """(requests.json row, body bytes as sent) of one recorded run, in arrival order."""
    rows = json.loads((OTEL / folder / "requests.json").read_text())
    return [(row, (OTEL / folder / row["file"]).read_bytes()) for row in rows]


def send_fixture(port: int, folder: str, *, only_accepted: bool = True) -> list[int]:
    statuses = []
    for row, body in fixture_requests(folder):
        if only_accepted and row.get("status") != 200:
            continue
        headers = {"Content-Encoding": row["content_encoding"]} if row["content_encoding"] else {}
        status, _, _ = post(port, row["path"], body, row["content_type"], headers)
        statuses.append(status)
    return statuses


def hook_bodies(folder: Path = HTTP_HOOKS) -> list[bytes]:
    """The bodies Claude Code POSTed to the HTTP hook, in order."""
    out = []
    for path in sorted(folder.glob("[0-9][0-9][0-9]-*.json")):
        out.append(json.dumps(json.loads(path.read_text())["body"]).encode())
    return out

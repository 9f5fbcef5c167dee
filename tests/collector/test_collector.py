"""blueplane-collector: OTLP/HTTP and HTTP hooks in, durable envelopes out.

A real collector on a free loopback port, the embedded Redis, real ingest into SQLite, and
the bodies the real Claude Code 2.1.328 sent (tests/fixtures/otel, tests/fixtures/http_hooks).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blueplane_pipeline.capture import hook
from blueplane_pipeline.collector.durable import DurableWriter
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events
from tests._collector import fixture_requests, hook_bodies, post, running_collector, send_fixture


def stored(platform: str | None = None) -> list[dict]:
    ingest()
    conn = open_db(config.db_path())
    try:
        return [e.envelope for e in iter_events(conn, platform=platform)]
    finally:
        conn.close()


def stream_length(redis_client) -> int:
    return redis_client.xlen(config.STREAM_KEY) if redis_client.exists(config.STREAM_KEY) else 0


def test_json_protobuf_and_gzip_exports_are_acknowledged_and_stored(redis_client):
    with running_collector() as server:
        port = server.server_address[1]
        for folder in ("http-json", "http-protobuf", "gzip"):
            assert set(send_fixture(port, folder)) == {200}
    events = stored("otel")
    sent = sum(
        len([r for r, _ in fixture_requests(f) if r["status"] == 200])
        for f in ("http-json", "http-protobuf", "gzip")
    )
    assert len(events) == sent
    encodings = {(e["event_type"], e["payload"]["encoding"]) for e in events}
    assert encodings == {
        ("logs", "json"),
        ("metrics", "json"),
        ("logs", "protobuf"),
        ("metrics", "protobuf"),
    }


def test_replies_follow_the_otlp_spec(redis_home):
    ((_, pb),) = [
        (r, b) for r, b in fixture_requests("http-protobuf") if r["file"].endswith("logs.pb")
    ][:1]
    ((_, js),) = [(r, b) for r, b in fixture_requests("http-json") if r["path"] == "/v1/logs"][:1]
    with running_collector() as server:
        port = server.server_address[1]
        assert post(port, "/v1/logs", pb, "application/x-protobuf") == (
            200,
            b"",
            "application/x-protobuf",
        )
        assert post(port, "/v1/logs", js, "application/json; charset=utf-8") == (
            200,
            b"{}",
            "application/json",
        )


def test_the_same_body_twice_stores_nothing_new(redis_client):
    with running_collector() as server:
        port = server.server_address[1]
        send_fixture(port, "http-json")
        first = len(stored("otel"))
        send_fixture(port, "http-json")
    assert len(stored("otel")) == first > 0


def test_bad_bodies_get_a_4xx_and_nothing_is_stored(redis_client):
    _, good = fixture_requests("http-json")[0]
    _, pb = [x for x in fixture_requests("http-protobuf") if x[0]["path"] == "/v1/logs"][0]
    zipped = gzip.compress(good)
    cases = [
        ("/v1/logs", b"\x00\xffnot json at all", "application/json", {}, 400),
        ("/v1/logs", good[: len(good) // 2], "application/json", {}, 400),
        ("/v1/logs", b"[1, 2]", "application/json", {}, 400),
        ("/v1/logs", b'{"resourceLogs": 5}', "application/json", {}, 400),
        ("/v1/logs", os.urandom(4096), "application/x-protobuf", {}, 400),
        ("/v1/logs", pb[: len(pb) - 7], "application/x-protobuf", {}, 400),
        (
            "/v1/logs",
            zipped[: len(zipped) - 20],
            "application/json",
            {"Content-Encoding": "gzip"},
            400,
        ),
        ("/v1/logs", good, "application/json", {"Content-Encoding": "gzip"}, 400),
        ("/v1/logs", good, "application/json", {"Content-Encoding": "br"}, 415),
        ("/v1/logs", good, "text/plain", {}, 415),
        ("/v1/logs", good, None, {}, 415),
        ("/v1/logs", b"{" + b" " * (10 * 1024 * 1024) + b"}", "application/json", {}, 413),
        (
            "/v1/logs",
            gzip.compress(b" " * (10 * 1024 * 1024)),
            "application/json",
            {"Content-Encoding": "gzip"},
            413,
        ),
        ("/v1/other", good, "application/json", {}, 404),
        ("/hook/no-such-assistant", b"{}", "application/json", {}, 404),
    ]
    with running_collector() as server:
        port = server.server_address[1]
        for path, body, ctype, headers, want in cases:
            status, reply, _ = post(port, path, body, ctype, headers)
            assert status == want, (path, ctype, headers, reply[:200])
        # The server still answers afterwards, and a good body after the bad ones lands.
        assert post(port, "/v1/logs", good)[0] == 200
    assert stream_length(redis_client) == 1
    assert not list(Path(config.spool_dir_str()).iterdir())


def test_redis_down_goes_to_the_spool_then_ingest(bp_home):
    with running_collector() as server:
        port = server.server_address[1]
        assert set(send_fixture(port, "http-json")) == {200}
        assert server.writer.counts["spool"] == len(fixture_requests("http-json"))
    assert len(stored("otel")) == len(fixture_requests("http-json"))


def test_503_when_nothing_can_store_then_the_retry_is_stored_once(bp_home, tmp_path):
    blocked = tmp_path / "spool"
    blocked.write_text("a file where the spool directory should be")
    writer = DurableWriter(spool_dir=str(blocked))
    _, body = fixture_requests("http-json")[0]
    with running_collector(writer) as server:
        port = server.server_address[1]
        status, reply, _ = post(port, "/v1/logs", body)
        assert status == 503 and json.loads(reply)["code"] == 14
        blocked.unlink()
        blocked.mkdir()
        assert post(port, "/v1/logs", body)[0] == 200
        assert post(port, "/v1/logs", body)[0] == 200  # a duplicate retry as well
    ingest(spool_dir=blocked)
    conn = open_db(config.db_path())
    try:
        assert len(list(iter_events(conn, platform="otel"))) == 1
    finally:
        conn.close()


def test_http_hook_stores_what_the_command_hook_stores(redis_client):
    bodies = hook_bodies()
    with running_collector() as server:
        port = server.server_address[1]
        for body in bodies:
            assert post(port, "/hook/claude-code", body) == (200, b"{}", "application/json")
        assert post(port, "/hook/claude-code", b"not json", "text/plain")[0] == 200
    events = stored("claude_code")
    assert [e["event_type"] for e in events] == [
        json.loads(b)["hook_event_name"] for b in bodies
    ] + [hook.INVALID_INPUT]
    for body, event in zip(bodies, events, strict=False):
        expected = hook.build_envelope("claude_code", body, "standard")
        assert event["payload"] == expected["payload"]
        assert event["source"] == "hook" and event["session_id"] == expected["session_id"]
    # The privacy filter ran: the Write's file content is not kept in standard mode.
    write = next(
        e
        for e in events
        if e["event_type"] == "PostToolUse" and e["payload"].get("tool_name") == "Write"
    )
    assert "one\ntwo" not in json.dumps(write["payload"])


def test_bearer_token_and_browser_requests(redis_client, monkeypatch):
    monkeypatch.setenv("BLUEPLANE_COLLECTOR_TOKEN", "s3cret")
    _, body = fixture_requests("http-json")[0]
    with running_collector() as server:
        port = server.server_address[1]
        assert post(port, "/v1/logs", body)[0] == 401
        assert post(port, "/v1/logs", body, headers={"Authorization": "Bearer nope"})[0] == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert post(port, "/v1/logs", body, headers={**ok, "Host": "evil.example"})[0] == 403
        assert (
            post(
                port, "/hook/claude-code", b"{}", headers={**ok, "Origin": "https://evil.example"}
            )[0]
            == 403
        )
        assert post(port, "/v1/logs", body, headers=ok)[0] == 200
    assert stream_length(redis_client) == 1


def test_refuses_a_non_loopback_address(bp_home):
    from blueplane_pipeline.collector.server import serve

    with pytest.raises(ValueError, match="allow-remote"):
        serve("0.0.0.0", 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, env: dict, crash_after_write: bool = False) -> subprocess.Popen:
    code = "import os, sys\nfrom blueplane_pipeline.collector import durable, server\n"
    if crash_after_write:  # die between the durable write and the answer
        code += (
            "orig = durable.DurableWriter.write\n"
            "def write(self, lines):\n"
            "    orig(self, lines); os._exit(9)\n"
            "durable.DurableWriter.write = write\n"
        )
    code += f"server.main(['--port', '{port}'])\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(proc.stdout.read().decode())


def test_collector_killed_mid_request_loses_and_doubles_nothing(redis_client):
    env = {**os.environ, "BLUEPLANE_HOME": os.environ["BLUEPLANE_HOME"]}
    bodies = [b for r, b in fixture_requests("http-json")]
    port = _free_port()
    # 1. Killed while the body is half sent: nothing stored; the client's retry lands.
    proc = _start(port, env)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
        b"\r\nContent-Length: %d\r\n\r\n" % len(bodies[0]) + bodies[0][:100]
    )
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    sock.close()
    assert stream_length(redis_client) == 0
    # 2. Killed after the write, before the answer: the retry is a duplicate, stored once.
    proc = _start(port, env, crash_after_write=True)
    try:
        post(port, "/v1/logs", bodies[0])
    except (ConnectionError, OSError) as exc:  # http.client sees the connection drop
        assert exc is not None
    proc.wait()
    proc = _start(port, env)
    try:
        for body in bodies:  # the exporter retries the first batch, then sends the rest
            assert (
                post(port, "/v1/logs" if b"resourceLogs" in body else "/v1/metrics", body)[0] == 200
            )
    finally:
        proc.terminate()
        proc.wait()
    assert len(stored("otel")) == len(bodies)


def test_up_starts_the_collector_status_shows_it_down_stops_it(bp_home, tmp_path, monkeypatch):
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path))

    def blueplane(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(bin_dir / "blueplane"), *args], capture_output=True, text=True, timeout=120
        )

    up = blueplane("up", "--no-dagster", "--no-datasette", "--collector-port", str(port), "--json")
    try:
        assert up.returncode == 0, up.stderr
        assert json.loads(up.stdout)["collector"] == f"http://127.0.0.1:{port}"
        body = hook_bodies()[0]
        assert post(port, "/hook/claude-code", body)[0] == 200
        info = json.loads(blueplane("status", "--json").stdout)
        assert info["services"]["collector"]["up"] is True
        assert info["services"]["collector"]["url"] == f"http://127.0.0.1:{port}"
        assert info["services"]["collector"]["health"]["stored"]["stream"] == 1
        # HTTP hooks installed for another port than the running collector's: said loudly.
        assert blueplane("install", "claude-code", "--transport", "http").returncode == 0
        warnings = json.loads(blueplane("status", "--json").stdout)["warnings"]
        assert any("4318/hook/claude-code" in w and "listens on" in w for w in warnings)
        blueplane("config", "set", "collector_port", str(port))
        assert blueplane("install", "claude-code", "--transport", "http").returncode == 0
        warnings = json.loads(blueplane("status", "--json").stdout)["warnings"]
        assert not any("collector" in w for w in warnings)
        assert [e["event_type"] for e in stored("claude_code")] == ["UserPromptSubmit"]
    finally:
        down = blueplane("down")
    assert "collector" in down.stdout
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_status_warns_when_the_collector_had_to_refuse(bp_home, tmp_path):
    from blueplane_pipeline.runtime.status import collector_health, collector_warnings

    blocked = tmp_path / "spool"
    blocked.write_text("not a directory")
    with running_collector(DurableWriter(spool_dir=str(blocked))) as server:
        port = server.server_address[1]
        assert post(port, "/hook/claude-code", hook_bodies()[0])[0] == 503
        health = collector_health(f"http://127.0.0.1:{port}")
    assert health["stored"] == {"stream": 0, "spool": 0, "refused": 1}
    (warning,) = collector_warnings({"services": {"collector": {"up": True, "health": health}}})
    assert "503 to 1 request" in warning

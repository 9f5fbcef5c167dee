"""What listens on loopback refuses foreign Host headers (DNS rebinding) and cross-origin
state changes (a web page stopping the sensor); `status` says when a sensor is stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from blueplane_pipeline.runtime.loopback_guard import LOOPBACK_NAMES, host_name, refusal

BIN = Path(sys.executable).parent


def _scope(host: str, method: str = "GET", path: str = "/", query: str = "",
           kind: str = "http", **headers: str) -> dict:
    hs = [(b"host", host.encode())] + [(k.replace("_", "-").encode(), v.encode())
                                       for k, v in headers.items()]
    return {"type": kind, "method": method, "path": path, "query_string": query.encode(),
            "headers": hs}


@pytest.mark.parametrize("scope, refused", [
    (_scope("127.0.0.1:3000"), False),
    (_scope("localhost:8001"), False),
    (_scope("[::1]:3000"), False),
    (_scope("evil.example:3000"), True),  # DNS rebinding: a name that resolves to 127.0.0.1
    (_scope("127.0.0.1.evil.example"), True),
    (_scope(""), True),
    # state changes from a browser must come from the server's own origin
    (_scope("127.0.0.1:3000", "POST", "/graphql", origin="http://127.0.0.1:3000"), False),
    (_scope("127.0.0.1:3000", "POST", "/graphql", origin="http://evil.example"), True),
    (_scope("127.0.0.1:3000", "POST", "/graphql", origin="http://127.0.0.1:8001"), True),
    (_scope("127.0.0.1:3000", "POST", "/graphql", origin="null"), True),
    (_scope("127.0.0.1:3000", "POST", "/graphql", sec_fetch_site="cross-site"), True),
    (_scope("127.0.0.1:3000", "GET", "/graphql", "query=mutation{stopSensor(id:\"x\"){__typename}}",
            origin="http://evil.example"), True),
    (_scope("127.0.0.1:3000", "GET", "/graphql", "query=mutation%7BstopSensor%7D",
            sec_fetch_site="cross-site"), True),
    (_scope("127.0.0.1:3000", "GET", "/graphql", "query={version}",
            sec_fetch_site="cross-site"), False),  # reading is what the Host check guards
    (_scope("127.0.0.1:3000", kind="websocket", origin="http://evil.example"), True),
    (_scope("127.0.0.1:3000", kind="websocket", origin="http://127.0.0.1:3000"), False),
    # local programs (curl, `blueplane status`) send no Origin and no Sec-Fetch-Site
    (_scope("127.0.0.1:3000", "POST", "/graphql"), False),
])
def test_refusal_rules(scope, refused):
    assert (refusal(scope, LOOPBACK_NAMES) is not None) is refused


def test_host_names():
    assert host_name("127.0.0.1:3000") == "127.0.0.1"
    assert host_name("[::1]:3000") == "::1"
    assert host_name("LOCALHOST") == "localhost"


def _request(url: str, *, host: str | None = None, method: str = "GET", body: bytes | None = None,
             origin: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    if host:
        req.add_header("Host", host)
    if origin:
        req.add_header("Origin", origin)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _graphql(base: str, query: str, variables: dict | None = None, **kw) -> tuple[int, dict]:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    status, raw = _request(f"{base}/graphql", method="POST", body=body, **kw)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"raw": raw.decode(errors="replace")}


SENSOR_STATE = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  ... on Sensor { sensorState { id selectorId status } } } }"""
STOP = """mutation($id: String, $sel: String) { stopSensor(id: $id, jobSelectorId: $sel) {
  __typename } }"""


@pytest.mark.slow
def test_the_real_servers_refuse_rebinding_and_forgery(bp_home):
    from tests._serve import free_port

    dport, sport = free_port(), free_port()
    env = os.environ.copy()
    up = subprocess.run([str(BIN / "blueplane"), "up", "--ui", "--no-collector",
                         "--dagster-port", str(dport),
                         "--datasette-port", str(sport)], capture_output=True, text=True,
                        timeout=240, env=env)
    try:
        assert up.returncode == 0, up.stderr
        dagster, datasette = f"http://127.0.0.1:{dport}", f"http://127.0.0.1:{sport}"
        assert _request(f"{dagster}/server_info")[0] == 200
        assert _request(f"{dagster}/server_info", host=f"evil.example:{dport}")[0] == 403
        assert _request(f"{datasette}/telemetry.json")[0] == 200
        status, body = _request(f"{datasette}/telemetry.json", host=f"evil.example:{sport}")
        assert status == 403 and b"loopback" in body
        selector = {"repositoryLocationName": "blueplane", "repositoryName": "__repository__",
                    "sensorName": "redis_stream_sensor"}
        _, state = _graphql(dagster, SENSOR_STATE, {"s": selector})
        sensor = state["data"]["sensorOrError"]["sensorState"]
        variables = {"id": sensor["id"], "sel": sensor["selectorId"]}
        # a web page's forged request never reaches Dagster
        assert _graphql(dagster, STOP, variables, origin="http://evil.example")[0] == 403
        assert _graphql(dagster, STOP, variables, host=f"evil.example:{dport}")[0] == 403
        report = json.loads(subprocess.run([str(BIN / "blueplane"), "status", "--json"],
                                           capture_output=True, text=True, env=env).stdout)
        assert report["stopped"] == []
        # the user's own UI (same origin) may stop it; status then says so, loudly
        status, result = _graphql(dagster, STOP, variables, origin=dagster)
        assert status == 200 and "errors" not in result, result
        out = subprocess.run([str(BIN / "blueplane"), "status"], capture_output=True,
                             text=True, env=env)
        assert "redis_stream_sensor is stopped" in out.stderr
    finally:
        subprocess.run([str(BIN / "blueplane"), "down"], capture_output=True, timeout=60,
                       env=env)


def test_up_refuses_a_non_loopback_host_from_config(bp_home):
    (bp_home / "config.toml").write_text('host = "0.0.0.0"\n')
    res = subprocess.run([str(BIN / "blueplane"), "up", "--no-dagster", "--no-datasette"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "refusing to listen on 0.0.0.0" in res.stderr and "--allow-remote" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (bp_home / "redis" / "redis.pid").exists()  # nothing was started


def test_home_files_are_private_and_an_open_home_is_reported(bp_home):
    os.chmod(bp_home, 0o755)
    env = dict(os.environ)
    payload = json.dumps({"session_id": "p", "hook_event_name": "Stop"}).encode()
    subprocess.run([str(BIN / "blueplane-hook"), "claude-code"], input=payload, check=True,
                   timeout=30, env=dict(env, BLUEPLANE_REDIS_URL="unix:///nonexistent.sock"))
    res = subprocess.run([str(BIN / "blueplane"), "ingest"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    status = subprocess.run([str(BIN / "blueplane"), "status"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert "other users can read your telemetry" in status.stderr
    for path in bp_home.rglob("*"):
        if path.is_socket() or path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            assert mode == 0o700, f"{path} is {mode:o}"
        else:
            assert mode & 0o077 == 0, f"{path} is {mode:o}"

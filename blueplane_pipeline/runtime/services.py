"""Starting, stopping and probing what ``blueplane up`` runs, detached, with pid files.

Dagster runs as three processes sharing one code server on a unix socket (the webserver
and the daemon would otherwise each spawn their own, ~150 MB apiece):
``dagster api grpc`` + ``dagster-webserver`` + ``dagster-daemon``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from blueplane_pipeline.core import config
from blueplane_pipeline.runtime import redis_server
from blueplane_pipeline.runtime.processes import terminate

CODE_MODULE = "blueplane_pipeline.definitions"


@dataclass
class Service:
    name: str
    argv: list[str]
    url: str | None = None  # probed over HTTP when set
    socket: Path | None = None  # probed by existence when set


class ServiceError(RuntimeError):
    """A service failed to start; the message says where its log is."""


def _bin(name: str) -> str:
    """An executable from this interpreter's environment (the venv), else PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def code_server_socket() -> Path:
    return config.run_dir() / "dagster-code.sock"


def workspace_file() -> Path:
    path = config.dagster_home() / "workspace.yaml"
    path.write_text(
        "load_from:\n"
        "  - grpc_server:\n"
        f"      socket: {code_server_socket()}\n"
        "      location_name: blueplane\n"
    )
    return path


def dagster_services(host: str, port: int) -> list[Service]:
    ws = str(workspace_file())
    return [
        Service("dagster-code", [_bin("dagster"), "api", "grpc", "-m", CODE_MODULE,
                                 "--socket", str(code_server_socket())],
                socket=code_server_socket()),
        Service("dagster-daemon", [_bin("dagster-daemon"), "run", "-w", ws,
                                   "--log-level", "warning"]),
        # Dagster's own webserver command, with the loopback guard in front of its app.
        Service("dagster-webserver", [sys.executable, "-m", "blueplane_pipeline.runtime.webserver",
                                      "-h", host, "-p", str(port), "-w", ws,
                                      "--dagster-log-level", "warning"],
                url=f"http://{host}:{port}/server_info"),
    ]


def datasette_service(host: str, port: int) -> Service:
    from blueplane_pipeline.datasette.config import datasette_argv

    return Service("datasette", datasette_argv(host, port), url=f"http://{host}:{port}/-/versions.json")


def collector_service(host: str, port: int) -> Service:
    """``blueplane-collector``: OTLP/HTTP and HTTP hooks into the stream (docs/collector.md)."""
    argv = [sys.executable, "-m", "blueplane_pipeline.collector.server", "--host", host,
            "--port", str(port)]
    if not config.is_loopback(host):
        argv.append("--allow-remote")  # ``up`` already refused it unless --allow-remote
    return Service("collector", argv, url=f"http://{host}:{port}/health")


def pid_path(name: str) -> Path:
    return config.run_dir() / f"{name}.pid"


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_path(name).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def service_env() -> dict[str, str]:
    from blueplane_pipeline.orchestration.instance import ensure_instance

    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(ensure_instance())
    env["BLUEPLANE_HOME"] = str(config.home())
    env.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    return env


def start(service: Service) -> bool:
    """Start ``service`` detached unless its pid is alive. True if we started it."""
    if read_pid(service.name):
        return False
    log = config.logs_dir() / f"{service.name}.log"
    rotate(log)
    if service.socket is not None and service.socket.exists():
        service.socket.unlink()
    with log.open("ab") as out:
        proc = subprocess.Popen(service.argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=service_env(),
                                cwd=str(config.home()), start_new_session=True,
                                umask=config.PRIVATE_UMASK)
    pid_path(service.name).write_text(str(proc.pid))
    return True


def rotate(log: Path, max_bytes: int = 5 * 1024 * 1024, keep: int = 3) -> None:
    """Service output is plain text from other programs: rotate it at each start."""
    if not log.exists() or log.stat().st_size < max_bytes:
        return
    for i in range(keep - 1, 0, -1):
        older = log.with_name(f"{log.name}.{i}")
        if older.exists():
            older.replace(log.with_name(f"{log.name}.{i + 1}"))
    log.replace(log.with_name(f"{log.name}.1"))


def wait_ready(service: Service, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    log = config.logs_dir() / f"{service.name}.log"
    while time.monotonic() < deadline:
        if read_pid(service.name) is None:
            raise ServiceError(f"{service.name} exited during start-up; see {log}")
        if answers(service):
            return
        time.sleep(0.25)
    raise ServiceError(f"{service.name} did not answer within {timeout:.0f}s; see {log}")


def answers(service: Service) -> bool:
    if service.socket is not None:
        return service.socket.exists()
    if service.url is None:
        return read_pid(service.name) is not None
    try:
        with urllib.request.urlopen(service.url, timeout=1.0) as resp:
            return resp.status == 200
    except OSError:
        return False


def stop(name: str, timeout: float = 15.0) -> bool:
    """Stop a service we started (its whole process group). True if it was running."""
    pid = read_pid(name)
    if pid is None:
        pid_path(name).unlink(missing_ok=True)
        return False
    terminate(pid, group=True, timeout=timeout)
    pid_path(name).unlink(missing_ok=True)
    return True


def redis_started_marker() -> Path:
    return config.run_dir() / "redis.started"


def start_redis() -> bool:
    started = redis_server.start()
    if started:
        redis_started_marker().write_text("started by blueplane up\n")
    return started


def stop_redis() -> bool:
    """Stop the embedded Redis only if ``up`` started it."""
    marker = redis_started_marker()
    if not marker.exists():
        return False
    marker.unlink()
    return redis_server.stop()

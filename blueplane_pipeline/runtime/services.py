"""Starting, stopping and probing what ``blueplane up`` runs, detached, with pid files.

The services are data (``SERVICES``): one entry per process, in start order, each in a
group. ``core`` is what `blueplane up` keeps on while you work: the embedded Redis (not
listed: ``redis_server``) and ``blueplane-daemon`` (``orchestration.daemon``: sensors,
schedules and the small runs in one process), and ``blueplane-collector`` (OTLP/HTTP and
HTTP hooks into the stream). ``ui`` starts on demand (`blueplane up
--ui`, `blueplane ui`): the Dagster code server (on a unix socket), the webserver, and
Datasette. A new always-on process is one more ``ServiceSpec`` with ``group="core"``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
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


@dataclass(frozen=True)
class Listen:
    """Where the services with a port listen."""

    host: str
    dagster_port: int
    datasette_port: int
    collector_port: int

    def port(self, kind: str) -> int:
        return getattr(self, f"{kind}_port")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    group: str  # "core" (always on under `up`) or "ui" (on demand)
    kind: str  # "dagster", "datasette", "collector": what `--no-<kind>` leaves out
    build: Callable[[Listen], Service]
    port_kind: str | None = None  # its port file in run/ ("dagster", "datasette", ...)


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


def _daemon(_: Listen) -> Service:
    from blueplane_pipeline.orchestration.daemon import ready_file

    return Service("blueplane-daemon", [sys.executable, "-m",
                                        "blueplane_pipeline.orchestration.daemon"],
                   socket=ready_file())  # ready once that file exists


def _code_server(_: Listen) -> Service:
    return Service("dagster-code", [_bin("dagster"), "api", "grpc", "-m", CODE_MODULE,
                                    "--socket", str(code_server_socket())],
                   socket=code_server_socket())


def _webserver(at: Listen) -> Service:
    # Dagster's own webserver command, with the loopback guard in front of its app.
    return Service("dagster-webserver", [
        sys.executable, "-m", "blueplane_pipeline.runtime.webserver", "-h", at.host,
        "-p", str(at.dagster_port), "-w", str(workspace_file()),
        "--dagster-log-level", "warning"], url=f"http://{at.host}:{at.dagster_port}/server_info")


def _datasette(at: Listen) -> Service:
    return datasette_service(at.host, at.datasette_port)


def _collector(at: Listen) -> Service:
    return collector_service(at.host, at.collector_port)


SERVICES: list[ServiceSpec] = [
    ServiceSpec("collector", "core", "collector", _collector, port_kind="collector"),
    ServiceSpec("blueplane-daemon", "core", "dagster", _daemon),
    ServiceSpec("dagster-code", "ui", "dagster", _code_server),
    ServiceSpec("dagster-webserver", "ui", "dagster", _webserver, port_kind="dagster"),
    ServiceSpec("datasette", "ui", "datasette", _datasette, port_kind="datasette"),
]
# Stopped by `down` too, though no longer started: what older versions' `up` ran.
RETIRED = ("dagster-daemon",)


def service_names() -> list[str]:
    return [spec.name for spec in SERVICES]


def selected(groups: set[str], *, dagster: bool = True, datasette: bool = True,
             collector: bool = True) -> list[ServiceSpec]:
    """The specs of ``groups`` in start order, without the kinds left out."""
    kinds = {k for k, on in (("dagster", dagster), ("datasette", datasette),
                             ("collector", collector)) if on}
    return [s for s in SERVICES if s.group in groups and s.kind in kinds]


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

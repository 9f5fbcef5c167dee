"""The team deployment without containers: ``blueplane team up`` runs one code server (this
package's ``team.definitions``), one daemon and the webserver, with an instance whose run,
event-log and schedule storage is the team Postgres. ``deploy/team/`` holds the same
``dagster.yaml`` (kept identical by a test) plus compose and Helm notes.

Everything lives under ``$BLUEPLANE_HOME/team/``: ``dagster/`` (``DAGSTER_HOME``),
``run/`` (pid files, the code server's unix socket); logs go to ``$BLUEPLANE_HOME/logs``.
The webserver listens on 127.0.0.1 unless told otherwise; the code server on a socket.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from blueplane_pipeline.team.resources import TZ_ENV
from blueplane_pipeline.team.settings import URL_ENV, sqlalchemy_url

CODE_MODULE = "blueplane_pipeline.team.definitions"
LOCATION = "blueplane_team"
DEFAULT_PORT = 3100

INSTANCE_YAML = """\
# The team deployment's Dagster instance (docs/team.md). Runs, the event log and
# schedule/sensor state are rows in the team Postgres named by BLUEPLANE_TEAM_URL (the
# same database the laptops publish into: Dagster's tables sit in its public schema,
# Blueplane's in the blueplane schema). Write it postgresql+psycopg2://user:pw@host/db:
# SQLAlchemy 2.1 reads a plain postgresql:// as psycopg 3, which is not installed.
# `blueplane team up` writes this file; the compose file mounts it.
storage:
  postgres:
    postgres_url:
      env: BLUEPLANE_TEAM_URL
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
    tag_concurrency_limits:
      - key: blueplane/team
        limit: 1
run_launcher:
  module: dagster.core.launcher
  class: DefaultRunLauncher
telemetry:
  enabled: false
retention:
  schedule:
    purge_after_days: 30
  sensor:
    purge_after_days:
      skipped: 1
      failure: 30
      success: 30
"""

SERVICES = ("team-code", "team-daemon", "team-webserver")


@dataclass
class Paths:
    home: Path

    @property
    def root(self) -> Path:
        return self.home / "team"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def socket(self) -> Path:
        return self.run_dir / "team-code.sock"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def make(self) -> None:
        for d in (self.dagster_home, self.run_dir, self.logs):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)


class DeploymentError(RuntimeError):
    """The deployment did not start; the message says where to look."""


def workspace_yaml(socket: Path) -> str:
    return ("load_from:\n  - grpc_server:\n"
            f"      socket: {socket}\n      location_name: {LOCATION}\n")


def write_instance(paths: Paths) -> Path:
    paths.make()
    (paths.dagster_home / "dagster.yaml").write_text(INSTANCE_YAML)
    ws = paths.dagster_home / "workspace.yaml"
    ws.write_text(workspace_yaml(paths.socket))
    return ws


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def argv(paths: Paths, host: str, port: int) -> dict[str, list[str]]:
    ws = str(paths.dagster_home / "workspace.yaml")
    return {
        "team-code": [_bin("dagster"), "api", "grpc", "-m", CODE_MODULE,
                      "--socket", str(paths.socket), "--location-name", LOCATION],
        "team-daemon": [_bin("dagster-daemon"), "run", "-w", ws, "--log-level", "warning"],
        "team-webserver": [_bin("dagster-webserver"), "-h", host, "-p", str(port), "-w", ws,
                           "--dagster-log-level", "warning"],
    }


def env(paths: Paths, url: str, timezone: str | None) -> dict[str, str]:
    out = dict(os.environ)
    out.update({"DAGSTER_HOME": str(paths.dagster_home), URL_ENV: sqlalchemy_url(url),
                "BLUEPLANE_HOME": str(paths.home), "DAGSTER_DISABLE_TELEMETRY": "1"})
    if timezone:
        out[TZ_ENV] = timezone
    return out


def read_pid(paths: Paths, name: str) -> int | None:
    try:
        pid = int(paths.pid_file(name).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _ready(name: str, paths: Paths, host: str, port: int) -> bool:
    if name == "team-code":
        return paths.socket.exists()
    if name == "team-webserver":
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/server_info", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False
    return True


def start(paths: Paths, url: str, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          timezone: str | None = None, timeout: float = 120.0) -> list[str]:
    """Start what is not running; return the names started. Waits until each answers."""
    write_instance(paths)
    started = []
    commands = argv(paths, host, port)
    environment = env(paths, url, timezone)
    for name in SERVICES:
        if read_pid(paths, name) is None:
            if name == "team-code":
                paths.socket.unlink(missing_ok=True)
            with paths.log(name).open("ab") as out:
                proc = subprocess.Popen(commands[name], stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=environment,
                                        cwd=str(paths.root), start_new_session=True)
            paths.pid_file(name).write_text(str(proc.pid))
            started.append(name)
        deadline = time.monotonic() + timeout
        while not _ready(name, paths, host, port):
            if read_pid(paths, name) is None:
                raise DeploymentError(f"{name} exited during start-up; see {paths.log(name)}")
            if time.monotonic() > deadline:
                raise DeploymentError(f"{name} did not answer within {timeout:.0f}s; "
                                      f"see {paths.log(name)}")
            time.sleep(0.25)
    return started


def stop(paths: Paths, timeout: float = 15.0) -> list[str]:
    """Stop what ``start`` started (each process group), webserver first."""
    stopped = []
    for name in reversed(SERVICES):
        pid = read_pid(paths, name)
        paths.pid_file(name).unlink(missing_ok=True)
        if pid is None:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        stopped.append(name)
    paths.socket.unlink(missing_ok=True)
    return stopped


def status(paths: Paths) -> dict[str, int | None]:
    return {name: read_pid(paths, name) for name in SERVICES}

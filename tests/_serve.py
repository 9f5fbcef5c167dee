"""Run the real ``blueplane serve`` (Datasette) as a process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blueplane_exe() -> list[str]:
    exe = Path(sys.executable).parent / "blueplane"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "blueplane_cli.main"]


@contextmanager
def serving(home: Path, port: int, timeout: float = 30.0) -> Iterator[str]:
    """``blueplane serve --port PORT`` with BLUEPLANE_HOME=home; yields the base URL."""
    env = dict(os.environ, BLUEPLANE_HOME=str(home))
    log = home / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*blueplane_exe(), "serve", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve did not answer: {log.read_text()}") from None
                time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

"""Who publishes: a stable random ``device_id`` per install and a ``developer`` id.

The device id is a random UUID kept in ``$BLUEPLANE_HOME/team/device_id``: it says which
laptop a row came from (so two laptops never overwrite each other) and nothing about it.
The developer is ``team.developer`` when the team wants real names, else a keyed hash of
the OS user name, so one person's laptops add up without the name leaving them.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import uuid
from pathlib import Path


def team_dir(home: Path) -> Path:
    path = home / "team"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def device_id(home: Path) -> str:
    """This install's device id, created on first use."""
    path = team_dir(home) / "device_id"
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = str(uuid.uuid4())
    tmp = path.with_name(f"device_id.{value}.tmp")
    tmp.write_text(value + "\n")
    try:
        os.link(tmp, path)  # first writer wins when two processes race
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value


def keyed_hash(salt: str, kind: str, value: str, length: int = 16) -> str:
    """HMAC-SHA256 of ``value`` under the team salt, separated by ``kind`` so a project and
    a developer with the same name never share a hash."""
    digest = hmac.new(salt.encode(), f"{kind}\0{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:length]


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def developer_id(configured: str, salt: str, user: str | None = None) -> str:
    """``team.developer`` if set, else ``dev-`` + a keyed hash of the OS user name."""
    if configured:
        return configured
    return "dev-" + keyed_hash(salt, "developer", user if user is not None else os_user(), 12)

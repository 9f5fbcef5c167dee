"""Runtime home, paths and settings.

Standard library only: the hook imports this on every event.
Everything Blueplane writes lives under ``BLUEPLANE_HOME`` (default ``~/.blueplane``).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # ``typing`` costs the hook ~2 ms to import

if TYPE_CHECKING:
    from pathlib import Path

STREAM_KEY = "blueplane:events"
GROUP = "ingest"
DLQ_KEY = "blueplane:dlq"
PRIVACY_MODES = ("standard", "strict", "full")

DEFAULTS: dict[str, object] = {
    "privacy_mode": "standard",
    "dagster_port": 3000,
    "datasette_port": 8001,
    "host": "127.0.0.1",
}


def home_str() -> str:
    """The runtime home as a string, created with mode 0700 on first use.

    The hook's fast path (``redis_url``, ``load_settings``) uses strings: ``pathlib`` costs
    it a few milliseconds per event, so ``Path`` is imported only where one is returned."""
    raw = os.environ.get("BLUEPLANE_HOME") or os.path.join(os.path.expanduser("~"), ".blueplane")
    if not os.path.isdir(raw):
        os.makedirs(raw, exist_ok=True)
        os.chmod(raw, 0o700)
    return raw


def home() -> Path:
    """The runtime home, created with mode 0700 on first use."""
    from pathlib import Path

    return Path(home_str())


def subdir_str(name: str) -> str:
    path = os.path.join(home_str(), name)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def subdir(name: str) -> Path:
    from pathlib import Path

    return Path(subdir_str(name))


def db_path() -> Path:
    return home() / "telemetry.db"


def redis_dir() -> Path:
    return subdir("redis")


def redis_socket() -> Path:
    return redis_dir() / "redis.sock"


def spool_dir_str() -> str:
    """The spool as a string: without Redis every hook event is written there."""
    return subdir_str("spool")


def spool_dir() -> Path:
    from pathlib import Path

    return Path(spool_dir_str())


def dagster_home() -> Path:
    return subdir("dagster")


def logs_dir() -> Path:
    return subdir("logs")


def run_dir() -> Path:
    """Pid files and state of the services ``blueplane up`` started."""
    return subdir("run")


def config_file() -> Path:
    return home() / "config.toml"


def redis_url() -> str:
    """``BLUEPLANE_REDIS_URL`` if set, else the embedded server's unix socket."""
    return (os.environ.get("BLUEPLANE_REDIS_URL")
            or f"unix://{os.path.join(home_str(), 'redis', 'redis.sock')}")


def uses_embedded_redis() -> bool:
    return not os.environ.get("BLUEPLANE_REDIS_URL")


class Settings:
    """Effective settings (a plain class: ``dataclasses`` costs the hook ~5 ms to import)."""

    def __init__(self, privacy_mode: str = "standard", dagster_port: int = 3000,
                 datasette_port: int = 8001, host: str = "127.0.0.1") -> None:
        self.privacy_mode = privacy_mode
        self.dagster_port = int(dagster_port)
        self.datasette_port = int(datasette_port)
        self.host = host

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def load_settings() -> Settings:
    """Read ``config.toml``; unknown keys are ignored, a bad file falls back to defaults."""
    values = dict(DEFAULTS)
    path = os.path.join(home_str(), "config.toml")
    if os.path.exists(path):
        import tomllib  # only when there is a file: the hook runs once per event

        try:
            with open(path, "rb") as fh:
                values.update({k: v for k, v in tomllib.load(fh).items() if k in DEFAULTS})
        except (OSError, tomllib.TOMLDecodeError):
            pass
    env_mode = os.environ.get("BLUEPLANE_PRIVACY_MODE")
    if env_mode:
        values["privacy_mode"] = env_mode
    if values["privacy_mode"] not in PRIVACY_MODES:
        values["privacy_mode"] = "standard"
    return Settings(**values)  # type: ignore[arg-type]


def save_setting(key: str, value: object) -> None:
    """Write one key of ``config.toml`` (flat ``key = value`` file)."""
    if key not in DEFAULTS:
        raise KeyError(key)
    import tomllib

    current: dict[str, object] = {}
    path = config_file()
    if path.exists():
        with path.open("rb") as fh:
            current = tomllib.load(fh)
    current[key] = value
    lines = []
    for k, v in current.items():
        lines.append(f"{k} = {v}" if isinstance(v, int) else f'{k} = "{v}"')
    path.write_text("\n".join(lines) + "\n")

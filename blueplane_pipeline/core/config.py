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
    "collector_port": 4318,
}


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Set for the services when the user explicitly allows a non-loopback address: the loopback
# guard then admits any Host header (``runtime.loopback_guard``).
ALLOWED_HOSTS_ENV = "BLUEPLANE_ALLOWED_HOSTS"


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def listen_host(host: str, allow_remote: bool = False) -> str:
    """The one rule for every server Blueplane starts: loopback, unless the user passed
    ``--allow-remote``. Raises ``ValueError`` (with what to do) otherwise."""
    if is_loopback(host) or allow_remote:
        return host
    raise ValueError(
        f"refusing to listen on {host}: Blueplane serves only this machine (everyone who can "
        f"reach {host} could read your prompts); use 127.0.0.1, or pass --allow-remote if "
        "you really mean it")


def home_str() -> str:
    """The runtime home as a string, created with mode 0700 on first use.

    The hook's fast path (``redis_url``, ``load_settings``) uses strings: ``pathlib`` costs
    it a few milliseconds per event, so ``Path`` is imported only where one is returned."""
    raw = os.environ.get("BLUEPLANE_HOME") or os.path.join(os.path.expanduser("~"), ".blueplane")
    if not os.path.isdir(raw):
        os.makedirs(raw, exist_ok=True)
        os.chmod(raw, 0o700)
    return raw


# Everything under the home is private: files 0600, folders 0700, whoever creates them.
PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Make files this process (and what it starts) creates readable by the user only."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def home_mode_problem() -> str | None:
    """A warning when the home lets other users in (group or world bits set), else None."""
    try:
        mode = os.stat(home_str()).st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return (f"{home_str()} is mode {mode:o}: other users can read your telemetry; "
                f"fix it with `chmod 700 {home_str()}`")
    return None


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
                 datasette_port: int = 8001, host: str = "127.0.0.1",
                 collector_port: int = 4318) -> None:
        self.privacy_mode = privacy_mode
        self.dagster_port = int(dagster_port)
        self.datasette_port = int(datasette_port)
        self.host = host
        self.collector_port = int(collector_port)

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


def read_config_file() -> dict:
    """Everything in ``config.toml`` (tables included), or ``{}`` when absent or unreadable."""
    import tomllib

    try:
        with config_file().open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _split_key(key: str) -> list[str]:
    """``privacy_mode`` -> one part; ``team.url`` -> two; ``team.project_alias.NAME`` -> three
    (NAME may itself contain dots). Tables other than ``team`` are refused."""
    if key in DEFAULTS:
        return [key]
    parts = key.split(".", 2)
    if len(parts) >= 2 and parts[0] == "team" and all(parts):
        return parts
    raise KeyError(key)


def save_setting(key: str, value: object) -> None:
    """Write one key of ``config.toml``: a top-level ``key = value``, or a ``team.*`` key into
    the ``[team]`` table (``team.project_alias.NAME`` into ``[team.project_alias]``)."""
    parts = _split_key(key)
    current = read_config_file()
    node = current
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    _write_config(current)


def unset_setting(key: str) -> bool:
    """Remove one key (back to its default); True if it was set."""
    parts = _split_key(key)
    current = read_config_file()
    chain = [current]
    for part in parts[:-1]:
        child = chain[-1].get(part)
        if not isinstance(child, dict):
            return False
        chain.append(child)
    if parts[-1] not in chain[-1]:
        return False
    del chain[-1][parts[-1]]
    for parent, part in zip(reversed(chain[:-1]), reversed(parts[:-1]), strict=True):
        if not parent[part]:  # drop tables left empty
            del parent[part]
    _write_config(current)
    return True


def _write_config(current: dict) -> None:
    text = _dump_toml(current)
    path = config_file()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o600)  # team.url may hold a password
    tmp.replace(path)


def _toml_key(key: str) -> str:
    import json
    import re

    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # JSON escapes are valid TOML escapes


def _dump_toml(data: dict, prefix: str = "") -> str:
    """A minimal TOML writer: scalars first, then one ``[table]`` per nested dict."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict)]
    text = "\n".join(lines) + ("\n" if lines else "")
    for k, v in data.items():
        if isinstance(v, dict):
            name = f"{prefix}{_toml_key(k)}"
            body = _dump_toml(v, name + ".")
            scalars = any(not isinstance(x, dict) for x in v.values())
            header = f"[{name}]\n" if scalars or not v else ""
            text += ("\n" if text else "") + header + body
    return text


# Budgets (``blueplane budget``) and the spend they are measured against, both small JSON
# files the hook and the statusline read: no file, no budget work at all.
BUDGETS_FILE = "budgets.json"
SPEND_FILE = os.path.join("run", "spend.json")


def budgets_path_str() -> str:
    return os.path.join(home_str(), BUDGETS_FILE)


def spend_path_str() -> str:
    return os.path.join(home_str(), SPEND_FILE)

"""The ``[team]`` settings of ``config.toml``: where the team store is, who this developer
is, and what may be shared. Standard library only; validation is plain functions."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# What a laptop can publish; ``team.share`` is a comma list of these (or all / none).
SHARE_ITEMS = ("usage", "sessions", "tools", "projects", "mcp_names")
DEFAULT_SHARE = ("usage", "sessions", "tools", "projects")
SHARE_HELP = {
    "usage": "tokens and cost per quarter hour x model x project",
    "sessions": "one row per session: times, counts, tokens, cost (no title, no prompts)",
    "tools": "per tool x day: calls by status, lines, latencies",
    "projects": "a project label (its alias, else a salted hash of its name); without it ''",
    "mcp_names": "MCP server and tool names in clear; without it they are salted hashes",
}
KEYS = {
    "url": "The team Postgres, postgresql://user@host:port/db (a password here is masked; "
           "prefer PGPASSWORD or ~/.pgpass)",
    "developer": "Your name in the team store (default: a salted hash of your OS user)",
    "salt": "Salt for the developer, project and session hashes (default: the team store's)",
    "share": f"What leaves this machine: a comma list of {', '.join(SHARE_ITEMS)} "
             f"(or all, none); default {','.join(DEFAULT_SHARE)}",
}
ALIAS_PREFIX = "project_alias."
URL_ENV = "BLUEPLANE_TEAM_URL"
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,63}")


@dataclass
class TeamSettings:
    url: str = ""
    developer: str = ""
    salt: str = ""
    share: tuple[str, ...] = DEFAULT_SHARE
    project_alias: dict[str, str] = field(default_factory=dict)
    # A hand-edited value that could not be read: nothing is published until it is fixed.
    problem: str | None = None

    def shares(self, item: str) -> bool:
        return item in self.share


class SettingError(ValueError):
    """A team setting that cannot be used; the message says what is allowed."""


def load(home: Path | None = None) -> TeamSettings:
    """The ``[team]`` table of ``home/config.toml`` (default: ``BLUEPLANE_HOME``);
    ``BLUEPLANE_TEAM_URL`` overrides ``team.url``. A ``share`` that cannot be read shares
    nothing (and says so in ``problem``): failing closed, never wider."""
    import tomllib

    from blueplane_pipeline.core import config

    path = (home or config.home()) / "config.toml"
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh).get("team") or {}
    except (OSError, tomllib.TOMLDecodeError):
        table = {}
    if not isinstance(table, dict):
        table = {}
    out = TeamSettings()
    for key in ("url", "developer", "salt"):
        if isinstance(table.get(key), str):
            setattr(out, key, table[key])
    if "share" in table:
        try:
            out.share = parse_share(str(table["share"]))
        except SettingError as exc:
            out.share, out.problem = (), f"{exc} (in {path})"
    aliases = table.get("project_alias")
    if isinstance(aliases, dict):
        out.project_alias = {str(k): str(v) for k, v in aliases.items() if isinstance(v, str)}
    out.url = os.environ.get(URL_ENV) or out.url
    return out


def parse_share(text: str) -> tuple[str, ...]:
    words = [w.strip() for w in text.split(",") if w.strip()]
    if words == ["all"]:
        return SHARE_ITEMS
    if words in (["none"], []):
        return ()
    unknown = [w for w in words if w not in SHARE_ITEMS]
    if unknown:
        raise SettingError(f"team.share: unknown item {unknown[0]!r}; use a comma list of "
                           f"{', '.join(SHARE_ITEMS)}, or all, or none")
    return tuple(i for i in SHARE_ITEMS if i in words)


def validate(key: str, value: str) -> str:
    """The value to store for ``team.<key>`` (``key`` without the ``team.`` prefix)."""
    if key == "url":
        check_url(value)
        return value
    if key == "developer":
        if not _LABEL.fullmatch(value):
            raise SettingError("team.developer: 1-64 letters, digits, spaces, '.', '_' or '-'")
        return value
    if key == "salt":
        if len(value) < 8:
            raise SettingError("team.salt: at least 8 characters (share it with your team)")
        return value
    if key == "share":
        return ",".join(parse_share(value)) or "none"
    if key.startswith(ALIAS_PREFIX) and len(key) > len(ALIAS_PREFIX):
        if not _LABEL.fullmatch(value):
            raise SettingError("a project alias is 1-64 letters, digits, spaces, '.', '_' or '-'")
        return value
    raise SettingError(f"unknown setting 'team.{key}': use team.url, team.developer, "
                       "team.salt, team.share or team.project_alias.<project name>")


SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")


def check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in SCHEMES or not (parts.netloc or parts.path
                                                            or parts.query):
        raise SettingError("team.url must look like postgresql://user@host:5432/dbname")


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg2) reads it: ``postgresql://``."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme in SCHEMES else url


def sqlalchemy_url(url: str) -> str:
    """The URL as Dagster's storage (SQLAlchemy) needs it: SQLAlchemy 2.1 maps a plain
    ``postgresql://`` to psycopg 3, and the team extra installs psycopg2."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if sep and scheme in SCHEMES else url


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for every printout)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed netloc
    except ValueError:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}" if "@" in rest else url
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

"""``blueplane config``: list, get, set and unset settings (privacy mode, ports, host, and the
``team.*`` keys of team mode, docs/team.md)."""

from __future__ import annotations

import os

import click

from blueplane_cli.formats import chosen, emit, format_options
from blueplane_cli.output import fail

DESCRIPTIONS = {
    "privacy_mode": "What capture keeps: standard (prompts with secrets redacted, no file "
                    "contents), strict (no prompt text, extensions only), full (everything)",
    "dagster_port": "Port of the Dagster UI started by `blueplane up` (127.0.0.1)",
    "datasette_port": "Port of Datasette started by `blueplane up` / `blueplane serve`",
    "host": "Address the local services listen on (loopback only)",
    "collector_port": "Port of blueplane-collector (OTLP/HTTP and HTTP hooks) started by "
                      "`blueplane up`",
}



def validate(key: str, value: str) -> object:
    """The value to store for ``key``, or ``click.BadParameter`` saying what is allowed."""
    from blueplane_pipeline.core.config import DEFAULTS, PRIVACY_MODES, is_loopback

    if key.startswith("team."):
        from blueplane_pipeline.team.settings import SettingError
        from blueplane_pipeline.team.settings import validate as validate_team

        try:
            return validate_team(key.removeprefix("team."), value)
        except SettingError as exc:
            raise click.BadParameter(str(exc)) from None
    if key not in DEFAULTS:
        raise click.BadParameter(f"unknown setting {key!r}: use one of {', '.join(DEFAULTS)}")
    if key == "privacy_mode":
        if value not in PRIVACY_MODES:
            raise click.BadParameter(f"privacy_mode must be one of {', '.join(PRIVACY_MODES)}")
        return value
    if key.endswith("_port"):
        try:
            port = int(value)
        except ValueError:
            port = 0
        if not 1024 <= port <= 65535:
            raise click.BadParameter(f"{key} must be a port number from 1024 to 65535")
        return port
    if key == "host" and not is_loopback(value):
        raise click.BadParameter("host must be a loopback address (127.0.0.1, localhost, ::1):"
                                 " Blueplane listens on the network only with an explicit"
                                 " --allow-remote on `up`/`serve`")
    return value


def _complete_keys(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    from blueplane_pipeline.team.settings import KEYS

    keys = [*DESCRIPTIONS, *(f"team.{k}" for k in KEYS), "team.project_alias."]
    return [k for k in keys if k.startswith(incomplete)]


def _team_rows(stored: dict) -> list[dict]:
    """The ``team.*`` settings: the URL's password and the salt never printed."""
    import os

    from blueplane_pipeline.team import settings as team

    table = stored.get("team") if isinstance(stored.get("team"), dict) else {}
    effective = team.load()
    rows = []
    for key, description in team.KEYS.items():
        value = getattr(effective, key)
        source = "config.toml" if key in table else "default"
        if key == "url" and os.environ.get(team.URL_ENV):
            source = team.URL_ENV
        if key == "share":
            value = ",".join(value) or "none"
        rows.append({"setting": f"team.{key}", "value": _shown(key, value), "source": source,
                     "default": ",".join(team.DEFAULT_SHARE) if key == "share" else "",
                     "description": description})
    for name, alias in sorted(effective.project_alias.items()):
        rows.append({"setting": f"team.project_alias.{name}", "value": alias,
                     "source": "config.toml", "default": "",
                     "description": f"Published name of project {name!r}"})
    return rows


def _shown(key: str, value: str) -> str:
    from blueplane_pipeline.team.settings import mask_url

    if key == "url" and value:
        return mask_url(value)
    if key == "salt" and value:
        return "(set)"
    return value


@click.group()
def config() -> None:
    """Show or change settings (stored in $BLUEPLANE_HOME/config.toml)."""


@config.command("list")
@format_options
def list_(fmt: str, as_json: bool) -> None:
    """Every setting with its value and where the value comes from."""
    from blueplane_pipeline.core import config as cfg

    settings = cfg.load_settings().as_dict()
    stored = _stored()
    rows = []
    for key, default in cfg.DEFAULTS.items():
        source = "default"
        if key in stored:
            source = "config.toml"
        if key == "privacy_mode" and os.environ.get("BLUEPLANE_PRIVACY_MODE"):
            source = "BLUEPLANE_PRIVACY_MODE"
        rows.append({"setting": key, "value": settings[key], "source": source,
                     "default": default, "description": DESCRIPTIONS.get(key, "")})
    rows += _team_rows(stored)
    fmt = chosen(fmt, as_json)
    emit(rows, ("setting", "value", "source", "default", "description"), fmt,
         title=f"Settings ({cfg.config_file()})", cells=lambda _c, v: "" if v is None else str(v))


@config.command("get")
@click.argument("key", shell_complete=_complete_keys)
def get(key: str) -> None:
    """Print one setting's effective value."""
    from blueplane_pipeline.core import config as cfg

    if key.startswith("team."):
        rows = {r["setting"]: r["value"] for r in _team_rows(_stored())}
        if key not in rows:
            try:
                validate(key, "x" * 8)
            except click.BadParameter as exc:
                if "unknown setting" in exc.message:
                    fail(exc.message)
            rows[key] = ""
        click.echo(rows[key])
        return
    if key not in cfg.DEFAULTS:
        fail(f"unknown setting {key!r}: use one of {', '.join(cfg.DEFAULTS)}")
    click.echo(cfg.load_settings().as_dict()[key])


@config.command("set")
@click.argument("key", shell_complete=_complete_keys)
@click.argument("value")
def set_(key: str, value: str) -> None:
    """Change a setting (privacy_mode applies to events captured from now on)."""
    from blueplane_pipeline.core import config as cfg

    try:
        stored = validate(key, value)
    except click.BadParameter as exc:
        fail(exc.message)
    try:
        cfg.save_setting(key, stored)
    except OSError as exc:
        fail(f"cannot write {cfg.config_file()}: {exc.strerror}")
    shown = _shown(key.removeprefix("team."), str(stored)) if key.startswith("team.") else stored
    click.echo(f"{key} = {shown}")
    if key == "privacy_mode" and os.environ.get("BLUEPLANE_PRIVACY_MODE"):
        click.echo("Note: BLUEPLANE_PRIVACY_MODE is set in this environment and overrides it.",
                   err=True)
    if key.endswith("_port") or key == "host":
        click.echo("Restart the services to use it: blueplane down && blueplane up", err=True)


@config.command("unset")
@click.argument("key", shell_complete=_complete_keys)
def unset(key: str) -> None:
    """Remove a setting from config.toml (it goes back to its default)."""
    from blueplane_pipeline.core import config as cfg

    try:
        removed = cfg.unset_setting(key)
    except KeyError:
        fail(f"unknown setting {key!r}")
    except OSError as exc:
        fail(f"cannot write {cfg.config_file()}: {exc.strerror}")
    click.echo(f"{key} unset" if removed else f"{key} was not set")


def _stored() -> dict:
    import tomllib

    from blueplane_pipeline.core import config as cfg

    path = cfg.config_file()
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}

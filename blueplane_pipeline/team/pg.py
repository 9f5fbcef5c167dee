"""Connections to the team Postgres, and one clear line for every way that fails.

psycopg2 (pulled in by ``dagster-postgres``) is imported only here and only when a team
command runs, so the single-user install needs neither it nor a server.
"""

from __future__ import annotations

from typing import Any

from blueplane_pipeline.team.schema import MIGRATE_LOCK, MIGRATIONS, SCHEMA
from blueplane_pipeline.team.settings import SettingError, check_url, libpq_url, mask_url

CONNECT_TIMEOUT_S = 5
INSTALL_HINT = "team mode needs the team extra: pip install 'blueplane[team]'"


class TeamStoreError(RuntimeError):
    """The team store cannot be used; the message is one line for the user."""


def driver():
    try:
        import psycopg2
        import psycopg2.extras  # noqa: F401 - execute_values
    except ImportError:
        raise TeamStoreError(INSTALL_HINT) from None
    return psycopg2


def connect(url: str, application_name: str = "blueplane") -> Any:
    """An open connection (autocommit off) or ``TeamStoreError`` naming the masked URL."""
    if not url:
        raise TeamStoreError("team.url is not set: blueplane config set team.url "
                             "postgresql://user@host:5432/dbname")
    try:
        check_url(url)
    except SettingError as exc:
        raise TeamStoreError(str(exc)) from None
    psycopg2 = driver()
    try:
        return psycopg2.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S,
                                application_name=application_name)
    except psycopg2.Error as exc:
        raise TeamStoreError(f"cannot connect to the team store {mask_url(url)}: "
                             f"{describe(exc, url)}") from None


def describe(exc: BaseException, url: str = "") -> str:
    """The first line of a driver error, without the URL or password it may echo (libpq
    quotes a URL it cannot parse whole)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = text.removeprefix("connection to server at ").strip()
    if url:
        for variant in {url, libpq_url(url)}:
            text = text.replace(variant, mask_url(variant))
        password = _password(url)
        if password:
            text = text.replace(password, "***")
    return text


def _password(url: str) -> str | None:
    from urllib.parse import unquote, urlsplit

    try:
        raw = urlsplit(url).password
    except ValueError:
        netloc = url.partition("://")[2].rpartition("@")[0]
        raw = netloc.partition(":")[2] or None
    return unquote(raw) if raw else raw


def _version(cur: Any) -> int:
    cur.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",))
    if cur.fetchone()[0] is None:
        return 0
    cur.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version")
    return cur.fetchone()[0]


def migrate(conn: Any) -> int:
    """Create or upgrade the team tables; returns the schema version. Safe to race. A
    store already up to date is only read, so publishers need no CREATE privilege."""
    with conn.cursor() as cur:
        if _version(cur) >= len(MIGRATIONS):
            conn.commit()
            return len(MIGRATIONS)
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version "
                    "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL "
                    "DEFAULT now())")
        cur.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version")
        current = cur.fetchone()[0]
        for version, sql in enumerate(MIGRATIONS, start=1):
            if version > current:
                cur.execute(sql)
                cur.execute(f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)",
                            (version,))
    conn.commit()
    return len(MIGRATIONS)


def team_meta(conn: Any) -> dict[str, str]:
    """``team_id`` (new when the store is recreated) and the team's default ``salt``,
    created on first use."""
    import secrets
    import uuid

    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {SCHEMA}.team_meta (name, value) VALUES (%s, %s), (%s, %s)"
                    " ON CONFLICT (name) DO NOTHING",
                    ("team_id", str(uuid.uuid4()), "salt", secrets.token_hex(16)))
        cur.execute(f"SELECT name, value FROM {SCHEMA}.team_meta")
        meta = dict(cur.fetchall())
    conn.commit()
    return meta


def open_store(url: str, application_name: str = "blueplane") -> Any:
    """A connection to a migrated team store."""
    psycopg2 = driver()
    conn = connect(url, application_name)
    try:
        migrate(conn)
    except psycopg2.Error as exc:
        conn.close()
        raise TeamStoreError(f"cannot prepare the team store {mask_url(url)}: "
                             f"{describe(exc, url)}") from None
    return conn


def open_reader(url: str, application_name: str = "blueplane-report") -> Any:
    """A read-only connection to a store that has the team tables (reports never create
    or change anything, so a read-only database role is enough)."""
    psycopg2 = driver()
    conn = connect(url, application_name)
    try:
        conn.set_session(readonly=True, autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",))
            present = cur.fetchone()[0] is not None
    except psycopg2.Error as exc:
        conn.close()
        raise TeamStoreError(f"cannot read the team store {mask_url(url)}: "
                             f"{describe(exc, url)}") from None
    if not present:
        conn.close()
        raise TeamStoreError(f"the team store {mask_url(url)} has no Blueplane tables yet: "
                             "publish first (blueplane team publish)")
    return conn

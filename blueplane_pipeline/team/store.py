"""Writes of published facts into the team Postgres: ``INSERT … ON CONFLICT DO UPDATE`` on
``(device_id, natural key)``, deletes of facts that vanished, and the device registry.

Every batch is its own transaction under this device's advisory lock, so a publish killed
midway leaves whole batches behind, and another device's publish never waits for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blueplane_pipeline.team.schema import SCHEMA, FactTable

_CASTS = {"jsonb": "::jsonb", "double precision[]": "::double precision[]", "date": "::date",
          "timestamptz": "::timestamptz", "bigint": "::bigint", "text": "::text"}


def _cast(sql_type: str) -> str:
    base = sql_type.replace(" NOT NULL", "")
    return _CASTS.get(base, "")


def device_lock_key(device_id: str) -> int:
    """A 63-bit advisory lock key for one device."""
    import hashlib

    return int.from_bytes(hashlib.blake2b(device_id.encode(), digest_size=8).digest(),
                          "big") >> 1


def upsert_sql(table: FactTable) -> tuple[str, str]:
    names = [n for n, _ in table.columns]
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n, _ in table.values)
    keys = ", ".join(["device_id", *(n for n, _ in table.key)])
    sql = (f"INSERT INTO {table.qualified} (device_id, {', '.join(names)}, published_at)"
           f" VALUES %s ON CONFLICT ({keys}) DO UPDATE SET {updates},"
           " published_at = EXCLUDED.published_at")
    template = "(%s, " + ", ".join(f"%s{_cast(t)}" for _, t in table.columns) + ", now())"
    return sql, template


def delete_sql(table: FactTable) -> tuple[str, str]:
    names = ["device_id", *(n for n, _ in table.key)]
    match = " AND ".join(f"t.{n} = d.{n}" for n in names)
    sql = (f"DELETE FROM {table.qualified} AS t USING (VALUES %s) AS d ({', '.join(names)})"
           f" WHERE {match}")
    template = "(%s::text, " + ", ".join(f"%s{_cast(t)}" for _, t in table.key) + ")"
    return sql, template


def write_batch(conn: Any, table: FactTable, device_id: str, upserts: Sequence[tuple],
                deletes: Sequence[tuple]) -> None:
    """One transaction: these rows upserted and these keys deleted, then committed."""
    from psycopg2.extras import execute_values

    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (device_lock_key(device_id),))
        if upserts:
            sql, template = upsert_sql(table)
            execute_values(cur, sql, [(device_id, *row) for row in upserts],
                           template=template, page_size=1000)
        if deletes:
            sql, template = delete_sql(table)
            execute_values(cur, sql, [(device_id, *key) for key in deletes],
                           template=template, page_size=1000)
        # last, so the one row every batch updates stays locked only for the commit
        cur.execute(f"UPDATE {SCHEMA}.facts_version SET version = version + 1")
    conn.commit()


def register_device(conn: Any, device_id: str, developer: str, share: str,
                    version: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {SCHEMA}.devices (device_id, developer, share, blueplane_version)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (device_id) DO UPDATE SET"
            " developer = EXCLUDED.developer, share = EXCLUDED.share,"
            " blueplane_version = EXCLUDED.blueplane_version", (device_id, developer, share,
                                                                version))
    conn.commit()


def finish_publish(conn: Any, device_id: str, developer: str, started_at: float,
                   upserted: int, deleted: int) -> None:
    with conn.cursor() as cur:
        cur.execute(f"UPDATE {SCHEMA}.devices SET last_published_at = now()"
                    " WHERE device_id = %s", (device_id,))
        cur.execute(f"INSERT INTO {SCHEMA}.publishes (device_id, developer, started_at,"
                    " rows_upserted, rows_deleted) VALUES (%s, %s, to_timestamp(%s), %s, %s)",
                    (device_id, developer, started_at, upserted, deleted))
    conn.commit()

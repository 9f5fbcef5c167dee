"""``publish``: bring the team store up to date with this laptop's facts.

Incremental: only facts whose digest changed since they were last committed are sent
(``state``), and facts that vanished here (an alias renamed a project, a session moved
to another project, a kind was removed from ``team.share``) are deleted there. Facts
older than the laptop's earliest remaining day were purged locally and are kept in the
team store. Idempotent: publishing twice, or again after a crash, gives the same rows.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from blueplane_pipeline.team import facts as facts_mod
from blueplane_pipeline.team import pg, store
from blueplane_pipeline.team.identity import developer_id, device_id
from blueplane_pipeline.team.schema import BY_KIND, FACT_TABLES
from blueplane_pipeline.team.settings import TeamSettings, mask_url
from blueplane_pipeline.team.share import Policy
from blueplane_pipeline.team.state import PublishState, digest, key_of, key_text, publish_lock

BATCH_ROWS = 2000


@dataclass
class KindStats:
    facts: int = 0
    upserted: int = 0
    deleted: int = 0
    unchanged: int = 0
    kept_purged: int = 0


@dataclass
class PublishStats:
    team: str
    device_id: str
    developer: str
    share: list[str]
    dry_run: bool
    kinds: dict[str, KindStats] = field(default_factory=dict)
    seconds: float = 0.0
    preview: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def upserted(self) -> int:
        return sum(k.upserted for k in self.kinds.values())

    @property
    def deleted(self) -> int:
        return sum(k.deleted for k in self.kinds.values())

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(upserted=self.upserted, deleted=self.deleted, seconds=round(self.seconds, 3))
        if not self.dry_run:
            out.pop("preview")
        return out


@dataclass
class _Plan:
    upserts: list[tuple[str, tuple, str, str]]  # key text, row, digest, day
    deletes: list[str]
    forget: list[str]


def read_facts(db: Path, policy: Policy, developer: str) -> facts_mod.Extracted:
    """The laptop's facts from one consistent read snapshot (read-only connection)."""
    if not db.exists():
        return facts_mod.Extracted({k: {} for k in BY_KIND if policy.shares(k)},
                                   {k: None for k in BY_KIND})
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        conn.execute("BEGIN")
        return facts_mod.extract(conn, policy, developer)
    finally:
        conn.close()


def plan_kind(kind: str, current: dict[tuple, tuple] | None, floor: str | None,
              recorded: dict[str, tuple[str, str]]) -> _Plan:
    """What to send for one kind. ``current`` is None when the kind is not shared: then
    everything published before is withdrawn."""
    if current is None:
        return _Plan([], list(recorded), [])
    upserts, seen = [], set()
    for key, row in current.items():
        text = key_text(key)
        seen.add(text)
        d = digest(row)
        if recorded.get(text, ("",))[0] != d:
            upserts.append((text, row, d, facts_mod.day_of(kind, key, row)))
    deletes, forget = [], []
    for text, (_d, day) in recorded.items():
        if text in seen:
            continue
        (deletes if floor is not None and day >= floor else forget).append(text)
    return _Plan(upserts, deletes, forget)


def publish(home: Path, settings: TeamSettings, *, db_path: Path | None = None,
            full: bool = False, dry_run: bool = False, batch_rows: int = BATCH_ROWS,
            preview_rows: int = 3) -> PublishStats:
    if settings.problem:
        raise pg.TeamStoreError(settings.problem)
    started = time.time()
    t0 = time.perf_counter()
    with publish_lock(home):
        conn = pg.open_store(settings.url, "blueplane-publish")
        try:
            stats = _publish(conn, home, settings, db_path or home / "telemetry.db", full,
                             dry_run, batch_rows, preview_rows, started)
        except pg.driver().Error as exc:
            raise pg.TeamStoreError(
                f"publish to {mask_url(settings.url)} stopped: "
                f"{pg.describe(exc, settings.url)} (re-run it: nothing is lost)") from None
        finally:
            conn.close()
    stats.seconds = time.perf_counter() - t0
    return stats


def _publish(conn, home: Path, settings: TeamSettings, db: Path, full: bool, dry_run: bool,
             batch_rows: int, preview_rows: int, started: float) -> PublishStats:
    meta = pg.team_meta(conn)
    salt = settings.salt or meta["salt"]
    policy = Policy(settings, salt)
    developer = developer_id(settings.developer, salt)
    device = device_id(home)
    stats = PublishStats(mask_url(settings.url), device, developer, list(settings.share),
                         dry_run)
    extracted = read_facts(db, policy, developer)
    state = PublishState(home)
    try:
        state.bind(meta["team_id"], full=full and not dry_run)
        if not dry_run:
            store.register_device(conn, device, developer, ",".join(settings.share) or "none",
                                  _version())
        for table in FACT_TABLES:
            kind = table.kind
            current = extracted.facts.get(kind)
            recorded = {} if (full and dry_run) else state.digests(kind)
            plan = plan_kind(kind, current, extracted.floor_day.get(kind), recorded)
            ks = stats.kinds[kind] = KindStats(
                facts=len(current or {}), upserted=len(plan.upserts), deleted=len(plan.deletes),
                kept_purged=len(plan.forget))
            ks.unchanged = ks.facts - ks.upserted
            if dry_run:
                names = facts_mod.COLUMNS[kind]
                stats.preview[kind] = [dict(zip(names, row, strict=True))
                                       for _t, row, _d, _day in plan.upserts[:preview_rows]]
                continue
            for i in range(0, len(plan.upserts), batch_rows):
                batch = plan.upserts[i:i + batch_rows]
                store.write_batch(conn, table, device, [row for _t, row, _d, _day in batch], [])
                state.record(kind, ((t, d, day) for t, _row, d, day in batch))
            for i in range(0, len(plan.deletes), batch_rows):
                batch = plan.deletes[i:i + batch_rows]
                store.write_batch(conn, table, device, [], [key_of(t) for t in batch])
                state.forget(kind, batch)
            state.forget(kind, plan.forget)
        if not dry_run:
            store.finish_publish(conn, device, developer, started, stats.upserted,
                                 stats.deleted)
            state.set("last_published_at", str(time.time()))
    finally:
        state.close()
    return stats


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("blueplane")
    except PackageNotFoundError:
        return "0"

"""The analytics refreshed beside a follow run, in a thread of its own.

Why a thread: ingest must never wait for the analytics (a slow session rebuild would
otherwise hold the next batch), and a Dagster run per refresh costs ~0.2 CPU-seconds of
bookkeeping. The follow run pokes this thread after every stored batch; pokes that arrive
during a refresh coalesce into one more refresh (O(Δ): the incremental path of
``analytics/``), so the tables trail the stream by one refresh at most. A refresh is what
the assets' own runs do, in their order: ``token_usage``, the OTel tables (when exports
arrived), the session tables, the rollups, ``insights``, ``search_index``, and the
budgets' ``spend_state`` (when tokens or sessions moved).

What the run reports (``take``): per asset, one materialization per reporting window with
the window's summed ``rows_changed`` (assets nothing changed in are not reported again),
and the asset checks' evaluations at most every ``checks_every_s`` and at the end.
"""

from __future__ import annotations

import logging
import threading
import time

import dagster as dg

from blueplane_pipeline.orchestration.resources import BlueplaneResource

log = logging.getLogger("blueplane.analytics")


class LiveRefresh:
    def __init__(
        self,
        blueplane: BlueplaneResource,
        *,
        checks_every_s: float = 600.0,
        settle_s: float = 0.25,
        duty: float = 0.25,
        clock=time.monotonic,
    ) -> None:
        self._blueplane = blueplane
        self._settle_s = settle_s
        self._duty = duty
        self._last_took = 0.0
        self._checks_every_s = checks_every_s
        self._clock = clock
        self._wanted = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._pending: dict[str, dict] = {}
        self._checks: list[dg.AssetCheckEvaluation] = []
        self._errors: list[str] = []
        self._refreshes = 0
        self._since_checks = 0
        self._last_checks = clock()
        self._thread = threading.Thread(target=self._loop, name="bp-live-refresh", daemon=True)

    @property
    def refreshes(self) -> int:
        return self._refreshes

    def start(self) -> LiveRefresh:
        self._thread.start()
        return self

    def poke(self) -> None:
        """New events are stored: refresh once more (coalesced with pokes in flight)."""
        self._wanted.set()

    def close(self, timeout: float = 300.0) -> None:
        """Finish the refresh asked for, evaluate the checks if anything changed, stop."""
        self._closing.set()
        self._thread.join(timeout)

    def take(self) -> list:
        """The events to report now: materializations of the window, check evaluations,
        and the errors of refreshes that failed (as strings)."""
        with self._lock:
            mats = [
                dg.AssetMaterialization(asset_key=name, metadata=meta)
                for name, meta in self._pending.items()
            ]
            out = [*mats, *self._checks, *self._errors]
            self._pending, self._checks, self._errors = {}, [], []
        return out

    # ------------------------------------------------------------------ the thread
    def _loop(self) -> None:
        from blueplane_pipeline.core.pricing import load_price_table

        prices = load_price_table()
        while True:
            self._wanted.wait(timeout=1.0)
            if self._wanted.is_set():
                self._closing.wait(self._pause())
                self._wanted.clear()
                t0 = self._clock()
                self._guarded(self._refresh_once, prices)
                self._last_took = self._clock() - t0
            elif self._closing.is_set():
                break
        if self._since_checks:
            self._guarded(self._evaluate_checks)

    def _pause(self) -> float:
        """How long to let pokes gather before the next refresh. Events come in runs (a
        tool call's Pre and Post, a transcript's lines): at least ``settle_s``. And the
        refreshes may take at most ``duty`` of the time: a session rebuilt in full grows
        with the session, so one that took 1 s waits 3 s before the next (the tables then
        trail by seconds, and the daemon's CPU stays bounded, however long the session)."""
        return max(self._settle_s, self._last_took * (1 / self._duty - 1))

    def _guarded(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported by the run; the next poke retries
            log.warning("analytics refresh failed: %s", exc, exc_info=True)
            with self._lock:
                self._errors.append(f"{type(exc).__name__}: {exc}")

    def _refresh_once(self, prices) -> None:
        """Every asset a follow run keeps fresh, in the order their own runs have."""
        from blueplane_pipeline.analytics.insights import refresh_insights
        from blueplane_pipeline.analytics.rollups import refresh_rollups
        from blueplane_pipeline.analytics.session_refresh import refresh_sessions
        from blueplane_pipeline.orchestration.assets.analytics import (
            insights_metadata,
            rollup_metadata,
            session_metadata,
        )
        from blueplane_pipeline.orchestration.assets.otel import refresh_otel_tables
        from blueplane_pipeline.orchestration.assets.surfaces import refresh_search, refresh_spend
        from blueplane_pipeline.orchestration.assets.token_usage import refresh_token_usage

        conn = self._blueplane.writer()
        try:
            found = {"token_usage": refresh_token_usage(conn, prices)}
            found.update(refresh_otel_tables(conn, only_if_new=True)[1])
            found.update(session_metadata(refresh_sessions(conn)))
            found.update(rollup_metadata(refresh_rollups(conn)))
            found["insights"] = insights_metadata(refresh_insights(conn))
            found["search_index"] = refresh_search(conn)
        finally:
            conn.close()
        # The budgets' spend file: only when tokens or sessions moved (it reads a month).
        if _changed(found["token_usage"]) or _changed(found["sessions"]):
            found["spend_state"] = refresh_spend(self._blueplane)
        self._refreshes += 1
        self._since_checks += 1
        with self._lock:
            for name, meta in found.items():
                _coalesce(self._pending, name, meta)
        if self._clock() - self._last_checks >= self._checks_every_s:
            self._evaluate_checks()

    def _evaluate_checks(self) -> None:
        from blueplane_pipeline.orchestration.checks import evaluate_checks

        conn = self._blueplane.reader()
        try:
            evaluations = evaluate_checks(conn)
        finally:
            if conn is not None:
                conn.close()
        self._last_checks, self._since_checks = self._clock(), 0
        with self._lock:
            self._checks = evaluations


def _changed(meta: dict) -> int:
    return int(meta.get("rows_changed") or 0) + int(meta.get("rows_repriced") or 0)


def _coalesce(pending: dict[str, dict], name: str, meta: dict) -> None:
    """Keep the latest metadata of ``name`` with the window's summed changes; an asset
    whose refreshes changed nothing is not reported (one without a change count, like the
    spend file, whenever it was refreshed)."""
    before = pending.get(name)
    if "rows_changed" not in meta:
        pending[name] = {**meta, "refreshes": (before["refreshes"] if before else 0) + 1}
        return
    changed = _changed(meta) + (int(before["rows_changed"]) if before else 0)
    if not changed:
        return
    pending[name] = {
        **meta,
        "rows_changed": changed,
        "refreshes": (before["refreshes"] if before else 0) + 1,
    }

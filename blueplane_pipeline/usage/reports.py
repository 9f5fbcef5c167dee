"""Group usage rows into ccusage-shaped reports: daily, weekly, monthly, session, blocks.

Input is a list of ``UsageRow``: one deduplicated message, or several of one model that
the database already summed (same quarter hour, or same session). Every timezone offset
in use is a multiple of 15 minutes, so a quarter-hour sum never straddles a local day.
The JSON mirrors ccusage 20.0.24 (field names, nesting, order of rows and breakdowns, and
``"missingPricing": true`` on the breakdown of a model that had no price,
``unpricedModels`` in the totals) so scripts written against ccusage keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo

from blueplane_pipeline.core.times import iso_ms

HOUR_MS = 3_600_000
BLOCK_MS = 5 * HOUR_MS
PERIODS = ("daily", "weekly", "monthly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(slots=True)
class UsageRow:
    ts_first_ms: int
    ts_last_ms: int
    session_id: str | None
    project: str | None
    model: str | None
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost_usd: float
    entries: int = 1
    unpriced: bool = False
    platform: str | None = None
    reasoning_tokens: int = 0  # inside output_tokens (Codex)
    thoughts_tokens: int = 0  # beside output_tokens, in the total (Gemini)


@dataclass
class Tally:
    """Token and cost sums of a group, per model and in total."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost: float = 0.0
    entries: int = 0
    unpriced: bool = False
    first_ms: int | None = None
    last_ms: int | None = None
    reasoning_tokens: int = 0
    thoughts_tokens: int = 0
    models: dict[str, Tally] = field(default_factory=dict)
    agents: dict[str, Tally] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens + self.output_tokens + self.cache_creation_tokens
                + self.cache_read_tokens + self.thoughts_tokens)

    def add(self, row: UsageRow, by_model: bool = True, by_agent: bool = False) -> None:
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.cache_creation_tokens += row.cache_creation_tokens
        self.cache_read_tokens += row.cache_read_tokens
        self.reasoning_tokens += row.reasoning_tokens
        self.thoughts_tokens += row.thoughts_tokens
        self.cost += row.cost_usd
        self.entries += row.entries
        self.unpriced = self.unpriced or row.unpriced
        if self.first_ms is None or row.ts_first_ms < self.first_ms:
            self.first_ms = row.ts_first_ms
        if self.last_ms is None or row.ts_last_ms > self.last_ms:
            self.last_ms = row.ts_last_ms
        if by_model and row.model is not None:
            sub = self.models.get(row.model)
            if sub is None:
                sub = self.models[row.model] = Tally()
            sub.add(row, by_model=False)
        if by_agent:
            name = row.platform or "unknown"
            sub = self.agents.get(name)
            if sub is None:
                sub = self.agents[name] = Tally()
            sub.add(row, by_model=False)

    def agent_breakdowns(self) -> list[dict]:
        """Per platform (``usage`` without ``--agent``): tokens and cost, costliest first."""
        items = sorted(self.agents.items(), key=lambda kv: (-kv[1].cost, kv[0]))
        return [{"agent": name, **sub.token_fields(), "totalTokens": sub.total_tokens,
                 "totalCost": sub.cost} for name, sub in items]

    def models_used(self) -> list[str]:
        """Models in order of first use (ccusage's ``modelsUsed``)."""
        return sorted(self.models, key=lambda m: (self.models[m].first_ms or 0, m))

    def token_fields(self) -> dict:
        return {"inputTokens": self.input_tokens, "outputTokens": self.output_tokens,
                "cacheCreationTokens": self.cache_creation_tokens,
                "cacheReadTokens": self.cache_read_tokens}

    def breakdowns(self) -> list[dict]:
        items = sorted(self.models.items(), key=lambda kv: (-kv[1].cost, kv[0]))
        return [{"modelName": name, **sub.token_fields(), "cost": sub.cost,
                 **({"missingPricing": True} if sub.unpriced else {})}
                for name, sub in items]

    def summary(self) -> dict:
        return {**self.token_fields(), "totalTokens": self.total_tokens,
                "totalCost": self.cost, "modelsUsed": self.models_used(),
                "modelBreakdowns": self.breakdowns()}

    def totals(self) -> dict:
        return {**self.token_fields(), "totalTokens": self.total_tokens, "totalCost": self.cost}


# --- time ----------------------------------------------------------------------------------

def local_date(ts_ms: int, tz: tzinfo) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, tz).date()


def period_key(day: date, period: str, week_start: int = 6) -> str:
    """``YYYY-MM-DD`` (day), the date the week starts (``week_start`` 0=Monday..6=Sunday),
    or ``YYYY-MM`` (month)."""
    if period == "daily":
        return day.isoformat()
    if period == "weekly":
        return (day - timedelta(days=(day.weekday() - week_start) % 7)).isoformat()
    if period == "monthly":
        return f"{day.year:04d}-{day.month:02d}"
    raise ValueError(f"unknown period {period!r}")



# --- reports -------------------------------------------------------------------------------

def unpriced_models(rows: Iterable[UsageRow]) -> list[str]:
    """Models whose usage had no price (counted as $0)."""
    return sorted({r.model or "(no model)" for r in rows if r.unpriced})


def _totals(grand: Tally, rows: Sequence[UsageRow]) -> dict:
    """ccusage's ``totals``, with ``unpricedModels`` when some usage had no price."""
    out = grand.totals()
    missing = unpriced_models(rows)
    if missing:
        out["unpricedModels"] = missing
    return out


def period_report(rows: Sequence[UsageRow], period: str, tz: tzinfo, *,
                  week_start: int = 6, order: str = "asc", by_agent: bool = False) -> dict:
    """``{"daily"|"weekly"|"monthly": [...], "totals": {...}}`` like ccusage; with
    ``by_agent`` every period and the totals add ``agentBreakdowns`` (one per platform)."""
    groups: dict[str, Tally] = {}
    grand = Tally()
    cache: dict[int, str] = {}
    for row in rows:
        day_ms = row.ts_first_ms // 900_000
        key = cache.get(day_ms)
        if key is None:
            key = cache[day_ms] = period_key(local_date(row.ts_first_ms, tz), period, week_start)
        tally = groups.get(key)
        if tally is None:  # (not setdefault: that would build a Tally per row)
            tally = groups[key] = Tally()
        tally.add(row, by_agent=by_agent)
        grand.add(row, by_model=False, by_agent=by_agent)
    label = {"daily": "date", "weekly": "week", "monthly": "month"}[period]
    items = [{label: key, **tally.summary(),
              **({"agentBreakdowns": tally.agent_breakdowns()} if by_agent else {})}
             for key, tally in sorted(groups.items(), reverse=order == "desc")]
    totals = _totals(grand, rows)
    if by_agent:
        totals["agentBreakdowns"] = grand.agent_breakdowns()
    return {period: items, "totals": totals}


def session_report(rows: Sequence[UsageRow], *, order: str = "desc",
                   by_agent: bool = False) -> dict:
    """``{"sessions": [...], "totals": {...}}``: one entry per transcript session, most
    expensive first (ccusage's order); ``by_agent`` adds each session's ``agent``."""
    groups: dict[tuple[str, str], Tally] = {}
    agent_of: dict[tuple[str, str], str] = {}
    grand = Tally()
    for row in rows:
        key = (row.session_id or "unknown", row.project or "unknown")
        groups.setdefault(key, Tally()).add(row)
        agent_of.setdefault(key, row.platform or "unknown")
        grand.add(row, by_model=False, by_agent=by_agent)
    items = []
    for key, tally in groups.items():
        session, project = key
        items.append({"sessionId": session, "projectPath": project,
                      "firstActivity": iso_ms(tally.first_ms or 0),
                      "lastActivity": iso_ms(tally.last_ms or 0), **tally.summary(),
                      **({"agent": agent_of[key]} if by_agent else {})})
    items.sort(key=lambda s: (s["totalCost"], s["lastActivity"]), reverse=order == "desc")
    totals = _totals(grand, rows)
    if by_agent:
        totals["agentBreakdowns"] = grand.agent_breakdowns()
    return {"sessions": items, "totals": totals}


# --- Codex: ccusage's ``codex`` report shape ------------------------------------------------

def _codex_fields(t: Tally) -> dict:
    return {"inputTokens": t.input_tokens, "cacheReadTokens": t.cache_read_tokens,
            "cacheCreationTokens": t.cache_creation_tokens, "outputTokens": t.output_tokens,
            "reasoningOutputTokens": t.reasoning_tokens, "totalTokens": t.total_tokens}


FALLBACK = "\x00fallback"  # the models key of rows that named no model


def _codex_entry(t: Tally, fallback_model: str) -> dict:
    models = _unfast(t.models)
    out = {name: {**_codex_fields(sub), "isFallback": False}
           for name, sub in sorted(models.items()) if name != FALLBACK}
    if FALLBACK in models:  # priced as the fallback model, as ccusage reports them
        fields = _codex_fields(models[FALLBACK])
        if fallback_model in out:
            fields = {k: v + out[fallback_model][k] for k, v in fields.items()}
        out[fallback_model] = {**fields, "isFallback": True}
    return {**_codex_fields(t), "costUSD": t.cost, "models": dict(sorted(out.items()))}


def _unfast(models: dict[str, Tally]) -> dict[str, Tally]:
    """ccusage's codex report names a fast-tier model as the model itself."""
    out: dict[str, Tally] = {}
    for name, sub in models.items():
        base = name.removesuffix("-fast")
        if base in out:
            merged = out[base]
            for f in ("input_tokens", "output_tokens", "cache_creation_tokens",
                      "cache_read_tokens", "reasoning_tokens", "thoughts_tokens", "cost"):
                setattr(merged, f, getattr(merged, f) + getattr(sub, f))
        else:
            out[base] = Tally(sub.input_tokens, sub.output_tokens, sub.cache_creation_tokens,
                              sub.cache_read_tokens, sub.cost,
                              reasoning_tokens=sub.reasoning_tokens,
                              thoughts_tokens=sub.thoughts_tokens)
    return out


def codex_report(rows: Sequence[UsageRow], kind: str, tz: tzinfo, *, week_start: int = 6,
                 fallback_model: str = "gpt-5") -> dict:
    """``ccusage codex daily|weekly|monthly|session --json``'s shape: ``inputTokens``
    without cached input, ``reasoningOutputTokens`` inside ``outputTokens``, ``costUSD``,
    and ``models`` keyed by name; session rows carry ccusage's ``sessionId`` (the rollout
    path under ``sessions/``), ``sessionFile``, ``directory`` and ``lastActivity``."""
    groups: dict[str, Tally] = {}
    grand = Tally()
    for row in rows:
        if kind == "session":  # ccusage's session: the rollout path, kept as the project
            key = row.project or "unknown"
        else:
            key = period_key(local_date(row.ts_first_ms, tz), kind, week_start)
        tally = groups.get(key)
        if tally is None:
            tally = groups[key] = Tally()
        if row.model is None:
            row = replace(row, model=FALLBACK)
        tally.add(row)
        grand.add(row, by_model=False)
    items = []
    for key, tally in sorted(groups.items()):
        entry = _codex_entry(tally, fallback_model)
        if kind == "session":
            directory, _, name = key.rpartition("/")
            entry.update(sessionId=key, sessionFile=name, directory=directory,
                         lastActivity=iso_ms(tally.last_ms or 0))
        else:
            entry[{"daily": "date", "weekly": "week", "monthly": "month"}[kind]] = key
        items.append(entry)
    label = "sessions" if kind == "session" else kind
    totals = {**_codex_fields(grand), "costUSD": grand.cost}
    missing = unpriced_models(rows)
    if missing:
        totals["unpricedModels"] = missing
    return {label: items, "totals": totals}


def _floor_hour(ts_ms: int) -> int:
    return ts_ms - ts_ms % HOUR_MS


def _block(start_ms: int, rows: list[UsageRow], now_ms: int) -> dict:
    tally = Tally()
    for row in rows:
        tally.add(row)
    end_ms = start_ms + BLOCK_MS
    last_ms = tally.last_ms or start_ms
    active = now_ms - last_ms < BLOCK_MS and now_ms < end_ms
    block = {
        "id": iso_ms(start_ms), "startTime": iso_ms(start_ms), "endTime": iso_ms(end_ms),
        "actualEndTime": iso_ms(last_ms), "isActive": active, "isGap": False,
        "entries": tally.entries,
        "tokenCounts": {"inputTokens": tally.input_tokens, "outputTokens": tally.output_tokens,
                        "cacheCreationInputTokens": tally.cache_creation_tokens,
                        "cacheReadInputTokens": tally.cache_read_tokens},
        "totalTokens": tally.total_tokens, "costUSD": tally.cost,
        "models": tally.models_used(), "burnRate": None, "projection": None,
    }
    if active:
        block["burnRate"], block["projection"] = _burn(tally, end_ms, now_ms)
    return block


def _burn(tally: Tally, end_ms: int, now_ms: int) -> tuple[dict | None, dict | None]:
    """Spend rate over the block's active span and where it ends if it keeps that pace."""
    minutes = ((tally.last_ms or 0) - (tally.first_ms or 0)) / 60_000
    if minutes <= 0:
        return None, None
    per_min = tally.total_tokens / minutes
    per_hour_cost = tally.cost / minutes * 60
    remaining = max(0.0, (end_ms - now_ms) / 60_000)
    burn = {"tokensPerMinute": per_min,
            "tokensPerMinuteForIndicator": (tally.input_tokens + tally.output_tokens) / minutes,
            "costPerHour": per_hour_cost}
    projection = {"totalTokens": round(tally.total_tokens + per_min * remaining),
                  "totalCost": round((tally.cost + per_hour_cost / 60 * remaining) * 100) / 100,
                  "remainingMinutes": round(remaining)}
    return burn, projection


def _gap(last_ms: int, next_ms: int) -> dict:
    start = last_ms + BLOCK_MS
    return {
        "id": f"gap-{iso_ms(start)}", "startTime": iso_ms(start), "endTime": iso_ms(next_ms),
        "actualEndTime": None, "isActive": False, "isGap": True, "entries": 0,
        "tokenCounts": {"inputTokens": 0, "outputTokens": 0, "cacheCreationInputTokens": 0,
                        "cacheReadInputTokens": 0},
        "totalTokens": 0, "costUSD": 0, "models": [], "burnRate": None, "projection": None,
    }


def blocks_report(rows: Sequence[UsageRow], now_ms: int) -> dict:
    """5-hour billing windows like ccusage: a window opens at the hour of its first message
    and closes 5 h later or when 5 h pass without a message; idle spans longer than the
    window show as gap blocks. Needs one row per message (not pre-summed rows)."""
    ordered = sorted(rows, key=lambda r: r.ts_first_ms)
    blocks: list[dict] = []
    start: int | None = None
    current: list[UsageRow] = []
    for row in ordered:
        ts = row.ts_first_ms
        if start is not None:
            since_last = ts - current[-1].ts_first_ms
            if ts - start > BLOCK_MS or since_last > BLOCK_MS:
                blocks.append(_block(start, current, now_ms))
                if since_last > BLOCK_MS:
                    blocks.append(_gap(current[-1].ts_first_ms, ts))
                start = None
        if start is None:
            start, current = _floor_hour(ts), []
        current.append(row)
    if start is not None:
        blocks.append(_block(start, current, now_ms))
    return {"blocks": blocks}

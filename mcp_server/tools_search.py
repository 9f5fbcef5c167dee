"""Search tools: sessions by filter or text, past tasks like the one at hand, and the tool
sequences that tend to succeed."""

from __future__ import annotations

from blueplane_pipeline.core import config
from blueplane_pipeline.read import search as text_search
from blueplane_pipeline.read.breakdowns import turn_calls
from blueplane_pipeline.read.periods import EVERYTHING, parse_when
from blueplane_pipeline.read.sessions import list_sessions, sessions_by_ids
from mcp_server.models import (
    PatternRow,
    SessionBrief,
    SessionSearch,
    SimilarTasks,
    SuccessfulPatterns,
    TaskMatch,
)
from mcp_server.patterns import SUCCESS_DEFINITION, pattern_stats, tool_sequence, turn_succeeded
from mcp_server.reading import Platform, filters, known_project, reading, window

MAX_LIMIT = 200


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


def _brief(row: dict, score: float | None = None) -> SessionBrief:
    return SessionBrief(**{k: row[k] for k in SessionBrief.model_fields if k != "match_score"},
                        match_score=score)


def search_sessions(text: str | None = None, project: str | None = None,
                    platform: Platform = None, since: str | None = None,
                    until: str | None = None, min_acceptance: float | None = None,
                    limit: int = 20, offset: int = 0) -> SessionSearch:
    """Find sessions: by words in their prompts, assistant text, tool calls (names, commands,
    files) and titles (ranked by relevance; the full-text index) and/or by
    project, platform, start date range (YYYY-MM-DD or ISO times, until exclusive) and
    minimum edit acceptance (0-1). Newest first when no text is given."""
    limit, offset = _clamp(limit), max(0, int(offset))
    with reading() as conn:
        known_project(conn, project)
        start = parse_when(since) if since else None
        end = parse_when(until, end_of_day=True) if until else None
        flt = filters(platform, project)
        if not text or not text.strip():
            rows, total = list_sessions(conn, flt, since=start, until=end,
                                          min_acceptance=min_acceptance, limit=limit,
                                          offset=offset)
            return SessionSearch(total=total, sessions=[_brief(r) for r in rows])
        hits = text_search.search(conn, config.db_path(), text, limit=2000,
                                  kinds=text_search.KINDS[config.load_settings().privacy_mode])
        best: dict[str, float] = {}
        for hit in hits:
            best.setdefault(hit.session_id, hit.score)
        allowed, _ = list_sessions(conn, flt, since=start, until=end,
                                     min_acceptance=min_acceptance, limit=1_000_000)
        keep = {r["session_id"] for r in allowed}
        ranked = [sid for sid in best if sid in keep]
        rows = sessions_by_ids(conn, ranked[offset:offset + limit])
    return SessionSearch(total=len(ranked),
                         sessions=[_brief(r, best[r["session_id"]]) for r in rows])


def search_similar_tasks(task: str, limit: int = 10) -> SimilarTasks:
    """Past prompts (and session titles) most like ``task``, ranked by full-text relevance
    (bm25), each with how that turn went and the tools it used."""
    limit = _clamp(limit)
    with reading() as conn:
        hits, indexed = text_search.similar(conn, config.db_path(), task, limit=limit)
        keys = [(h.session_id, h.turn_index) for h in hits if h.turn_index is not None]
        turns = {(t["session_id"], t["turn_index"]): t
                 for t in turn_calls(conn, EVERYTHING, keys=keys)}
        projects = {r["session_id"]: r["project_name"]
                    for r in sessions_by_ids(conn, list({h.session_id for h in hits}))}
    matches, seen = [], set()
    for h in hits:
        if (h.session_id, h.text) in seen:  # a title that repeats the session's first prompt
            continue
        seen.add((h.session_id, h.text))
        turn = turns.get((h.session_id, h.turn_index))
        matches.append(TaskMatch(
            session_id=h.session_id, turn_index=h.turn_index, text=h.text[:500], score=h.score,
            project_name=projects.get(h.session_id),
            succeeded=turn_succeeded(turn) if turn else None,
            tool_sequence=tool_sequence(turn["calls"]) if turn else None))
    return SimilarTasks(query=task, indexed_texts=indexed, matches=matches)


def find_successful_patterns(period: str = "90d", platform: Platform = None,
                             project: str | None = None, min_support: int = 2,
                             limit: int = 10) -> SuccessfulPatterns:
    """Tool sequences (per turn, repeats collapsed) ranked by how often turns using them
    succeeded, with sample sizes; small samples rank by their 95% Wilson lower bound."""
    cur, _ = window(period)
    with reading() as conn:
        known_project(conn, project)
        turns = turn_calls(conn, cur, filters(platform, project))
    stats = pattern_stats(turns, min_support=max(1, int(min_support)))
    return SuccessfulPatterns(
        period=cur.label, definition=SUCCESS_DEFINITION, turns_considered=len(turns),
        turns_succeeded=sum(turn_succeeded(t) for t in turns),
        patterns=[PatternRow(**vars(p)) for p in stats[:_clamp(limit)]])

"""Claude Code transcript lines -> usage records, with ccusage's acceptance rules.

A line counts when it carries ``message.usage`` with integer ``input_tokens`` and
``output_tokens`` and a parseable ``timestamp``. Like ccusage 20.0.24 it is skipped when a
field ccusage treats as non-nullable is JSON ``null`` anywhere in the line (``requestId``,
``costUSD``, ``model``, ``id``, ...), when ``version`` is not ``X.Y.Z``-like, or when
``sessionId``/``requestId``/``message.id``/``message.model`` is an empty string.
``<synthetic>`` lines (API errors Claude Code writes itself) are not usage. A
``progress`` line that embeds a subagent's API message (``data.message``) counts like that
message (ccusage's daily report reads them; the subagent's own file usually holds the same
message too, and the dedup merges the two).

Sessions and projects come from the file's place under ``projects/``, as ccusage groups
them: ``<project>/<session>.jsonl``, or ``<project>/<session>/.../*.jsonl`` for subagents.
"""

from __future__ import annotations

import math

from blueplane_pipeline.core.times import parse_iso_ms
from blueplane_pipeline.usage.records import UsageRecord, count, optional_count

SYNTHETIC_MODEL = "<synthetic>"
# Fields ccusage refuses to read as null (its loader drops the whole line).
NON_NULLABLE = frozenset({
    "id", "cwd", "model", "speed", "costUSD", "version", "sessionId", "requestId",
    "isApiErrorMessage", "cache_read_input_tokens", "cache_creation_input_tokens",
})
# Line types that can carry usage: API messages, and progress lines echoing a subagent's.
USAGE_EVENT_TYPES = ("assistant", "progress")


def usage_record(seq: int, envelope: dict) -> UsageRecord | None:
    """The usage record of a stored transcript event (the importer's contract: source
    ``transcript``, payload = the parsed JSONL line plus ``_file``, relative to
    ``projects/``, and ``_line``), or ``None``."""
    if envelope.get("source") != "transcript":
        return None
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        return None
    file = payload.get("_file")
    if not isinstance(file, str) or not file:
        file = f"unknown/{envelope.get('session_id') or 'unknown'}.jsonl"
    line_no = payload.get("_line") if isinstance(payload.get("_line"), int) else 0
    return record_from_line(payload, file, line_no, seq)


def transcript_location(file: str) -> tuple[str, str]:
    """``(project, session)`` of a transcript path relative to ``projects/``."""
    parts = [p for p in file.replace("\\", "/").split("/") if p]
    if not parts:
        return "unknown", "unknown"
    if len(parts) == 1:
        return "unknown", _stem(parts[0])
    if len(parts) == 2:
        return parts[0], _stem(parts[1])
    return parts[0], parts[1]


def _stem(name: str) -> str:
    return name[:-6] if name.endswith(".jsonl") else name



def _is_semver_prefix(value: str) -> bool:
    parts = value.split(".", 2)
    return (len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit()
            and parts[2][:1].isdigit())


def has_forbidden_null(value: object) -> bool:
    """Whether a non-nullable field is null somewhere in the line (iteration models
    excepted). Iterative: a hostile line may nest deeper than Python recursion allows."""
    stack: list[tuple[object, bool]] = [(value, False)]
    while stack:
        item, in_iterations = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if child is None:
                    if key in NON_NULLABLE and not (in_iterations and key == "model"):
                        return True
                elif isinstance(child, (dict, list)):
                    stack.append((child, in_iterations or key == "iterations"))
        elif isinstance(item, list):
            stack.extend((child, in_iterations) for child in item
                         if isinstance(child, (dict, list)))
    return False


def _nonempty_or_absent(line: dict, key: str) -> bool:
    value = line.get(key)
    return value is None or (isinstance(value, str) and value != "")


_INNER_KEYS = ("timestamp", "message", "requestId", "costUSD", "isSidechain")


def usage_entry(line: dict) -> dict | None:
    """The part of a line that carries usage: the line itself, or for a ``progress`` line
    the subagent message it embeds (``data.message``), with the outer ``sessionId``."""
    if isinstance(line.get("message"), dict):
        return line
    data = line.get("data")
    inner = data.get("message") if isinstance(data, dict) else None
    if not (isinstance(inner, dict) and isinstance(inner.get("message"), dict)):
        return None
    entry = {k: inner[k] for k in _INNER_KEYS if k in inner}
    if "sessionId" in line:
        entry["sessionId"] = line["sessionId"]
    return entry


def record_from_line(line: object, file: str, line_no: int = 0, seq: int = 0
                     ) -> UsageRecord | None:
    """The usage record of a parsed transcript line, or ``None`` if it is not usage."""
    if not isinstance(line, dict) or has_forbidden_null(line):
        return None
    entry = usage_entry(line)
    if entry is None:
        return None
    full, line = line, entry
    message = line["message"]
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    ts_ms = parse_iso_ms(line.get("timestamp"))  # ccusage reads only strings
    if ts_ms is None:
        return None
    version = full.get("version") if full is line else None
    if version is not None and not (isinstance(version, str) and _is_semver_prefix(version)):
        return None
    if not (_nonempty_or_absent(line, "sessionId") and _nonempty_or_absent(line, "requestId")
            and _nonempty_or_absent(message, "id") and _nonempty_or_absent(message, "model")):
        return None
    model = message.get("model")
    if model == SYNTHETIC_MODEL:
        return None
    counts = _token_counts(usage)
    if counts is None:
        return None
    cost = line.get("costUSD")
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, (int, float))
                             or not math.isfinite(cost)):
        return None
    project, session = transcript_location(file)
    request_id, message_id, line_session = (line.get("requestId"), message.get("id"),
                                            line.get("sessionId"))
    return UsageRecord(
        message_id=message_id if isinstance(message_id, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
        session_id=session,
        line_session_id=line_session if isinstance(line_session, str) else None,
        project=project,
        model=model if isinstance(model, str) else None,
        ts_ms=ts_ms,
        input_tokens=counts[0],
        output_tokens=counts[1],
        cache_creation_5m=counts[2],
        cache_creation_1h=counts[3],
        cache_read_tokens=counts[4],
        cost_usd_log=float(cost) if cost is not None else None,
        is_sidechain=line.get("isSidechain") is True,
        source_file=file,
        source_line=line_no,
        seq=seq,
        speed=usage["speed"] if isinstance(usage.get("speed"), str) else None,
    )


def _token_counts(usage: dict) -> tuple[int, int, int, int, int] | None:
    """(input, output, cache write 5m, cache write 1h, cache read).

    When the log splits cache writes by lifetime (``usage.cache_creation``) the split is
    used, else every cache write is a 5-minute one, as Anthropic bills it.
    """
    inp, out = count(usage.get("input_tokens")), count(usage.get("output_tokens"))
    cw = optional_count(usage, "cache_creation_input_tokens")
    cr = optional_count(usage, "cache_read_input_tokens")
    if inp is None or out is None or cw is None or cr is None:
        return None
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        cw5 = optional_count(split, "ephemeral_5m_input_tokens")
        cw1 = optional_count(split, "ephemeral_1h_input_tokens")
        if cw5 is None or cw1 is None:
            return None
        return inp, out, cw5, cw1, cr
    return inp, out, cw, 0, cr

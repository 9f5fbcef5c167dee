"""Stored events -> small facts: the common shape every platform's events are read into.

Each platform's own ``facts`` function (found through ``core.platforms``) reads its
payloads; the session builder works on facts and never looks at payloads. Facts are small,
so a full rebuild can hold a whole database's worth of them. The helpers below are what
those functions share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.core import platforms
from blueplane_pipeline.core.times import parse_ts_ms

TEXT_KEEP = 300  # characters of assistant text kept for the turn timeline


@dataclass(slots=True)
class Fact:
    ts: int  # ms since epoch
    seq: int  # raw event seq (tie-breaker: arrival order)
    kind: str
    source: str  # the envelope's source: hook | transcript | cursor_db | …
    key: str | None = None  # tool_use_id, message id, prompt key ...
    name: str | None = None  # tool name, model ...
    data: dict = field(default_factory=dict)


def event_ts(envelope: dict) -> int:
    return parse_ts_ms(envelope.get("ts")) or parse_ts_ms(envelope.get("captured_at")) or 0


def extract(seq: int, envelope: dict) -> list[Fact]:
    """The facts one stored event contributes. The first is always an ``event`` fact."""
    ts = event_ts(envelope)
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    platform = envelope.get("platform") or ""
    source = envelope.get("source") or ""
    etype = envelope.get("event_type") or ""
    base = Fact(ts, seq, "event", source, key=str(envelope.get("event_id") or seq),
                name=platform, data={})
    out = [base]
    impl = platforms.get(platform)
    extractor = impl.attr("facts") if impl is not None else None
    if extractor is not None:
        extractor(ts, seq, source, etype, payload, base, out)
    return out


# ---------------------------------------------------------------- helpers

Extractor = Callable[[int, int, str, dict, Fact, list[Fact]], None]


def by_source(extractors: dict[str, Extractor]) -> Callable[..., None]:
    """A platform's ``facts`` function from one extractor per envelope source (events of
    other sources contribute only their ``event`` fact)."""

    def facts(ts: int, seq: int, source: str, etype: str, payload: dict, base: Fact,
              out: list[Fact]) -> None:
        extractor = extractors.get(source)
        if extractor is not None:
            extractor(ts, seq, etype, payload, base, out)

    return facts


def tool_info(tool: str, tool_input: object, response: object = None) -> dict:
    """What the session builder needs of a call's input (and response), small enough to
    keep for a whole database: fingerprint, file, line counts, user-modified."""
    info = {"fp": classify.fingerprint(tool, tool_input),
            "path": classify.file_path_of(tool_input, response)}
    if tool in classify.EDIT_TOOLS:
        info["in_lines"] = classify.input_edit_lines(tool, tool_input)
    if response is not None:
        resp = response_info(response)
        if info["path"]:
            resp.pop("path", None)
        info.update(resp)
    return info


def response_info(response: object) -> dict:
    info: dict = {}
    if not isinstance(response, dict) or not response:
        return info
    lines = classify.response_edit_lines(response)
    if lines is not None:
        info["resp_lines"] = lines
    if classify.user_modified(response):
        info["modified"] = True
    path = classify.file_path_of(response)
    if path:
        info["path"] = path
    duration = response.get("durationMs")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        info["duration_ms"] = float(duration)
    return info


def prompt_fact(ts: int, seq: int, src: str, value: object, out: list[Fact]) -> None:
    text, chars = classify.text_of(value)
    out.append(Fact(ts, seq, "prompt", src, classify.prompt_key(value), data={
        "text": text, "chars": chars}))


def note(base: Fact, key: str, value: object) -> None:
    if isinstance(value, str) and value:
        base.data[key] = value


def model_name(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("display_name") or value.get("id")
    return value if isinstance(value, str) and value else None


def number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None

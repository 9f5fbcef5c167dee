"""The privacy filter for OpenTelemetry log attributes that can carry the user's text.

Claude Code redacts prompts and tool input in its export unless told otherwise
(``OTEL_LOG_USER_PROMPTS``, ``OTEL_LOG_TOOL_DETAILS``); Codex 0.171 sends tool arguments
and output by default. The same rules as for hook payloads apply (``core.privacy``):
prompts redacted (``standard``) or reduced to length + hash (``strict``), tool output and
responses summarised, tool input filtered key by key. The collector applies it to JSON
exports before storing them; protobuf exports are filtered when ingest decodes them.
Standard library only.
"""

from __future__ import annotations

import json

# Attribute -> the hook-payload key whose rule it follows.
TEXT_ATTRIBUTES = {
    "prompt": "prompt",
    "prompt_text": "prompt",
    "response": "output",
    "output": "output",
    "last_assistant_message": "output",
    "tool_input": "tool_input",
    "tool_parameters": "tool_input",
    "arguments": "tool_input",
}
# What the exporters write in place of text they were told not to log.
MARKERS = frozenset({"<REDACTED>", "[REDACTED]", "REDACTED", ""})


def filter_text(key: str, value: str, mode: str) -> str:
    """``value`` of attribute ``key`` as ``mode`` allows, still a string."""
    from blueplane_pipeline.core.privacy import filter_payload

    if mode == "full" or value in MARKERS or key not in TEXT_ATTRIBUTES:
        return value
    rule = TEXT_ATTRIBUTES[key]
    if rule == "tool_input":
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return json.dumps(filter_payload(parsed, mode), ensure_ascii=False)
    out = filter_payload({rule: value}, mode)[rule]
    return out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)


def filter_attributes(attrs: dict, mode: str) -> dict:
    """Decoded attributes (``{key: value}``) with their text filtered."""
    if mode == "full" or TEXT_ATTRIBUTES.keys().isdisjoint(attrs):
        return attrs  # most events (api_request, hook_*) carry no text: no copy
    return {
        k: filter_text(k, v, mode) if isinstance(v, str) and k in TEXT_ATTRIBUTES else v
        for k, v in attrs.items()
    }


def may_hold_text(data: bytes) -> bool:
    """Whether a JSON export names any text attribute at all (a byte scan, ~100x cheaper
    than walking its records; an exporter that spaces its JSON oddly is walked anyway)."""
    if b'"key":"' not in data:
        return True
    return any(b'"key":"' + key.encode() + b'"' in data for key in TEXT_ATTRIBUTES)


def filter_logs_export(doc: dict, mode: str) -> bool:
    """Filter an OTLP/JSON logs export in place; True if anything changed."""
    if mode == "full":
        return False
    changed = False
    for resource_logs in doc.get("resourceLogs") or []:
        for scope_logs in (resource_logs or {}).get("scopeLogs") or []:
            for record in (scope_logs or {}).get("logRecords") or []:
                for attr in (record or {}).get("attributes") or []:
                    key = attr.get("key") if isinstance(attr, dict) else None
                    value = attr.get("value") if key in TEXT_ATTRIBUTES else None
                    text = value.get("stringValue") if isinstance(value, dict) else None
                    if isinstance(text, str):
                        new = filter_text(key, text, mode)
                        if new != text:
                            value["stringValue"] = new
                            changed = True
    return changed

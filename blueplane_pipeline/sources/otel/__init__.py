"""OpenTelemetry exports (platform ``otel``, source ``otlp``), as the collector stored them.

The collector keeps each OTLP/HTTP export whole (``collector/``); here it becomes rows:
``export.py`` turns a stored body (JSON, or protobuf decoded with opentelemetry-proto) into
the OTLP/JSON document, ``records.py`` flattens it into log events and metric points with
their numbers coerced, ``store.py`` writes the tables idempotently and ``daily.py`` folds the
metric points into per-session, per-day totals. Which assistant sent an export is read from
its resource (``service.name``), so Claude Code's and Codex's exports share this code.
"""

"""The one registry of assistants and capture paths.

Every platform an envelope can name (``claude_code``, ``cursor``, ``mcp``, …) is declared
here once, by one :func:`register` line: its names, what its hook must answer on stdout,
and the module that implements the rest. Everything that differs per platform — how its
stored events become facts, which of them carry token usage, how its history is imported,
how its hooks are installed — lives in that module and is found through the registry, so
a new assistant is one module plus one line here.

The implementation module may define (every name optional):

``facts(ts, seq, source, event_type, payload, base, out)``
    Append the :class:`~blueplane_pipeline.analytics.facts.Fact` list of one stored event.
``USAGE_EVENT_TYPES`` and ``usage_record(seq, envelope)``
    Which stored event types can carry token usage, and the
    :class:`~blueplane_pipeline.usage.records.UsageRecord` of one (or ``None``).
``IMPORTER``
    A :class:`~blueplane_pipeline.sources.importer.Importer`: ``blueplane import <cli_name>``,
    the import sensor and job are built from it.
``INSTALLER``
    An object with ``plan(action, project, **options)`` for ``blueplane install``.

Standard library only, and nothing is imported until asked for: the hook reads this
registry on every event.
"""

from __future__ import annotations


class Platform:
    """One source of events. ``assistant`` is false for internal capture paths (``mcp``)."""

    __slots__ = ("name", "cli_name", "label", "module", "assistant", "hook_answers",
                 "hook_fallback_answer", "pricing", "_impl")

    def __init__(self, name: str, cli_name: str, label: str, module: str | None = None, *,
                 assistant: bool = True, hook_answers: dict | None = None,
                 hook_fallback_answer: dict | None = None, pricing: str = "") -> None:
        self.name = name  # the envelope's ``platform``
        self.cli_name = cli_name  # what commands and hook arguments call it
        self.label = label  # what people call it
        self.module = module
        self.assistant = assistant
        # What the hook prints on stdout, per event name (assistants whose blocking hooks
        # wait for an answer), and when the event name cannot be read at all.
        self.hook_answers = hook_answers or {}
        self.hook_fallback_answer = hook_fallback_answer
        self.pricing = pricing  # the price list's provider, for models named without one
        self._impl = None

    def impl(self) -> object | None:
        """The implementation module (imported on first use), or ``None``."""
        if self._impl is None and self.module:
            import importlib

            self._impl = importlib.import_module(self.module)
        return self._impl

    def attr(self, name: str, default: object = None) -> object:
        impl = self.impl()
        return getattr(impl, name, default) if impl is not None else default

    def __repr__(self) -> str:
        return f"Platform({self.name!r})"


_BY_NAME: dict[str, Platform] = {}
_BY_CLI: dict[str, Platform] = {}


def register(platform: Platform) -> Platform:
    """Add (or replace) a platform; returns it."""
    _BY_NAME[platform.name] = platform
    _BY_CLI[platform.cli_name] = platform
    _BY_CLI[platform.name] = platform
    return platform


def unregister(name: str) -> None:
    """Take a platform out again (tests register throwaway assistants)."""
    platform = _BY_NAME.pop(name, None)
    if platform is not None:
        for key in (platform.cli_name, platform.name):
            if _BY_CLI.get(key) is platform:
                del _BY_CLI[key]


def get(name: str | None) -> Platform | None:
    """The platform an envelope names, or ``None`` if unknown."""
    return _BY_NAME.get(name) if name else None


def from_cli(name: str | None) -> Platform | None:
    """The platform a command line or hook argument names (``claude-code`` or ``claude_code``)."""
    return _BY_CLI.get(name) if name else None


def all_platforms() -> list[Platform]:
    return list(_BY_NAME.values())


def assistants() -> list[Platform]:
    return [p for p in _BY_NAME.values() if p.assistant]


def assistant_names() -> tuple[str, ...]:
    """Platform names of the assistants, for ``--platform`` choices and docs."""
    return tuple(p.name for p in assistants())


def with_attr(name: str) -> list[Platform]:
    """The platforms whose implementation defines ``name`` (imports each implementation)."""
    return [p for p in _BY_NAME.values() if p.attr(name) is not None]


# ------------------------------------------------------------------ the registrations

_CURSOR_ALLOW = {"permission": "allow"}
register(Platform("claude_code", "claude-code", "Claude Code",
                  "blueplane_pipeline.sources.claude_code", pricing="anthropic"))
register(Platform("cursor", "cursor", "Cursor", "blueplane_pipeline.sources.cursor",
                  hook_answers={"beforeSubmitPrompt": {"continue": True},
                                "beforeShellExecution": _CURSOR_ALLOW,
                                "beforeMCPExecution": _CURSOR_ALLOW,
                                "beforeReadFile": _CURSOR_ALLOW},
                  hook_fallback_answer={"continue": True, "permission": "allow"}))
register(Platform("codex", "codex", "Codex CLI", "blueplane_pipeline.sources.codex",
                  pricing="openai"))
register(Platform("gemini", "gemini", "Gemini CLI", "blueplane_pipeline.sources.gemini",
                  pricing="gemini"))
register(Platform("mcp", "mcp", "blueplane-mcp tracking", "blueplane_pipeline.sources.mcp",
                  assistant=False))
# OTLP exports the collector stored whole; decoded into the OTel tables by ``sources.otel``.
register(Platform("otel", "otel", "OpenTelemetry (OTLP)", "blueplane_pipeline.sources.otel",
                  assistant=False))

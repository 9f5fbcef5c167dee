"""What every importer reports beside its own counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(kw_only=True)
class SentStats:
    """Events sent and where they went; per-type counts; what could not be read."""

    events: int = 0
    to_stream: int = 0
    to_spool: int = 0
    redis_error: str | None = None
    seconds: float = 0.0
    event_types: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def record_sink(self, sink) -> None:
        self.to_stream, self.to_spool, self.redis_error = (
            sink.to_stream, sink.to_spool, sink.redis_error)

    def found(self) -> bool:
        """Whether anything to import was found at all."""
        return True

    def summary_lines(self, dirs: list) -> list[str]:
        """What ``blueplane import`` prints about this run."""
        return [f"{self.events} events sent in {self.seconds:.2f}s"]

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k not in ("event_types", "errors")}
        out["seconds"] = round(self.seconds, 4)
        out["event_types"] = dict(self.event_types.most_common())
        out["errors"] = self.errors
        return out

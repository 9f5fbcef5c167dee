"""Where importers send envelopes: the Redis stream (XADD, pipelined in batches), or the
spool when Redis cannot be reached — the same two doors hook events use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config

BATCH = 1000


class EventSink:
    """Buffers encoded envelopes and flushes them ``BATCH`` at a time.

    After the first connection failure the rest of the run goes to the spool (one spool
    file per batch) rather than paying a timeout per batch. ``on_flush`` is called after
    every flush, so callers can record progress that is now safe to persist; ``drain``
    every ``drain_every`` events sent to the stream (the import runner starts a
    background ingest there, so a big import never piles up in Redis memory).
    """

    def __init__(self, redis_url: str | None = None, *, spool_dir: Path | None = None,
                 batch: int = BATCH, timeout: float = 5.0,
                 on_flush: Callable[[], None] | None = None,
                 drain: Callable[[], None] | None = None, drain_every: int = 50_000) -> None:
        self.redis_url = redis_url or config.redis_url()
        self.spool_dir = spool_dir
        self.batch = batch
        self.timeout = timeout
        self.on_flush = on_flush
        self.drain = drain
        self.drain_every = drain_every
        self._undrained = 0
        self.buffer: list[bytes] = []
        self.to_stream = 0
        self.to_spool = 0
        self.redis_error: str | None = None
        self._client = None

    def add(self, line: bytes) -> None:
        self.buffer.append(line)
        if len(self.buffer) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            lines, self.buffer = self.buffer, []
            if self.redis_error is None and self._xadd(lines):
                self.to_stream += len(lines)
                self._undrained += len(lines)
            else:
                spool.write(self.spool_dir or config.spool_dir(), lines)
                self.to_spool += len(lines)
        if self.on_flush:
            self.on_flush()
        if self.drain and self._undrained >= self.drain_every:
            self._undrained = 0
            self.drain()

    def close(self) -> None:
        self.flush()
        if self._client is not None:
            self._client.close()
            self._client = None

    def _xadd(self, lines: list[bytes]) -> bool:
        import redis

        try:
            if self._client is None:
                self._client = redis.Redis.from_url(
                    self.redis_url, socket_timeout=self.timeout,
                    socket_connect_timeout=self.timeout)
            pipe = self._client.pipeline(transaction=False)
            for line in lines:
                pipe.xadd(config.STREAM_KEY, {"e": line})
            pipe.execute()
            return True
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            # Some entries may have gone in before the failure: spooling the whole batch
            # is safe, event ids make the repeats harmless.
            self.redis_error = f"Redis unreachable ({exc.__class__.__name__}): {exc}"
            return False

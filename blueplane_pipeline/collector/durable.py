"""Durable writes for the collector: XADD to the stream, else a spool file, else refuse.

One Redis connection per server thread, kept open (a connect per request would double the
ack time); a failed XADD reconnects once before the envelope goes to the spool, the same
spool the command hook uses and ingest drains. Only when neither can take it does the
request get a 503, so the client retries the identical body later.
"""

from __future__ import annotations

import contextlib
import threading

from blueplane_pipeline.capture import resp, spool
from blueplane_pipeline.core import config

REDIS_TIMEOUT_S = 0.25


class NotStored(Exception):
    """Neither the stream nor the spool took the envelope."""


class DurableWriter:
    def __init__(
        self,
        redis_url: str | None = None,
        spool_dir: str | None = None,
        timeout: float = REDIS_TIMEOUT_S,
    ) -> None:
        self.redis_url = redis_url or config.redis_url()
        self.spool_dir = spool_dir or config.spool_dir_str()
        self.timeout = timeout
        self._local = threading.local()
        self.counts = {"stream": 0, "spool": 0, "refused": 0}
        self._lock = threading.Lock()

    def _xadd(self, line: bytes) -> None:
        sock = getattr(self._local, "sock", None)
        for attempt in (0, 1):
            if sock is None:
                sock = resp.connect(self.redis_url, self.timeout)
                self._local.sock = sock
            try:
                sock.sendall(resp.encode_command("XADD", config.STREAM_KEY, "*", "e", line))
                resp.read_reply(sock)
                return
            except (OSError, resp.RespError):
                self.close_thread()
                sock = None
                if attempt:
                    raise

    def close_thread(self) -> None:
        sock = getattr(self._local, "sock", None)
        self._local.sock = None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def write(self, lines: list[bytes]) -> str:
        """Store ``lines`` durably; returns ``"stream"`` or ``"spool"``, or raises NotStored."""
        try:
            for line in lines:
                self._xadd(line)
            where = "stream"
        except (OSError, resp.RespError, ValueError):
            try:
                spool.write(self.spool_dir, lines)
                where = "spool"
            except OSError as exc:
                with self._lock:
                    self.counts["refused"] += 1
                raise NotStored(
                    f"Redis unreachable and the spool refused the write: {exc}"
                ) from None
        with self._lock:
            self.counts[where] += 1
        return where

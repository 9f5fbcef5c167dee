"""An ASGI wrapper for everything Blueplane serves on loopback (the Dagster UI, Datasette).

A server bound to 127.0.0.1 is still reachable from any web page the user opens: the page
can send requests to it (cross-site request forgery), and a DNS name that resolves to
127.0.0.1 makes the browser treat it as that page's own origin (DNS rebinding, which lets
it read prompt text). So, before the application sees a request:

- the ``Host`` header must name a loopback address (``127.0.0.1``, ``localhost``, ``::1``),
  or a host the user allowed explicitly; anything else is refused (defeats rebinding);
- a request that can change state (any method but GET/HEAD/OPTIONS, a GraphQL mutation
  sent as a GET, a websocket) coming from a browser must come from the server's own origin:
  an ``Origin`` header for another origin, or ``Sec-Fetch-Site: cross-site``/``same-site``
  without one, is refused (defeats forgery). Non-browser clients (curl, ``blueplane
  status``) send neither header and are local processes already.

Pure ASGI, no dependencies: tested directly, and wrapped around both servers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import unquote_plus, urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:3000`` -> ``::1``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refusal(scope: Scope, allowed_hosts: frozenset[str], any_host: bool = False) -> str | None:
    """Why this request must not reach the application, or ``None`` to let it through."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
               for k, v in scope.get("headers") or []}
    host = headers.get("host", "")
    if not any_host and host_name(host) not in allowed_hosts:
        return f"Host {host!r} is not a loopback address this server answers to"
    if not _changes_state(scope):
        return None
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc.lower() != host.lower():
            return f"cross-origin request from {origin!r} refused"
        return None
    if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return "cross-site request refused"
    return None


def _changes_state(scope: Scope) -> bool:
    if scope["type"] == "websocket":
        return True
    if scope.get("method", "GET") not in SAFE_METHODS:
        return True
    query = unquote_plus(scope.get("query_string", b"").decode("latin-1")).lower()
    return "graphql" in scope.get("path", "") and "mutation" in query


class LoopbackGuard:
    """Wraps an ASGI app; refused requests get a 403 (or a closed websocket)."""

    def __init__(self, app: App, extra_hosts: Iterable[str] = ()) -> None:
        """``extra_hosts`` may hold ``*``: any Host (``--allow-remote``; forgery checks stay)."""
        self.app = app
        extra = {host_name(h) for h in extra_hosts}
        self.any_host = "*" in extra
        self.allowed = frozenset(LOOPBACK_NAMES | extra)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = refusal(scope, self.allowed, self.any_host)
        if reason is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = f"Blueplane: {reason}.\n".encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

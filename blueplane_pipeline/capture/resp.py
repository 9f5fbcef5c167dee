"""A minimal RESP2 client over a unix socket or TCP, standard library only.

The hook uses it instead of redis-py: ``import redis`` alone costs ~250 ms, more than the
whole budget of a hook process. For the same reason a plain ``unix:///path`` URL (the
embedded server) is served by the ``_socket`` C module directly: ``socket.py`` and
``urllib.parse`` cost the hook a few milliseconds per event; TCP URLs import them.
"""

from __future__ import annotations

import _socket


class RespError(Exception):
    """Redis answered with an error, or the connection failed."""


def encode_command(*args: bytes | str) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def connect(url: str, timeout: float) -> _socket.socket:
    """Open a socket for ``unix:///path`` or ``redis://host:port/db`` within ``timeout``."""
    if url.startswith("unix://") and not any(c in url for c in "@?%"):
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(url[len("unix://"):])
        except BaseException:
            sock.close()
            raise
        return sock
    import socket
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    if parsed.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(unquote(parsed.path))
    elif parsed.scheme in ("redis", ""):
        sock = socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379),
                                        timeout=timeout)
    else:
        raise RespError(f"unsupported Redis URL scheme: {parsed.scheme}")
    sock.settimeout(timeout)
    prelude = []
    if parsed.password:
        user = unquote(parsed.username or "default")
        prelude.append(encode_command("AUTH", user, unquote(parsed.password)))
    db = (parsed.path or "/").strip("/")
    if parsed.scheme != "unix" and db and db != "0":
        prelude.append(encode_command("SELECT", db))
    for cmd in prelude:
        sock.sendall(cmd)
        read_reply(sock)
    return sock


def read_reply(sock: _socket.socket) -> bytes:
    """Read one simple/bulk/integer reply; raise on an error reply."""
    buf = b""
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise RespError("connection closed")
        buf += chunk
    line, _, rest = buf.partition(b"\r\n")
    kind, body = line[:1], line[1:]
    if kind == b"-":
        raise RespError(body.decode(errors="replace"))
    if kind == b"$":
        size = int(body)
        if size < 0:
            return b""
        while len(rest) < size + 2:
            chunk = sock.recv(max(4096, size + 2 - len(rest)))
            if not chunk:
                raise RespError("connection closed")
            rest += chunk
        return rest[:size]
    return body


def xadd(url: str, stream: str, field: str, value: bytes, timeout: float) -> bytes:
    """XADD one entry and return its id; every failure is a ``RespError`` or ``OSError``."""
    sock = connect(url, timeout)
    try:
        sock.sendall(encode_command("XADD", stream, "*", field, value))
        return read_reply(sock)
    finally:
        sock.close()

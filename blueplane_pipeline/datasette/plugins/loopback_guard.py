"""Datasette plugin: the loopback guard in front of everything Datasette serves.

Datasette answers any ``Host`` header, so a DNS name rebound to 127.0.0.1 could read
telemetry.db (prompt text included) from a web page; see
``blueplane_pipeline.runtime.loopback_guard``.
"""

from datasette import hookimpl

from blueplane_pipeline.runtime.loopback_guard import LoopbackGuard
from blueplane_pipeline.runtime.webserver import allowed_hosts


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        return LoopbackGuard(app, allowed_hosts())

    return wrap

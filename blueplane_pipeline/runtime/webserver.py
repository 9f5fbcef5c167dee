"""``dagster-webserver``, with the loopback guard in front of its app.

Runs Dagster's own webserver command line unchanged (every option it has), except that
the ASGI app it builds is wrapped in :class:`LoopbackGuard` before uvicorn serves it: the
Dagster UI has no authentication and accepts GraphQL mutations, so a foreign ``Host`` or a
cross-origin state change must never reach it. Extra hosts (only with ``blueplane up
--allow-remote``) come from ``BLUEPLANE_ALLOWED_HOSTS``, comma-separated.
"""

from __future__ import annotations

import os


def allowed_hosts() -> list[str]:
    return [h for h in os.environ.get("BLUEPLANE_ALLOWED_HOSTS", "").split(",") if h.strip()]


def main() -> None:
    import dagster_webserver.cli as webserver_cli

    from blueplane_pipeline.runtime.loopback_guard import LoopbackGuard

    build = webserver_cli.create_app_from_workspace_process_context

    def guarded(*args, **kwargs):
        return LoopbackGuard(build(*args, **kwargs), allowed_hosts())

    webserver_cli.create_app_from_workspace_process_context = guarded
    webserver_cli.main()


if __name__ == "__main__":
    main()

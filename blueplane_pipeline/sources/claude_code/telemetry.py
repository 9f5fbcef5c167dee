"""The environment that makes Claude Code export OpenTelemetry to blueplane-collector.

Written into the settings file's ``"env"`` by ``blueplane install claude-code --otel``.
Measured with 2.1.328: the user settings file and the process environment worked, while a
*project* settings file's ``env`` was ignored for telemetry in ``-p`` mode, and
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` did not stop the export.
"""

from __future__ import annotations

PROTOCOLS = ("http/json", "http/protobuf")
# Short enough that little is lost when a session dies, long enough to batch: the CLI
# defaults are 60 s for metrics, 5 s for logs, and it flushes both at exit.
METRIC_INTERVAL_MS = 10_000
LOGS_INTERVAL_MS = 5_000
PROJECT_NOTE = (
    'Claude Code 2.1.328 ignored a project settings file\'s "env" for telemetry in -p mode '
    "(the user settings file and the process environment worked): install --otel without "
    "--project, or export the variables in the shell that starts claude."
)


def otel_env(
    port: int, protocol: str = "http/json", token: str | None = None, host: str = "127.0.0.1"
) -> dict[str, str]:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}")
    env = {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{host}:{port}",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
        "OTEL_METRIC_EXPORT_INTERVAL": str(METRIC_INTERVAL_MS),
        "OTEL_LOGS_EXPORT_INTERVAL": str(LOGS_INTERVAL_MS),
    }
    if token:
        env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {token}"
    return env

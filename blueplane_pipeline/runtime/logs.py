"""Structured (JSON lines) logs per component under ``$BLUEPLANE_HOME/logs``, rotated."""

from __future__ import annotations

import json
import logging
import logging.handlers

from blueplane_pipeline.core import config

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "component": record.name.removeprefix("blueplane."),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup(component: str) -> logging.Logger:
    """Attach a rotating JSON file handler for ``blueplane.<component>`` (once per process)."""
    logger = logging.getLogger(f"blueplane.{component}")
    path = config.logs_dir() / f"{component}.log"
    if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES,
                                                       backupCount=BACKUPS)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger

"""Blueplane: local telemetry and analytics for AI-assisted coding."""

__version__ = "0.1.0"

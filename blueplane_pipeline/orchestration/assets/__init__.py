"""Dagster assets, one module per domain."""

"""Token usage and cost from Claude Code transcripts, computed the way ccusage does.

Pure functions, no Dagster: ``records`` reads a transcript line into a usage record,
``dedup`` keeps one record per API message, ``cost`` prices it, ``reports`` groups records
into ccusage-shaped daily/weekly/monthly/session/blocks reports, ``store`` keeps the
``token_usage`` table current. The Dagster asset and the CLI are thin wiring over these.
"""

"""Team mode: anonymised, aggregated facts published from this laptop to a team Postgres,
and the team side (rollups, reports, a Postgres-backed Dagster code location) built on it.

Nothing here is imported by capture, ingest or the analytics; the laptop's tables are only
read. ``docs/team.md`` says field by field what leaves the machine.
"""

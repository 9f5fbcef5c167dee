"""``blueplane-collector``: one loopback HTTP process for OTLP/HTTP exports and HTTP hooks.

It only checks, wraps and durably stores what arrives (XADD to the stream, or the spool
when Redis is down) and answers in milliseconds; decoding OTLP into rows is ingest's job
(``sources/otel``). Standard library only on the request path.
"""

"""Readers for history already on disk: Claude Code transcripts and Cursor's ``state.vscdb``.

Both turn what they read into envelopes and send them through the same stream (or spool)
as hook events, so ``ingest`` stores them like any other event.
"""
